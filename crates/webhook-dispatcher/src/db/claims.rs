//! The workers' claims: leases taken with `FOR UPDATE SKIP LOCKED`, fair per subscription, in
//! version order per entity.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uapi_platform::prepared::Prepared;
use uuid::Uuid;

type SqlUuid = diesel::sql_types::Uuid;

/// A delivery a worker holds a lease on, with what it needs to attempt it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub attempt_count: i32,
    #[diesel(sql_type = Integer)]
    pub step: i32,
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = Text)]
    pub body: String,
    /// The trace the event's deliveries continue (`traceparent`), where one was recorded.
    #[diesel(sql_type = Nullable<Text>)]
    pub traceparent: Option<String>,
    /// When the delivery was created (the fan-out): the delivery lag is measured from it.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(embed)]
    pub endpoint: Endpoint,
}

/// Where and how a delivery is sent: its subscription's URL and signing secrets (sealed,
/// [`crate::sealing`]; `Debug` shows neither).
#[derive(Clone, PartialEq, Eq, QueryableByName)]
pub struct Endpoint {
    #[diesel(sql_type = Text)]
    pub delivery_url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("delivery_url", &self.delivery_url)
            .field("secret", &"***")
            .field("previous_secret", &self.previous_secret.as_ref().map(|_| "***"))
            .field("previous_secret_expires_at", &self.previous_secret_expires_at)
            .finish()
    }
}

/// What a claim may take.
pub struct ClaimLimits<'a> {
    /// Subscriptions whose remaining capacity is not the default (busy, breaker open: 0).
    pub capped: &'a [(Uuid, i32)],
    /// Capacity of every other subscription.
    pub default_cap: i32,
    /// Deliveries claimed at most.
    pub limit: i64,
    pub lease: std::time::Duration,
    /// How long a version waits for the delivery of the version before it.
    pub order_gap: std::time::Duration,
}

/// Claims due, unleased deliveries of enabled subscriptions, and the test events of disabled
/// ones (a test checks an endpoint before it is enabled; its other deliveries wait for that): at
/// most each subscription's capacity, round-robin across subscriptions (so one endpoint's backlog
/// never starves the others), and each version of an entity in order (`in_order!` in `db`, or
/// after `order_gap`). Rows another worker is claiming are skipped (`SKIP LOCKED`). The
/// subscription's status picks one branch of the lateral (a one-time filter in the plan), so a
/// disabled subscription's waiting backlog is never walked, only its `deliveries_tests` entries.
/// The body and trace context are read by the event's key for each claimed row, not joined: a
/// join lets a planner whose statistics are stale (a young table) read every body per claim.
pub async fn claim(conn: &mut AsyncPgConnection, limits: ClaimLimits<'_>) -> QueryResult<Vec<Claimed>> {
    if limits.limit <= 0 {
        return Ok(Vec::new());
    }
    Prepared::new(concat!(
        "WITH caps AS ( \
            SELECT * FROM unnest($1::uuid[], $2::int[]) AS c(subscription_id, cap) \
         ), candidates AS ( \
            SELECT d.id FROM subscriptions s \
            LEFT JOIN caps ON caps.subscription_id = s.id \
            CROSS JOIN LATERAL ( \
                (SELECT d.id, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS rn \
                FROM deliveries d \
                WHERE s.status = 'Enabled' AND d.subscription_id = s.id AND d.status = 'pending' \
                  AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until < now()) AND ",
        in_order!(
            "d.subscription_id",
            "d.entity_id",
            "d.version",
            "d.event_type",
            "s.events",
            "OR d.created_at < now() - make_interval(secs => $3)"
        ),
        " \
                ORDER BY d.next_attempt_at, d.id \
                LIMIT coalesce(caps.cap, $4)) \
                UNION ALL \
                (SELECT d.id, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS rn \
                FROM deliveries d \
                WHERE s.status = 'Disabled' AND d.subscription_id = s.id AND d.status = 'pending' \
                  AND d.event_type = 'webhook.test' \
                  AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until < now()) \
                ORDER BY d.next_attempt_at, d.id \
                LIMIT coalesce(caps.cap, $4)) \
            ) d \
            WHERE coalesce(caps.cap, $5) > 0 \
            ORDER BY d.rn, d.id \
            LIMIT $6 \
         ), locked AS ( \
            SELECT d.id FROM deliveries d \
            WHERE d.id = ANY(ARRAY(SELECT id FROM candidates)) AND d.status = 'pending' \
              AND (d.locked_until IS NULL OR d.locked_until < now()) \
            FOR UPDATE OF d SKIP LOCKED \
         ) \
         UPDATE deliveries d SET locked_until = now() + make_interval(secs => $7), updated_at = now() \
         FROM subscriptions s \
         WHERE d.id = ANY(ARRAY(SELECT id FROM locked)) AND s.id = d.subscription_id \
         RETURNING d.id, d.subscription_id, d.event_id, d.attempt_count, d.step, d.entity_id, d.version, \
                   (SELECT b.body FROM event_bodies b WHERE b.event_id = d.event_id) AS body, \
                   (SELECT b.traceparent FROM event_bodies b WHERE b.event_id = d.event_id) AS traceparent, \
                   d.created_at, s.delivery_url, s.secret, s.previous_secret, s.previous_secret_expires_at",
    ))
    .bind::<Array<SqlUuid>, _>(limits.capped.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(limits.capped.iter().map(|c| c.1).collect::<Vec<_>>())
    .bind::<Double, _>(limits.order_gap.as_secs_f64())
    .bind::<Integer, _>(limits.default_cap)
    .bind::<Integer, _>(limits.default_cap)
    .bind::<BigInt, _>(limits.limit)
    .bind::<Double, _>(limits.lease.as_secs_f64())
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_a_secret() {
        let e = super::Endpoint {
            delivery_url: "https://example.com/hook".into(),
            secret: "sealed:v1:k1:c2VjcmV0".into(),
            previous_secret: Some("whsec_cHJldmlvdXM=".into()),
            previous_secret_expires_at: None,
        };
        let shown = format!("{e:?}");
        assert!(
            shown.contains("example.com") && !shown.contains("c2VjcmV0") && !shown.contains("cHJldmlvdXM"),
            "{shown}"
        );
    }
}
