//! Persistence: subscriptions, the events' rendered bodies, deliveries and their attempts.

/// The order rule of an entity's versions, as SQL over a delivery's subscription, entity, version,
/// event type and the subscription's `events`: no older version awaits its first attempt, and
/// the version before it already has its delivery, unless it cannot come: this is version 1, the
/// subscription does not take the type the version before has (`created` before version 2,
/// `updated` otherwise), or the subscription has no older version of the entity at all (it
/// started after them). `$also` adds alternatives (the claim's: it has waited long enough).
/// Versions may reach the dispatcher out of order, so a missing row is not taken for a finished one.
macro_rules! in_order {
    ($sub:literal, $entity:literal, $version:literal, $event_type:literal, $events:literal, $also:literal) => {
        concat!(
            "(NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.subscription_id = ",
            $sub,
            " AND p.entity_id = ",
            $entity,
            " AND p.status = 'pending' AND p.attempt_count = 0 AND p.version < ",
            $version,
            ")",
            " AND (",
            $version,
            " = 1",
            " OR NOT ('*' = ANY(",
            $events,
            ") OR (split_part(",
            $event_type,
            ", '.', 1)",
            " || CASE WHEN ",
            $version,
            " = 2 THEN '.created' ELSE '.updated' END) = ANY(",
            $events,
            "))",
            " OR coalesce((SELECT max(p.version) FROM deliveries p WHERE p.subscription_id = ",
            $sub,
            " AND p.entity_id = ",
            $entity,
            " AND p.version < ",
            $version,
            "), ",
            $version,
            " - 1) = ",
            $version,
            " - 1",
            " ",
            $also,
            "))"
        )
    };
}

pub mod claims;
pub mod consumers;
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
