//! Persistence: subscriptions, the events' rendered bodies, deliveries and their attempts.

pub mod claims;
pub mod deliveries;
pub mod fanout;
pub mod held;
pub mod schema;
pub mod subscriptions;

/// The current time at the precision Postgres stores (microseconds), so what a write returns
/// equals what a later read returns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
