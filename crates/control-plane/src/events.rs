//! Connection lifecycle events, written to the outbox in the transaction that changes the
//! connection, so scim-ingress learns of every token change exactly as it was committed; and
//! announced again ([`announce`]) so that scim-ingress's view converges even if an event was lost:
//! recent changes periodically, everything on `republish-connections`.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use prost::Message;
use uapi_events::v1::{ConnectionEvent, Tenant, connection_event::Kind};
use uapi_events::{routing, type_name};
use uapi_platform::outbox::{self, NewMessage};
use uuid::Uuid;

use crate::db::connections::{self, Connection, Tombstone};

/// What scim-ingress is told about one connection.
struct Announcement<'a> {
    kind: Kind,
    id: Uuid,
    application_id: Uuid,
    consumer_id: Uuid,
    service_id: &'a str,
    token_sha256: &'a [u8],
    /// Monotonic per connection; scim-ingress applies only what is newer than what it holds.
    revision: i64,
}

impl<'a> Announcement<'a> {
    fn of(kind: Kind, c: &'a Connection) -> Self {
        Self {
            kind,
            id: c.id,
            application_id: c.application_id,
            consumer_id: c.consumer_id,
            service_id: &c.service_id,
            token_sha256: &c.token_sha256,
            revision: c.token_revision,
        }
    }

    fn deleted(t: &'a Tombstone) -> Self {
        Self {
            kind: Kind::Deleted,
            id: t.id,
            application_id: t.application_id,
            consumer_id: t.consumer_id,
            service_id: &t.service_id,
            token_sha256: &t.token_sha256,
            revision: t.revision,
        }
    }

    fn message(&self) -> NewMessage<'static> {
        let event_id = Uuid::now_v7();
        let now = Utc::now();
        let event = ConnectionEvent {
            event_id: event_id.to_string(),
            kind: self.kind as i32,
            connection_id: self.id.to_string(),
            tenant: Some(Tenant {
                application_id: self.application_id.to_string(),
                consumer_id: self.consumer_id.to_string(),
                connection_id: self.id.to_string(),
                service_id: self.service_id.to_owned(),
            }),
            token_sha256: self.token_sha256.to_vec(),
            revision: self.revision.max(0) as u64,
            occurred_at: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: now.timestamp_subsec_nanos() as i32,
            }),
        };
        let routing_key = match self.kind {
            Kind::Created | Kind::Unspecified => routing::CONNECTION_CREATED,
            Kind::TokenRotated => routing::CONNECTION_TOKEN_ROTATED,
            Kind::Deleted => routing::CONNECTION_DELETED,
        };
        NewMessage {
            message_id: event_id,
            routing_key,
            type_name: type_name::CONNECTION_EVENT,
            payload: event.encode_to_vec(),
        }
    }
}

/// The event of a connection created or whose token was rotated.
pub async fn enqueue_connection_event(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    c: &Connection,
) -> diesel::QueryResult<()> {
    outbox::enqueue(conn, Announcement::of(kind, c).message()).await
}

/// Records the deletion of `c` (just deleted in this transaction) and writes its event.
pub async fn connection_deleted(conn: &mut AsyncPgConnection, c: &Connection) -> diesel::QueryResult<()> {
    let tombstone = connections::bury(conn, c).await?;
    outbox::enqueue(conn, Announcement::deleted(&tombstone).message()).await
}

/// Writes the current state of every connection changed or deleted at or after `since` (all of
/// them without it) as events; returns how many. Idempotent at scim-ingress: an announcement of
/// a revision it holds changes nothing.
pub async fn announce(conn: &mut AsyncPgConnection, since: Option<DateTime<Utc>>) -> diesel::QueryResult<usize> {
    let live = connections::changed_since(conn, since).await?;
    let buried = connections::buried_since(conn, since).await?;
    let messages: Vec<NewMessage<'static>> = live
        .iter()
        .map(|c| Announcement::of(if c.token_revision > 1 { Kind::TokenRotated } else { Kind::Created }, c))
        .chain(buried.iter().map(Announcement::deleted))
        .map(|a| a.message())
        .collect();
    let n = messages.len();
    outbox::enqueue_many(conn, messages).await?;
    Ok(n)
}

/// Announces again, every `every`, the connections changed or deleted within `window`, until
/// `stop`. Each replica does; scim-ingress ignores what it already holds.
pub async fn reannounce_until(
    pool: uapi_platform::db::PgPool,
    wake: std::sync::Arc<tokio::sync::Notify>,
    every: std::time::Duration,
    window: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    use diesel_async::AsyncConnection;
    if every.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let since = Utc::now() - chrono::Duration::from_std(window).unwrap_or_default();
        let announced = match pool.get().await {
            Ok(mut conn) => conn
                .transaction::<_, diesel::result::Error, _>(async |conn| announce(conn, Some(since)).await)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        match announced {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(connections = n, "recent connection changes announced again");
                wake.notify_one();
            }
            Err(e) => tracing::warn!(error = %e, "announcing recent connection changes failed; trying again"),
        }
    }
}

/// Announces every connection and every deletion again (`republish-connections`, or
/// `POST /admin/connections/republish`): rebuilds scim-ingress's view from scratch, e.g. after its
/// database was restored. A running relay publishes them.
pub async fn republish(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| announce(conn, None).await).await
}

/// `consumer.deleted`: employee-store removes the consumer's employees and groups and refuses its
/// tokens; the dispatcher cancels its pending deliveries. Written with the deletion.
pub async fn consumer_deleted(
    conn: &mut AsyncPgConnection,
    application: Uuid,
    consumer: Uuid,
) -> diesel::QueryResult<()> {
    let event_id = Uuid::now_v7();
    let now = Utc::now();
    let event = uapi_events::v1::ConsumerEvent {
        event_id: event_id.to_string(),
        kind: uapi_events::v1::consumer_event::Kind::Deleted as i32,
        application_id: application.to_string(),
        consumer_id: consumer.to_string(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: now.timestamp_subsec_nanos() as i32,
        }),
    };
    outbox::enqueue(
        conn,
        NewMessage {
            message_id: event_id,
            routing_key: routing::CONSUMER_DELETED,
            type_name: type_name::CONSUMER_EVENT,
            payload: event.encode_to_vec(),
        },
    )
    .await
}
