//! Runtime plumbing shared by every uapi-hris service. It knows no domain: each service brings its
//! own settings, migrations, routes and messages, and this crate starts, configures, observes and
//! stops them all the same way.

pub mod acks;
pub mod amqp;
pub mod auth;
pub mod config;
pub mod consumer;
pub mod db;
pub mod dead_letters;
pub mod error;
pub mod group_commit;
pub mod health;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod pagination;
pub mod prepared;
pub mod problem;
pub mod secret;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod text;
pub mod throttle;
pub mod tls;
pub mod tombstones;
