//! Persistence of scim-ingress: connections (for authentication) and SCIM users.

pub mod connections;
pub mod schema;
pub mod users;

/// Whether `e` is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// The current time at Postgres precision (microseconds).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
