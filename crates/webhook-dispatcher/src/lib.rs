//! webhook-dispatcher: webhook subscriptions (`/api/webhooks*`), the fan-out of employee and group
//! events into deliveries, and their signed, retried, isolated delivery to customers' endpoints.

pub mod config;
pub mod consumer_deletion;
pub mod db;
pub mod delivery;
pub mod events;
pub mod fanout;
pub mod routes;
pub mod sealing;
pub mod signature;
pub mod ssrf;
pub mod startup;
pub mod state;

/// Advisory-lock key that serialises this service's migrations.
pub const MIGRATION_LOCK: i64 = 0x7561_7069_0004;

pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations");
