//! employee-store integration tests against the real Postgres and RabbitMQ.

mod feed;
mod helpers;
mod lists;
