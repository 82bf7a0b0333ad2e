//! End-to-end tests live in `tests/` (the whole system in one process, against the real Postgres
//! and RabbitMQ); their shared harness is `tests/support/mod.rs`. This crate has no library code.
