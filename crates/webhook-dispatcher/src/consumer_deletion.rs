//! `consumer.deleted`: the consumer's pending deliveries are cancelled (failed, with an attempt
//! row saying why) and its later events are not fanned out ([`crate::fanout::handle`]).

use prost::Message;
use uapi_events::v1::ConsumerEvent;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uuid::Uuid;

pub async fn handle(pool: &PgPool, body: &[u8]) -> Result<(), HandleError> {
    let event = ConsumerEvent::decode(body).map_err(|e| HandleError::Permanent(format!("not a ConsumerEvent: {e}")))?;
    let id = |field: &str, s: &str| {
        Uuid::parse_str(s).map_err(|_| HandleError::Permanent(format!("{field} is not a UUID: {s:?}")))
    };
    let (application, consumer) =
        (id("application_id", &event.application_id)?, id("consumer_id", &event.consumer_id)?);
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let cancelled =
        diesel_async::AsyncConnection::transaction::<_, diesel::result::Error, _>(&mut conn, async |conn| {
            crate::db::consumers::remove(conn, application, consumer).await
        })
        .await
        .map_err(HandleError::from_query)?;
    tracing::info!(%consumer, cancelled, "consumer deleted: its pending deliveries are cancelled");
    Ok(())
}
