//! Connection lifecycle events, written to the outbox in the transaction that changes the
//! connection, so scim-ingress learns of every token change exactly as it was committed.

use diesel_async::AsyncPgConnection;
use prost::Message;
use uapi_events::v1::{ConnectionEvent, Tenant, connection_event::Kind};
use uapi_events::{routing, type_name};
use uapi_platform::outbox::{self, NewMessage};
use uuid::Uuid;

use crate::db::connections::Connection;

pub async fn enqueue_connection_event(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    c: &Connection,
) -> diesel::QueryResult<()> {
    let event_id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let event = ConnectionEvent {
        event_id: event_id.to_string(),
        kind: kind as i32,
        connection_id: c.id.to_string(),
        tenant: Some(Tenant {
            application_id: c.application_id.to_string(),
            consumer_id: c.consumer_id.to_string(),
            connection_id: c.id.to_string(),
            service_id: c.service_id.clone(),
        }),
        token_sha256: c.token_sha256.clone(),
        // A deletion supersedes the connection's last token revision.
        revision: (c.token_revision.max(0) as u64) + u64::from(kind == Kind::Deleted),
        occurred_at: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: now.timestamp_subsec_nanos() as i32,
        }),
    };
    let routing_key = match kind {
        Kind::Created | Kind::Unspecified => routing::CONNECTION_CREATED,
        Kind::TokenRotated => routing::CONNECTION_TOKEN_ROTATED,
        Kind::Deleted => routing::CONNECTION_DELETED,
    };
    outbox::enqueue(
        conn,
        NewMessage {
            message_id: event_id,
            routing_key,
            type_name: type_name::CONNECTION_EVENT,
            payload: event.encode_to_vec(),
        },
    )
    .await
}
