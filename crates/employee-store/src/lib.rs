//! employee-store: projects employee and group events into Postgres and serves `/api/hris/employees`
//! and `/api/hris/groups`.

pub mod config;
pub mod consumer_deletion;
pub mod db;
pub mod group_projection;
pub mod projection;
pub mod routes;
pub mod startup;
pub mod state;

/// Advisory-lock key that serialises this service's migrations.
pub const MIGRATION_LOCK: i64 = 0x7561_7069_0003;

pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations");
