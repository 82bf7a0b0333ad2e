//! Fan-out: each employee or group event becomes one delivery per enabled subscription of its
//! application that wants its type, recorded idempotently (`ON CONFLICT (event_id,
//! subscription_id) DO NOTHING`), so a redelivered event never fans out twice. The body is
//! rendered once per event and stored once.
//!
//! Handlers run concurrently; their events meet in a [`Writer`] that fans out whatever arrived
//! together in one statement (a group commit, [`crate::db::fanout`]) that also leases the new
//! deliveries the worker can attempt now, so they go to the delivery loop at once; each handler
//! acks after the commit. Before an event joins a batch, its first attempts that may go early
//! ([`crate::delivery::early`]) are started, and the batch writes their deliveries leased.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lapin::message::Delivery;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uapi_platform::group_commit::GroupCommit;
use uapi_platform::tombstones::Tombstones;
use uuid::Uuid;

use crate::db::claims::Claimed;
use crate::db::fanout;
use crate::delivery::Dispatcher;

/// An event ready to fan out.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub event_id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub event_type: String,
    pub entity_id: String,
    pub version: i64,
    /// The webhook body, exactly as it will be signed and sent.
    pub body: String,
    /// Subscriptions whose first attempt of this event started already ([`crate::delivery::early`]).
    pub early: Vec<Uuid>,
    /// The trace its deliveries continue: the fan-out's span, or the event's own `traceparent`.
    pub traceparent: Option<String>,
}

/// Renders an event from its routing key and protobuf body into the contract's webhook body.
pub fn render(routing_key: &str, body: &[u8]) -> Result<Rendered, HandleError> {
    let event = uapi_events::webhook::render(routing_key, body).map_err(|e| HandleError::Permanent(e.0))?;
    Ok(Rendered {
        event_id: event.event_id,
        application_id: event.application_id,
        consumer_id: event.consumer_id,
        event_type: event.event_type,
        entity_id: event.entity_id,
        version: event.version,
        body: event.body.to_string(),
        early: Vec::new(),
        traceparent: None,
    })
}

pub async fn handle(writer: Writer, delivery: Arc<Delivery>) -> Result<(), HandleError> {
    if delivery.routing_key.as_str() == uapi_events::routing::CONSUMER_DELETED {
        let done = crate::consumer_deletion::handle(&writer.pool, &delivery.data).await;
        if done.is_ok()
            && let Ok(event) = <uapi_events::v1::ConsumerEvent as prost::Message>::decode(delivery.data.as_slice())
            && let Ok(consumer) = Uuid::parse_str(&event.consumer_id)
        {
            writer.tombstones.note_deleted(consumer);
        }
        return done;
    }
    let mut rendered = render(delivery.routing_key.as_str(), &delivery.data)?;
    // Known here without a query, so handlers reach the writer in the order they arrived; the
    // batch asks the database ([`fan_out_batch`]).
    if writer.tombstones.known_deleted(rendered.consumer_id) {
        tracing::debug!(event = %rendered.event_id, "event of a deleted consumer: not fanned out");
        return Ok(());
    }
    let span = tracing::info_span!("fan-out", otel.name = "fan-out", event.id = %rendered.event_id, event.type = %rendered.event_type);
    rendered.traceparent =
        Some(uapi_platform::telemetry::outgoing_traceparent(&span, event_traceparent(&delivery).as_deref()));
    tracing::Instrument::instrument(fan_out_event(writer, delivery, rendered), span).await
}

/// The `traceparent` the event's message carries.
fn event_traceparent(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    headers.inner().iter().find(|(k, _)| k.as_str() == "traceparent").and_then(|(_, v)| match v {
        lapin::types::AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        _ => None,
    })
}

async fn fan_out_event(writer: Writer, delivery: Arc<Delivery>, mut rendered: Rendered) -> Result<(), HandleError> {
    // A redelivered event, or a second copy of one, may have been fanned out (and sent) already:
    // only the usual path. Every copy is noted, so the first one counts whatever its path; a later
    // copy fans out only once the first copy's fan-out is over, so it never creates the delivery
    // an early attempt of the first copy is about to claim.
    let mut sight = writer.dispatcher.early().sight(rendered.event_id);
    sight.settled().await;
    if sight.is_first() && !delivery.redelivered {
        rendered.early = writer.dispatcher.send_early(&rendered).await;
    }
    let settle = Settle { dispatcher: &writer.dispatcher, event: rendered.event_id, early: rendered.early.clone() };
    let written = writer.write(rendered).await;
    // Early attempts learn their fate before a later copy may go on.
    drop(settle);
    drop(sight);
    written
}

/// Once the event's fan-out is over (or abandoned), early attempts it did not confirm learn so.
struct Settle<'a> {
    dispatcher: &'a Dispatcher,
    event: Uuid,
    early: Vec<Uuid>,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        if !self.early.is_empty() {
            self.dispatcher.early().settle(self.event, &self.early);
        }
    }
}

/// Collects events from concurrent handlers and fans them out in batches (a group commit), one
/// batch at a time. Versions of an entity may still reach the database out of order (concurrent
/// handlers, redeliveries): the order rule (`in_order!` in `db`) does not rely on it.
#[derive(Clone)]
pub struct Writer {
    batches: GroupCommit<Rendered, Result<(), HandleError>>,
    dispatcher: Dispatcher,
    pool: PgPool,
    /// Deleted consumers, whose events are dropped.
    tombstones: Arc<Tombstones>,
}

/// Events fanned out in one statement at most.
const BATCH: usize = 64;

impl Writer {
    /// Starts the writer task; it ends when every `Writer` clone is dropped.
    pub fn start(pool: PgPool, dispatcher: Dispatcher) -> Self {
        let engine = dispatcher.clone();
        let batch_pool = pool.clone();
        let tombstones: Arc<Tombstones> = Arc::default();
        let known = tombstones.clone();
        let batches = GroupCommit::start(BATCH, 1, move |events| {
            let (pool, dispatcher, tombstones) = (batch_pool.clone(), engine.clone(), known.clone());
            async move { fan_out_batch(&pool, &dispatcher, &tombstones, events).await }
        });
        Self { batches, dispatcher, pool, tombstones }
    }

    /// Resolves once the event's deliveries are committed. An event with early attempts is
    /// written again while the database is unreachable, up to a lease: those webhooks are sent,
    /// and given up here their deliveries would be created the usual way on the message's retry
    /// and sent a second time.
    pub async fn write(&self, event: Rendered) -> Result<(), HandleError> {
        if event.early.is_empty() {
            return self.write_once(event).await;
        }
        let deadline = tokio::time::Instant::now() + self.dispatcher.settings().lease();
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            match self.write_once(event.clone()).await {
                Err(HandleError::Unavailable(reason)) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::warn!(event = %event.event_id, %reason, "database unreachable; the fan-out of an event sent early waits for it");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                done => return done,
            }
        }
    }

    async fn write_once(&self, event: Rendered) -> Result<(), HandleError> {
        let stopped = || HandleError::Unavailable("fan-out writer stopped".into());
        self.batches.submit(event).await.unwrap_or_else(|| Err(stopped()))
    }
}

/// Fans out `events` but those of deleted consumers (answered done: nothing to deliver).
async fn fan_out_batch(
    pool: &PgPool,
    dispatcher: &Dispatcher,
    tombstones: &Tombstones,
    events: Vec<Rendered>,
) -> Vec<Result<(), HandleError>> {
    let mut deleted = HashSet::new();
    for consumer in events.iter().map(|e| e.consumer_id).collect::<HashSet<_>>() {
        let lookup = || async {
            let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
            crate::db::consumers::is_deleted(&mut conn, consumer).await.map_err(HandleError::from_query)
        };
        match tombstones.is_deleted(consumer, lookup).await {
            Ok(true) => {
                deleted.insert(consumer);
            }
            Ok(false) => {}
            Err(e) => return events.iter().map(|_| Err(HandleError::Unavailable(e.to_string()))).collect(),
        }
    }
    if deleted.is_empty() {
        return fan_out_kept(pool, dispatcher, events).await;
    }
    let (gone, kept): (Vec<_>, Vec<_>) =
        events.into_iter().enumerate().partition(|(_, e)| deleted.contains(&e.consumer_id));
    let mut results: Vec<Option<Result<(), HandleError>>> = (0..gone.len() + kept.len()).map(|_| None).collect();
    for (i, e) in &gone {
        tracing::debug!(event = %e.event_id, "event of a deleted consumer: not fanned out");
        results[*i] = Some(Ok(()));
    }
    let (places, kept): (Vec<usize>, Vec<Rendered>) = kept.into_iter().unzip();
    for (i, r) in places.into_iter().zip(fan_out_kept(pool, dispatcher, kept).await) {
        results[i] = Some(r);
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

async fn fan_out_kept(pool: &PgPool, dispatcher: &Dispatcher, events: Vec<Rendered>) -> Vec<Result<(), HandleError>> {
    if events.is_empty() {
        return Vec::new();
    }
    match fan_out(pool, dispatcher, &events).await {
        Ok(()) => events.iter().map(|_| Ok(())).collect(),
        // One bad event must not fail its neighbours: retry each alone and report each result.
        Err(_) if events.len() > 1 => {
            let mut results = Vec::with_capacity(events.len());
            for event in &events {
                results.push(fan_out(pool, dispatcher, std::slice::from_ref(event)).await);
            }
            results
        }
        Err(e) => vec![Err(e)],
    }
}

/// One statement: the bodies, a delivery per matching subscription, and the lease of those the
/// delivery loop can start now, which go to it at once.
async fn fan_out(pool: &PgPool, dispatcher: &Dispatcher, events: &[Rendered]) -> Result<(), HandleError> {
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    // A snapshot of the capacity: concurrent claims may overshoot the claim-ahead bound by a
    // batch, never the in-flight bounds (those are semaphores).
    let limits = dispatcher.lock_slots().await.limits(dispatcher.settings());
    // An event redelivered while its first copy waits in the same batch: once is enough.
    let mut seen = HashSet::new();
    let batch: Vec<fanout::Event<'_>> = events
        .iter()
        .filter(|e| seen.insert(e.event_id))
        .map(|e| fanout::Event {
            event_id: e.event_id,
            application_id: e.application_id,
            event_type: &e.event_type,
            entity_id: &e.entity_id,
            version: e.version,
            body: &e.body,
            traceparent: e.traceparent.as_deref(),
        })
        .collect();
    // Every copy's: a redelivered copy first in the batch must not hide the early sends of another.
    let early: Vec<(Uuid, Uuid)> = events.iter().flat_map(|e| e.early.iter().map(|s| (e.event_id, *s))).collect();
    let started = std::time::Instant::now();
    let claim = limits.claim(dispatcher.settings());
    let created =
        fanout::fan_out(&mut conn, &batch, claim, limits.holding(), &early).await.map_err(HandleError::from_query)?;
    drop(conn);
    dispatcher.note_held(limits.holding());
    tracing::debug!(
        events = batch.len(),
        created = created.len(),
        early = early.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "fanned out"
    );
    dispatcher.metrics().fanned_out(created.len());
    // Left unleased for a subscription that could take more (capacity, or an older version first):
    // the delivery loop looks again as soon as capacity frees. Not for open breakers: their
    // cool-down decides.
    dispatcher.note_backlog(
        created.iter().filter(|c| !c.leased && !limits.blocked(c.subscription_id)).map(|c| c.subscription_id),
    );
    let waits: Vec<(Uuid, String)> =
        created.iter().filter(|c| c.waits_for_order).map(|c| (c.subscription_id, c.entity_id.clone())).collect();
    if !waits.is_empty() {
        dispatcher.note_order_waits(waits);
    }
    let confirmed = confirm_early(dispatcher, events, &early, &created);
    let bodies: HashMap<Uuid, &Rendered> = events.iter().map(|e| (e.event_id, e)).collect();
    let claimed: Vec<Claimed> = created
        .into_iter()
        .filter(|c| c.leased && !confirmed.contains(&(c.event_id, c.subscription_id)))
        .map(|c| Claimed {
            id: c.id,
            subscription_id: c.subscription_id,
            event_id: c.event_id,
            attempt_count: 0,
            step: 0,
            entity_id: c.entity_id,
            version: c.version,
            body: bodies.get(&c.event_id).map(|e| e.body.clone()).unwrap_or_default(),
            traceparent: bodies.get(&c.event_id).and_then(|e| e.traceparent.clone()),
            created_at: chrono::Utc::now(),
            endpoint: c.endpoint,
        })
        .collect();
    let tickets = dispatcher.lock_slots().await.register(claimed, dispatcher.settings());
    dispatcher.start(tickets);
    Ok(())
}

/// Hands each early send its delivery; returns the (event, subscription) pairs that had one (their
/// attempts are under way). Where the fan-out disagrees with the cache an early send read (no
/// delivery, or one with another URL or secret), the application's cache entry is dropped.
fn confirm_early(
    dispatcher: &Dispatcher,
    events: &[Rendered],
    early: &[(Uuid, Uuid)],
    created: &[fanout::Created],
) -> HashSet<(Uuid, Uuid)> {
    if early.is_empty() {
        return HashSet::new();
    }
    let application: HashMap<Uuid, Uuid> = events.iter().map(|e| (e.event_id, e.application_id)).collect();
    let mut confirmed = HashSet::new();
    let sent: HashSet<&(Uuid, Uuid)> = early.iter().collect();
    // Only this batch's early sends: their rows are written leased. A row the batch wrote the
    // usual way may be claimed by anyone, and must not be taken over by an attempt of another copy.
    for c in created.iter().filter(|c| sent.contains(&(c.event_id, c.subscription_id))) {
        if let Some(same) = dispatcher.early().created(c.event_id, c.subscription_id, c.id, &c.endpoint) {
            confirmed.insert((c.event_id, c.subscription_id));
            if !same && let Some(app) = application.get(&c.event_id) {
                dispatcher.forget_subscriptions(*app);
            }
        }
    }
    for (event, sub) in early {
        if !confirmed.contains(&(*event, *sub))
            && let Some(app) = application.get(event)
        {
            dispatcher.forget_subscriptions(*app);
        }
    }
    confirmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_permanent() {
        assert!(matches!(render("employee.created", b"\xff\xff"), Err(HandleError::Permanent(_))));
    }
}
