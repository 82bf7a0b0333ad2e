//! webhook-dispatcher integration tests against the real Postgres and RabbitMQ, with receivers
//! on 127.0.0.1 inside the test: one binary, one database, exchange and queue per test.

mod api;
mod consumers;
mod delivery;
mod early;
mod helpers;
mod isolation;
mod outage;
mod process;
mod receiver;
mod sealing;
mod test_events;
