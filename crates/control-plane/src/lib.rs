//! control-plane: applications, API keys, access tokens, consumers, connections and their SCIM
//! credentials, and the admin API.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
pub mod startup;
pub mod state;

/// Advisory-lock key that serialises this service's migrations.
pub const MIGRATION_LOCK: i64 = 0x7561_7069_0001;

pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations");
