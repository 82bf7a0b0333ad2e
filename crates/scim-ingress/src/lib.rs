//! scim-ingress: the SCIM 2.0 server Okta provisions into. Stores SCIM users per connection,
//! normalizes them into employees and publishes `employee.*` events through a transactional outbox.

pub mod config;
pub mod connection_events;
pub mod db;
pub mod domain;
pub mod events;
pub mod routes;
pub mod scim;
pub mod startup;
pub mod state;

/// Advisory-lock key that serialises this service's migrations.
pub const MIGRATION_LOCK: i64 = 0x7561_7069_0002;

pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations");
