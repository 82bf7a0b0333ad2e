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

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use prost::Message;
use serde_json::{Value, json};
use uapi_events::model::Employee;
use uapi_events::v1::{EmployeeEvent, GroupEvent};
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uapi_platform::group_commit::GroupCommit;
use uuid::Uuid;

use crate::db::claims::Claimed;
use crate::db::fanout;
use crate::delivery::Dispatcher;

/// An event ready to fan out.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub event_id: Uuid,
    pub application_id: Uuid,
    pub event_type: String,
    pub entity_id: String,
    pub version: i64,
    /// The webhook body, exactly as it will be signed and sent.
    pub body: String,
    /// Subscriptions whose first attempt of this event started already ([`crate::delivery::early`]).
    pub early: Vec<Uuid>,
}

fn permanent(what: impl std::fmt::Display) -> HandleError {
    HandleError::Permanent(what.to_string())
}

fn uuid(field: &str, s: &str) -> Result<Uuid, HandleError> {
    Uuid::parse_str(s).map_err(|_| permanent(format!("{field} is not a UUID: {s:?}")))
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Renders an event from its routing key and protobuf body into the contract's webhook body.
pub fn render(routing_key: &str, body: &[u8]) -> Result<Rendered, HandleError> {
    if routing_key.starts_with("group.") {
        let e = GroupEvent::decode(body).map_err(|e| permanent(format!("undecodable GroupEvent: {e}")))?;
        let tenant = e.tenant.as_ref().ok_or_else(|| permanent("GroupEvent without tenant"))?;
        let g = e.group.as_ref().ok_or_else(|| permanent("GroupEvent without group"))?;
        let data = json!({
            "id": g.id, "remoteId": g.remote_id, "name": g.name, "memberIds": g.member_ids,
            "createdAt": timestamp(g.created_at.as_ref()), "updatedAt": timestamp(g.updated_at.as_ref()),
            "deletedAt": timestamp(g.deleted_at.as_ref()),
        });
        let head =
            Head { id: &e.event_id, kind: &e.event_type, occurred_at: e.occurred_at.as_ref(), version: e.version };
        return finish(head, tenant, "group", &g.id, &e.changed_fields, data);
    }
    let e = EmployeeEvent::decode(body).map_err(|e| permanent(format!("undecodable EmployeeEvent: {e}")))?;
    let tenant = e.tenant.as_ref().ok_or_else(|| permanent("EmployeeEvent without tenant"))?;
    let proto = e.employee.as_ref().ok_or_else(|| permanent("EmployeeEvent without employee"))?;
    let employee = Employee::from(proto);
    let data = serde_json::to_value(&employee).map_err(|e| permanent(e.to_string()))?;
    let head = Head { id: &e.event_id, kind: &e.event_type, occurred_at: e.occurred_at.as_ref(), version: e.version };
    finish(head, tenant, "employee", &employee.id, &e.changed_fields, data)
}

struct Head<'a> {
    id: &'a str,
    kind: &'a str,
    occurred_at: Option<&'a prost_types::Timestamp>,
    version: u64,
}

fn finish(
    head: Head<'_>,
    tenant: &uapi_events::v1::Tenant,
    entity_type: &str,
    entity_id: &str,
    changed: &[String],
    data: Value,
) -> Result<Rendered, HandleError> {
    let event_id = uuid("event_id", head.id)?;
    let application_id = uuid("application_id", &tenant.application_id)?;
    let version = i64::try_from(head.version).map_err(|_| permanent("version out of range"))?;
    if !crate::events::is_known(head.kind) || head.kind == "*" {
        return Err(permanent(format!("unknown event type {:?}", head.kind)));
    }
    let body = json!({
        "eventId": event_id,
        "eventType": head.kind,
        "unifiedApi": "hris",
        "serviceId": tenant.service_id,
        "consumerId": tenant.consumer_id,
        "connectionId": tenant.connection_id,
        "entityId": entity_id,
        "entityType": entity_type,
        "occurred_at": timestamp(head.occurred_at),
        "version": version,
        "changedFields": changed,
        "data": data,
    });
    Ok(Rendered {
        event_id,
        application_id,
        event_type: head.kind.to_owned(),
        entity_id: entity_id.to_owned(),
        version,
        body: body.to_string(),
        early: Vec::new(),
    })
}

pub async fn handle(writer: Writer, delivery: Arc<Delivery>) -> Result<(), HandleError> {
    let mut rendered = render(delivery.routing_key.as_str(), &delivery.data)?;
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
}

/// Events fanned out in one statement at most.
const BATCH: usize = 64;

impl Writer {
    /// Starts the writer task; it ends when every `Writer` clone is dropped.
    pub fn start(pool: PgPool, dispatcher: Dispatcher) -> Self {
        let engine = dispatcher.clone();
        let batches = GroupCommit::start(BATCH, 1, move |events| {
            let (pool, dispatcher) = (pool.clone(), engine.clone());
            async move { fan_out_batch(&pool, &dispatcher, events).await }
        });
        Self { batches, dispatcher }
    }

    /// Resolves once the event's deliveries are committed.
    pub async fn write(&self, event: Rendered) -> Result<(), HandleError> {
        let stopped = || HandleError::Unavailable("fan-out writer stopped".into());
        self.batches.submit(event).await.unwrap_or_else(|| Err(stopped()))
    }
}

async fn fan_out_batch(pool: &PgPool, dispatcher: &Dispatcher, events: Vec<Rendered>) -> Vec<Result<(), HandleError>> {
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
    let bodies: HashMap<Uuid, &str> = events.iter().map(|e| (e.event_id, e.body.as_str())).collect();
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
            body: bodies.get(&c.event_id).map(|b| (*b).to_owned()).unwrap_or_default(),
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
    use uapi_events::v1;

    #[test]
    fn employee_events_render_to_the_contract_body() {
        let id = Uuid::now_v7().to_string();
        let event = EmployeeEvent {
            event_id: id.clone(),
            event_type: "employee.updated".into(),
            tenant: Some(v1::Tenant {
                application_id: Uuid::now_v7().to_string(),
                consumer_id: "c".into(),
                connection_id: "k".into(),
                service_id: "okta-scim".into(),
            }),
            occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            version: 2,
            changed_fields: vec!["employmentStatus".into()],
            employee: Some(v1::Employee { id: "e1".into(), version: 2, ..Default::default() }),
        };
        let r = render("employee.updated", &event.encode_to_vec()).expect("renders");
        let body: Value = serde_json::from_str(&r.body).expect("json");
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "eventId",
                "eventType",
                "unifiedApi",
                "serviceId",
                "consumerId",
                "connectionId",
                "entityId",
                "entityType",
                "occurred_at",
                "version",
                "changedFields",
                "data"
            ]
        );
        assert_eq!(body["eventId"], id);
        assert_eq!(body["unifiedApi"], "hris");
        assert_eq!(body["entityType"], "employee");
        assert_eq!(body["entityId"], "e1");
        assert_eq!(body["occurred_at"], "2023-11-14T22:13:20.000Z");
        assert_eq!(body["data"]["id"], "e1");
        assert_eq!(body["version"], 2);
    }

    #[test]
    fn group_events_render_with_the_group_as_data() {
        let event = GroupEvent {
            event_id: Uuid::now_v7().to_string(),
            event_type: "group.updated".into(),
            tenant: Some(v1::Tenant { application_id: Uuid::now_v7().to_string(), ..Default::default() }),
            occurred_at: None,
            version: 3,
            changed_fields: vec!["memberIds".into()],
            group: Some(v1::Group {
                id: "g1".into(),
                name: "Engineering".into(),
                member_ids: vec!["e1".into()],
                ..Default::default()
            }),
        };
        let r = render("group.updated", &event.encode_to_vec()).expect("renders");
        let body: Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!((body["entityType"].as_str(), body["entityId"].as_str()), (Some("group"), Some("g1")));
        assert_eq!(body["data"]["memberIds"], json!(["e1"]));
        assert_eq!(body["data"]["name"], "Engineering");
        assert_eq!((r.entity_id.as_str(), r.version), ("g1", 3));
    }

    #[test]
    fn garbage_is_permanent() {
        assert!(matches!(render("employee.created", b"\xff\xff"), Err(HandleError::Permanent(_))));
    }
}
