//! employee-store integration tests against the real Postgres.

mod feed;
