//! Applies employee events to the projection (group events go to [`crate::group_projection`]). Idempotent: an event whose version is not newer
//! than the stored one (a duplicate, or a stale redelivery) changes nothing.
//!
//! Handlers run concurrently; their rows meet in a [`Writer`] that commits whatever arrived
//! together in one statement (a group commit), and each handler acks only after its row's commit.

use diesel_async::AsyncConnection;
use lapin::message::Delivery;
use prost::Message;
use uapi_events::model::{Employee, EmploymentStatus};
use uapi_events::v1::EmployeeEvent;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uapi_platform::group_commit::GroupCommit;
use uuid::Uuid;

use uapi_events::webhook::{RenderError, WebhookEvent};

use crate::db::feed::{self, FeedEvent};
use crate::db::{self, EmployeeRow};

pub(crate) fn permanent(what: impl std::fmt::Display) -> HandleError {
    HandleError::Permanent(what.to_string())
}

pub(crate) fn uuid(field: &str, s: &str) -> Result<Uuid, HandleError> {
    Uuid::parse_str(s).map_err(|_| permanent(format!("{field} is not a UUID: {s:?}")))
}

/// An employee event: the row it leaves behind and its entry in the events feed.
#[derive(Debug, Clone)]
pub struct Projected {
    pub row: EmployeeRow,
    pub feed: FeedEvent,
}

/// The feed entry of an event: its webhook body.
pub(crate) fn feed_event(rendered: Result<WebhookEvent, RenderError>) -> Result<FeedEvent, HandleError> {
    let event = rendered.map_err(|e| HandleError::Permanent(e.0))?;
    Ok(FeedEvent { consumer_id: event.consumer_id, event_id: event.event_id, body: event.body })
}

/// Decodes an `EmployeeEvent` into the row it leaves behind and its feed entry.
pub fn decode(body: &[u8]) -> Result<Projected, HandleError> {
    let event = EmployeeEvent::decode(body).map_err(|e| permanent(format!("undecodable EmployeeEvent: {e}")))?;
    let feed = feed_event(uapi_events::webhook::employee(&event))?;
    Ok(Projected { row: row_of(&event)?, feed })
}

fn row_of(event: &EmployeeEvent) -> Result<EmployeeRow, HandleError> {
    let tenant = event.tenant.as_ref().ok_or_else(|| permanent("EmployeeEvent without tenant"))?;
    let proto = event.employee.as_ref().ok_or_else(|| permanent("EmployeeEvent without employee"))?;
    let employee = Employee::from(proto);
    let version = i64::try_from(event.version).map_err(|_| permanent("version out of range"))?;
    if version < 1 || event.version != employee.version {
        return Err(permanent(format!("inconsistent version {} (employee says {})", event.version, employee.version)));
    }
    let updated_at = employee.updated_at.or(employee.created_at).unwrap_or_else(chrono::Utc::now);
    Ok(EmployeeRow {
        id: uuid("employee.id", &employee.id)?,
        application_id: uuid("application_id", &tenant.application_id)?,
        consumer_id: uuid("consumer_id", &tenant.consumer_id)?,
        connection_id: uuid("connection_id", &tenant.connection_id)?,
        version,
        last_event_id: uuid("event_id", &event.event_id)?,
        employment_status: match employee.employment_status {
            EmploymentStatus::Active => "ACTIVE".into(),
            EmploymentStatus::Inactive => "INACTIVE".into(),
        },
        work_email_lower: employee.work_email.as_ref().map(|e| e.to_lowercase()),
        deleted_at: employee.deleted_at,
        updated_at,
        data: serde_json::to_value(&employee).map_err(|e| permanent(e.to_string()))?,
    })
}

/// Projects one delivery: `group.*` into the group projection, anything else as an employee event.
pub async fn handle(writer: Writer, pool: PgPool, delivery: std::sync::Arc<Delivery>) -> Result<(), HandleError> {
    if delivery.routing_key.as_str().starts_with("group.") {
        return crate::group_projection::handle(&pool, &delivery.data).await;
    }
    if delivery.routing_key.as_str() == uapi_events::routing::CONSUMER_DELETED {
        return crate::consumer_deletion::handle(&pool, &delivery.data).await;
    }
    writer.write(decode(&delivery.data)?).await
}

/// Collects rows from concurrent handlers and writes them in batches (a group commit). Batches
/// may commit concurrently, but not two holding one employee: its events reach the feed in the
/// order they were handed over (the version guard alone would keep the row right, not the feed).
#[derive(Clone)]
pub struct Writer {
    batches: GroupCommit<Projected, Result<(), HandleError>>,
}

/// Rows written in one statement at most.
const BATCH: usize = 64;

/// Batches being written at once. Two, not four: fewer, larger commits (employee-store's Postgres
/// 13 → 10.5 CPU ticks/s at 1,000 events/s, docs/performance.md).
const IN_FLIGHT: usize = 2;

impl Writer {
    /// Starts the writer task; it ends when every `Writer` clone is dropped.
    pub fn start(pool: PgPool) -> Self {
        let batches = GroupCommit::start_keyed(
            BATCH,
            IN_FLIGHT,
            |p: &Projected| Some(p.row.id),
            move |rows| {
                let pool = pool.clone();
                async move { write_batch(&pool, rows).await }
            },
        );
        Self { batches }
    }

    /// Resolves once the event is committed (or known to be stale).
    pub async fn write(&self, row: Projected) -> Result<(), HandleError> {
        let stopped = || HandleError::Unavailable("projection writer stopped".into());
        self.batches.submit(row).await.unwrap_or_else(|| Err(stopped()))
    }
}

async fn write_batch(pool: &PgPool, rows: Vec<Projected>) -> Vec<Result<(), HandleError>> {
    match write_rows(pool, rows.iter()).await {
        Ok(()) => rows.iter().map(|_| Ok(())).collect(),
        // One bad row must not fail its neighbours: retry each alone, in feed order, and report
        // each result in submission order.
        Err(_) if rows.len() > 1 => {
            let mut results: Vec<Option<Result<(), HandleError>>> = rows.iter().map(|_| None).collect();
            for i in feed_order(&rows.iter().collect::<Vec<_>>()) {
                results[i] = Some(write_rows(pool, std::iter::once(&rows[i])).await);
            }
            results.into_iter().map(|r| r.unwrap_or_else(|| Err(permanent("not written")))).collect()
        }
        Err(e) => vec![Err(e)],
    }
}

/// The order `events` go to the feed in, as indexes: each employee's versions in version order,
/// in the place of the employee's first event; employees in the order they first appear.
fn feed_order(events: &[&Projected]) -> Vec<usize> {
    let first: std::collections::HashMap<Uuid, usize> =
        events.iter().enumerate().rev().map(|(i, e)| (e.row.id, i)).collect();
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (first.get(&events[i].row.id).copied(), events[i].row.version));
    order
}

/// Writes the newest version of each employee among `events` in one statement, and every event
/// to the feed, in one transaction.
async fn write_rows<'a>(pool: &PgPool, events: impl Iterator<Item = &'a Projected>) -> Result<(), HandleError> {
    let events: Vec<&Projected> = events.collect();
    // Two versions of one employee cannot be upserted by one statement; the newest wins anyway.
    let mut newest: std::collections::HashMap<Uuid, &EmployeeRow> = std::collections::HashMap::new();
    for row in events.iter().map(|e| &e.row) {
        newest
            .entry(row.id)
            .and_modify(|r| {
                if row.version > r.version {
                    *r = row
                }
            })
            .or_insert(row);
    }
    let rows: Vec<EmployeeRow> = newest.into_values().cloned().collect();
    let feed: Vec<&FeedEvent> = feed_order(&events).into_iter().map(|i| &events[i].feed).collect();
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let applied = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let consumers: Vec<Uuid> = rows.iter().map(|r| r.consumer_id).collect();
            let deleted = crate::db::consumers::guard(conn, &consumers).await?;
            if deleted.is_empty() {
                let applied = db::apply_many(conn, &rows).await?;
                feed::append(conn, &feed).await?;
                return Ok(applied);
            }
            // Events of a deleted consumer that arrive late: dropped.
            let rows: Vec<EmployeeRow> = rows.iter().filter(|r| !deleted.contains(&r.consumer_id)).cloned().collect();
            let feed: Vec<&FeedEvent> = feed.iter().copied().filter(|f| !deleted.contains(&f.consumer_id)).collect();
            let applied = db::apply_many(conn, &rows).await?;
            feed::append(conn, &feed).await?;
            Ok(applied)
        })
        .await
        .map_err(HandleError::from_query)?;
    tracing::debug!(rows = rows.len(), applied, "employee events projected");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(employee: Uuid, version: i64) -> Projected {
        let id = Uuid::now_v7();
        Projected {
            row: EmployeeRow {
                id: employee,
                application_id: id,
                consumer_id: id,
                connection_id: id,
                version,
                last_event_id: id,
                employment_status: "ACTIVE".into(),
                work_email_lower: None,
                data: serde_json::Value::Null,
                updated_at: chrono::Utc::now(),
                deleted_at: None,
            },
            feed: FeedEvent { consumer_id: id, event_id: id, body: serde_json::Value::Null },
        }
    }

    #[test]
    fn the_feed_takes_each_employees_versions_in_order_where_the_employee_first_appears() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let events = [event(a, 3), event(b, 1), event(a, 2), event(b, 2), event(a, 4)];
        let refs: Vec<&Projected> = events.iter().collect();
        let order: Vec<(Uuid, i64)> =
            feed_order(&refs).into_iter().map(|i| (events[i].row.id, events[i].row.version)).collect();
        assert_eq!(order, [(a, 2), (a, 3), (a, 4), (b, 1), (b, 2)]);
    }
}
