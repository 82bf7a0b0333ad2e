//! control-plane integration tests against the real Postgres and RabbitMQ: one binary, one
//! database and one exchange per test.

mod auth;
mod connections;
mod consumers;
mod health;
mod helpers;
mod input;
mod openapi;
mod setup_links;
