//! Persistence of the control plane: the schema, row types and one repository per aggregate.
//! Repositories return `Option`/typed errors, never raw `diesel::NotFound`.

pub mod applications;
pub mod connections;
pub mod consumers;
pub mod schema;
pub mod setup_links;

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for RepoError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        if uapi_platform::db::is_unavailable(&e) { Self::Unavailable(e.to_string()) } else { Self::Other(e.into()) }
    }
}

/// Whether `e` is a unique-constraint violation (→ 409 rather than 500).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// Whether `e` is a foreign-key violation: what an insert refers to was deleted meanwhile (→ 404).
pub fn is_foreign_key_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _))
}

/// The current time at the precision Postgres stores (microseconds), so what a create returns
/// equals what a later read returns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
