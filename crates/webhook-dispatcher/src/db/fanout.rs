//! The fan-out in one statement: match a batch of events to the enabled subscriptions that want
//! them, store each body once, create one delivery per (event, subscription) idempotently, and
//! lease at once those the worker can attempt now; or hold them, for a subscription that cannot
//! take them ([`super::held`]). One round trip and one commit per batch, and no scan of the
//! pending deliveries to find the rows just inserted.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use uapi_platform::prepared::Prepared;

use super::claims::{ClaimLimits, Endpoint};

type SqlUuid = diesel::sql_types::Uuid;

/// An event to fan out, with its rendered body.
pub struct Event<'a> {
    pub event_id: Uuid,
    pub application_id: Uuid,
    pub event_type: &'a str,
    pub entity_id: &'a str,
    pub version: i64,
    pub body: &'a str,
    /// The trace its deliveries continue.
    pub traceparent: Option<&'a str>,
}

/// A delivery created now; `leased` when the worker holds it and attempts it at once.
#[derive(Debug, Clone, QueryableByName)]
pub struct Created {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Bool)]
    pub leased: bool,
    /// Not leased only because an older version of its entity goes first (it could go otherwise).
    #[diesel(sql_type = Bool)]
    pub waits_for_order: bool,
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(embed)]
    pub endpoint: Endpoint,
}

/// A new delivery is leased when its subscription has capacity left (`limits`, counted in batch
/// order), it is the oldest version of its entity in the batch, and it is in order (`in_order!` in `db`,
/// the claim's rule). An early send's
/// delivery (`$11`/`$12`: its attempt is under way, [`crate::delivery::early`]) is leased and
/// never held.
const FAN_OUT: &str = concat!(
    "\
WITH ev AS ( \
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[]) \
        WITH ORDINALITY AS e(event_id, application_id, event_type, entity_id, version, body, traceparent, ord) \
), caps AS ( \
    SELECT * FROM unnest($8::uuid[], $9::int[]) AS c(subscription_id, cap) \
), holds AS ( \
    SELECT unnest($10::uuid[]) AS subscription_id \
), early AS ( \
    SELECT DISTINCT * FROM unnest($11::uuid[], $12::uuid[]) AS x(event_id, subscription_id) \
), matched AS ( \
    SELECT e.*, s.id AS sub, s.events AS sub_events, s.delivery_url, s.secret, s.previous_secret, \
           s.previous_secret_expires_at, \
           coalesce(c.cap, $13) AS cap, \
           row_number() OVER (PARTITION BY s.id ORDER BY e.ord) AS sub_rank, \
           row_number() OVER (PARTITION BY s.id, e.entity_id ORDER BY e.version, e.ord) AS entity_rank, \
           x.event_id IS NOT NULL AS early, \
           (x.event_id IS NULL AND (s.id IN (SELECT subscription_id FROM holds) \
            OR EXISTS (SELECT 1 FROM held_deliveries h WHERE h.subscription_id = s.id))) AS hold \
    FROM ev e \
    JOIN subscriptions s ON s.application_id = e.application_id AND s.status = 'Enabled' \
                        AND ('*' = ANY(s.events) OR e.event_type = ANY(s.events)) \
    LEFT JOIN caps c ON c.subscription_id = s.id \
    LEFT JOIN early x ON x.event_id = e.event_id AND x.subscription_id = s.id \
), ranked AS ( \
    SELECT m.*, row_number() OVER (ORDER BY m.sub_rank, m.ord) AS overall FROM matched m WHERE NOT m.hold \
), held AS ( \
    INSERT INTO held_deliveries (subscription_id, event_ids, event_types, entity_ids, versions) \
    SELECT sub, array_agg(event_id ORDER BY ord), array_agg(event_type ORDER BY ord), \
           array_agg(entity_id ORDER BY ord), array_agg(version ORDER BY ord) \
    FROM matched WHERE hold GROUP BY sub \
), bodies AS ( \
    INSERT INTO event_bodies (event_id, application_id, event_type, body, traceparent) \
    SELECT DISTINCT ON (event_id) event_id, application_id, event_type, body, traceparent FROM matched \
    ON CONFLICT DO NOTHING \
), fresh AS ( \
    SELECT r.*, CASE WHEN r.early THEN true \
                     WHEN r.sub_rank <= r.cap AND r.overall <= $14 AND r.entity_rank = 1 THEN ",
    in_order!("r.sub", "r.entity_id", "r.version", "r.event_type", "r.sub_events", ""),
    " END AS ordered \
    FROM ranked r \
), ins AS ( \
    INSERT INTO deliveries (id, subscription_id, event_id, event_type, entity_id, version, status, \
                            next_attempt_at, locked_until, created_at, updated_at) \
    SELECT uuid_v7(), f.sub, f.event_id, f.event_type, f.entity_id, f.version, 'pending', now(), \
           CASE WHEN f.ordered THEN now() + make_interval(secs => $15) END, now(), now() \
    FROM fresh f ORDER BY f.ord, f.sub \
    ON CONFLICT (event_id, subscription_id) DO NOTHING \
    RETURNING id, subscription_id, event_id, locked_until IS NOT NULL AS leased \
) \
SELECT ins.id, ins.subscription_id, ins.event_id, ins.leased, m.ordered IS FALSE AS waits_for_order, m.entity_id, \
       m.version, m.delivery_url, m.secret, m.previous_secret, m.previous_secret_expires_at \
FROM ins JOIN fresh m ON m.event_id = ins.event_id AND m.sub = ins.subscription_id \
ORDER BY m.ord, m.sub"
);

/// Fans `events` out in one statement (atomic on its own); returns the deliveries created now.
/// Events no subscription wants leave no trace; a redelivered event creates nothing. Events for
/// the subscriptions in `hold`, and for any with held rows already (so an entity's versions stay
/// in order), are held ([`super::held`]) instead, except the (event, subscription) pairs in
/// `early`, sent already.
pub async fn fan_out(
    conn: &mut AsyncPgConnection,
    events: &[Event<'_>],
    limits: ClaimLimits<'_>,
    hold: &[Uuid],
    early: &[(Uuid, Uuid)],
) -> QueryResult<Vec<Created>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    Prepared::new(FAN_OUT)
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.application_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.event_type).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.entity_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(events.iter().map(|e| e.version).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.body).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(events.iter().map(|e| e.traceparent).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(limits.capped.iter().map(|c| c.0).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(limits.capped.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(hold.to_vec())
        .bind::<Array<SqlUuid>, _>(early.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(early.iter().map(|p| p.1).collect::<Vec<_>>())
        .bind::<Integer, _>(limits.default_cap)
        .bind::<BigInt, _>(limits.limit)
        .bind::<Double, _>(limits.lease.as_secs_f64())
        .load(conn)
        .await
}
