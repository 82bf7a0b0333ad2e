//! `consumer.deleted`: the consumer's employees, groups and events feed are removed, and its
//! tombstone keeps them removed ([`crate::db::consumers`]): a late event of the consumer is
//! dropped, and its access tokens are refused ([`crate::routes::LiveConsumer`]).

use diesel_async::AsyncConnection;
use prost::Message;
use uapi_events::v1::ConsumerEvent;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;

use crate::projection::{permanent, uuid};

pub async fn handle(pool: &PgPool, body: &[u8]) -> Result<(), HandleError> {
    let event = ConsumerEvent::decode(body).map_err(|e| permanent(format!("not a ConsumerEvent: {e}")))?;
    let application = uuid("application_id", &event.application_id)?;
    let consumer = uuid("consumer_id", &event.consumer_id)?;
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let removed = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            crate::db::consumers::remove(conn, application, consumer).await
        })
        .await
        .map_err(HandleError::from_query)?;
    tracing::info!(
        %consumer,
        employees = removed.employees,
        groups = removed.groups,
        events = removed.events,
        "consumer deleted: its directory is removed"
    );
    Ok(())
}
