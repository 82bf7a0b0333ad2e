//! `POST /api/webhooks/{id}/test`: a signed `webhook.test` event to one subscription, enabled or
//! disabled, as a delivery like any other (the delivery log, the claim, the attempt and its
//! signature, retries, the SSRF guard). Only the delivery row is made here; a worker sends it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;
use uapi_events::webhook::WebhookBody;
use uapi_platform::auth::AppPrincipal;
use uapi_platform::error::ApiResult;
use uapi_platform::openapi::{ReadErrors, Routes};
use utoipa::ToSchema;
use uuid::Uuid;

use super::webhooks::{not_found, owned};
use crate::db::deliveries::{self, NewDelivery};
use crate::events::WEBHOOK_TEST;
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.post("/api/webhooks/{id}/test", send);
}

/// What a test event's `data.message` says.
pub const MESSAGE: &str = "This is a test event from uapi-hris.";

/// The test event queued for delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TestEventSent {
    /// Its delivery, in `GET /api/webhooks/{id}/deliveries` and retried like any other.
    delivery_id: Uuid,
    /// The event's id: its `webhook-id` header and the body's `eventId`.
    event_id: Uuid,
    #[schema(example = "webhook.test")]
    event_type: &'static str,
}

/// The test event's webhook body: the envelope of every other event, about the subscription
/// itself. It belongs to no consumer, so `serviceId`, `consumerId` and `connectionId` are empty;
/// test events are no versions of anything, so `version` is always 1.
fn body(webhook: Uuid, event_id: Uuid, at: DateTime<Utc>) -> serde_json::Result<String> {
    let entity_id = webhook.to_string();
    serde_json::to_string(&WebhookBody {
        event_id,
        event_type: WEBHOOK_TEST,
        unified_api: "hris",
        service_id: "",
        consumer_id: "",
        connection_id: "",
        entity_id: &entity_id,
        entity_type: "webhook",
        occurred_at: Some(at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        version: 1,
        changed_fields: &[],
        data: json!({ "webhookId": webhook, "message": MESSAGE }),
    })
}

/// Send a signed `webhook.test` event to the subscription, even a disabled one (to check its
/// endpoint before enabling it). It is delivered and retried like any other event, and listed in
/// the delivery log; its `data` is `{"webhookId", "message"}`.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/test",
    operation_id = "testWebhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    responses(
        (status = 202, description = "Queued: a worker sends it within `webhooks.poll_interval_ms`.", body = TestEventSent),
        ReadErrors
    )
)]
pub(crate) async fn send(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let sub = owned(&state, &who, *id).await?;
    let event_id = Uuid::now_v7();
    let body = body(sub.id, event_id, Utc::now()).map_err(anyhow::Error::from)?;
    let entity_id = sub.id.to_string();
    let delivery = NewDelivery {
        id: Uuid::now_v7(),
        subscription_id: sub.id,
        application_id: who.application_id,
        event_id,
        event_type: WEBHOOK_TEST,
        entity_id: &entity_id,
        version: 1,
        body: &body,
    };
    let mut conn = state.pool.get().await?;
    if !deliveries::insert(&mut conn, &delivery).await? {
        return Err(not_found(sub.id));
    }
    tracing::info!(webhook = %sub.id, delivery = %delivery.id, event = %event_id, "test event queued");
    Ok(HttpResponse::Accepted().json(TestEventSent { delivery_id: delivery.id, event_id, event_type: WEBHOOK_TEST }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_envelope_of_every_event() {
        let (webhook, event) = (Uuid::now_v7(), Uuid::now_v7());
        let at = DateTime::parse_from_rfc3339("2026-12-07T08:00:00.123456Z").expect("time").with_timezone(&Utc);
        let body: serde_json::Value = serde_json::from_str(&body(webhook, event, at).expect("body")).expect("json");
        assert_eq!(
            body,
            json!({
                "eventId": event, "eventType": "webhook.test", "unifiedApi": "hris", "serviceId": "",
                "consumerId": "", "connectionId": "", "entityId": webhook, "entityType": "webhook",
                "occurred_at": "2026-12-07T08:00:00.123Z", "version": 1, "changedFields": [],
                "data": { "webhookId": webhook, "message": MESSAGE },
            })
        );
    }
}
