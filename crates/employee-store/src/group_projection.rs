//! Applies group events to the group projection. Idempotent like the employee projection: an
//! event whose version is not newer than the stored one changes nothing. Group events are rare
//! (one per group change, against one per member for employees), so each is one statement.

use prost::Message;
use uapi_events::model::Group;
use uapi_events::v1::GroupEvent;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;

use diesel_async::AsyncConnection;

use crate::db::feed::{self, FeedEvent};
use crate::db::groups::{self, GroupRow};
use crate::projection::{feed_event, permanent, uuid};

/// Decodes a `GroupEvent` into the row it leaves behind and its feed entry.
pub fn decode(body: &[u8]) -> Result<(GroupRow, FeedEvent), HandleError> {
    let event = GroupEvent::decode(body).map_err(|e| permanent(format!("undecodable GroupEvent: {e}")))?;
    let feed = feed_event(uapi_events::webhook::group(&event))?;
    Ok((row_of(&event)?, feed))
}

fn row_of(event: &GroupEvent) -> Result<GroupRow, HandleError> {
    let tenant = event.tenant.as_ref().ok_or_else(|| permanent("GroupEvent without tenant"))?;
    let group = Group::from(event.group.as_ref().ok_or_else(|| permanent("GroupEvent without group"))?);
    let version = i64::try_from(event.version).map_err(|_| permanent("version out of range"))?;
    if version < 1 {
        return Err(permanent(format!("invalid version {version}")));
    }
    Ok(GroupRow {
        id: uuid("group.id", &group.id)?,
        application_id: uuid("application_id", &tenant.application_id)?,
        consumer_id: uuid("consumer_id", &tenant.consumer_id)?,
        connection_id: uuid("connection_id", &tenant.connection_id)?,
        version,
        last_event_id: uuid("event_id", &event.event_id)?,
        updated_at: group.updated_at.or(group.created_at).unwrap_or_else(chrono::Utc::now),
        deleted_at: group.deleted_at,
        data: serde_json::to_value(&group).map_err(|e| permanent(e.to_string()))?,
    })
}

pub async fn handle(pool: &PgPool, body: &[u8]) -> Result<(), HandleError> {
    let (row, feed) = decode(body)?;
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let applied = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !crate::db::consumers::guard(conn, &[row.consumer_id]).await?.is_empty() {
                // A late event of a deleted consumer: dropped.
                return Ok(false);
            }
            let applied = groups::apply(conn, &row).await?;
            feed::append(conn, &[&feed]).await?;
            Ok(applied)
        })
        .await
        .map_err(HandleError::from_query)?;
    tracing::debug!(group = %row.id, version = row.version, applied, "group event projected");
    Ok(())
}
