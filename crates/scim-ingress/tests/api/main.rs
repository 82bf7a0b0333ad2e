//! scim-ingress integration tests against the real Postgres and RabbitMQ.

mod helpers;
mod hostile_input;
mod throttling;
mod users;
