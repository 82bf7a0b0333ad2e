//! Projects control-plane's connection lifecycle events into the local `connections` table, which
//! is what authenticates SCIM calls. Idempotent: an event not newer than what is stored is ignored.

use lapin::message::Delivery;
use prost::Message;
use uapi_events::v1::{ConnectionEvent, connection_event::Kind};
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::db::connections::{self, ConnectionRow};

fn permanent(what: impl std::fmt::Display) -> HandleError {
    HandleError::Permanent(what.to_string())
}

fn uuid(field: &str, s: &str) -> Result<Uuid, HandleError> {
    Uuid::parse_str(s).map_err(|_| permanent(format!("{field} is not a UUID: {s:?}")))
}

/// Decodes a `ConnectionEvent` into the row it leaves behind.
pub fn decode(body: &[u8]) -> Result<ConnectionRow, HandleError> {
    let event = ConnectionEvent::decode(body).map_err(|e| permanent(format!("undecodable ConnectionEvent: {e}")))?;
    let tenant = event.tenant.as_ref().ok_or_else(|| permanent("ConnectionEvent without tenant"))?;
    if event.kind() == Kind::Unspecified || event.token_sha256.len() != 32 {
        return Err(permanent("ConnectionEvent without kind or token hash"));
    }
    Ok(ConnectionRow {
        id: uuid("connection_id", &event.connection_id)?,
        application_id: uuid("application_id", &tenant.application_id)?,
        consumer_id: uuid("consumer_id", &tenant.consumer_id)?,
        service_id: tenant.service_id.clone(),
        token_sha256: event.token_sha256.clone(),
        revision: i64::try_from(event.revision).map_err(|_| permanent("revision out of range"))?,
        deleted: event.kind() == Kind::Deleted,
    })
}

pub async fn handle(pool: PgPool, delivery: std::sync::Arc<Delivery>) -> Result<(), HandleError> {
    let row = decode(&delivery.data)?;
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let changed = connections::apply(&mut conn, &row).await.map_err(HandleError::from_query)?;
    tracing::info!(connection_id = %row.id, revision = row.revision, deleted = row.deleted, applied = changed, "connection event");
    Ok(())
}
