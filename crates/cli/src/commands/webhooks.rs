//! `uapi webhooks create|list|get|delete|rotate-secret|deliveries|retry|recover|listen`

use reqwest::Method;
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::WebhooksCommand;
use crate::error::CliError;
use crate::output;

const COLUMNS: [(&str, &str); 5] = [
    ("ID", "/id"),
    ("URL", "/deliveryUrl"),
    ("EVENTS", "/events"),
    ("STATUS", "/status"),
    ("DISABLED", "/disabledReason"),
];

const DELIVERY_COLUMNS: [(&str, &str); 7] = [
    ("ID", "/id"),
    ("EVENT", "/eventType"),
    ("ENTITY", "/entityId"),
    ("VERSION", "/version"),
    ("STATUS", "/status"),
    ("ATTEMPTS", "/attemptCount"),
    ("NEXT", "/nextAttemptAt"),
];

pub async fn run(ctx: &mut Ctx, cmd: WebhooksCommand) -> Result<(), CliError> {
    if let WebhooksCommand::Listen { port, secret } = cmd {
        return super::listen::run(port, &secret, ctx.json).await;
    }
    let token = ctx.app_token().await?;
    match cmd {
        WebhooksCommand::Create { url, events, disabled } => {
            let events: Vec<&str> = events.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
            let body = json!({
                "unifiedApi": "HRIS",
                "deliveryUrl": url,
                "events": events,
                "status": if disabled { "Disabled" } else { "Enabled" },
            });
            let res = ctx.api.call(Method::POST, &ctx.wh("/api/webhooks"), Some(&token), Some(&body)).await?;
            ctx.show(&res, |v| {
                output::record(v);
                eprintln!(
                    "The secret is shown only now; keep it to verify signatures (uapi webhooks listen --secret)."
                );
            });
        }
        WebhooksCommand::List(page) => ctx.list(&ctx.wh("/api/webhooks"), &token, &page, &COLUMNS).await?,
        WebhooksCommand::Get { id } => {
            let res = ctx.api.call(Method::GET, &ctx.wh(&format!("/api/webhooks/{id}")), Some(&token), None).await?;
            ctx.show(&res, output::record);
        }
        WebhooksCommand::Delete { id } => {
            ctx.api.call(Method::DELETE, &ctx.wh(&format!("/api/webhooks/{id}")), Some(&token), None).await?;
            ctx.show(&json!({ "deleted": id }), |_| println!("Deleted webhook {id}"));
        }
        WebhooksCommand::RotateSecret { id } => {
            let url = ctx.wh(&format!("/api/webhooks/{id}/rotate-secret"));
            let res = ctx.api.call(Method::POST, &url, Some(&token), Some(&json!({}))).await?;
            ctx.show(&res, output::record);
        }
        WebhooksCommand::Test { id } => {
            let url = ctx.wh(&format!("/api/webhooks/{id}/test"));
            let res = ctx.api.call(Method::POST, &url, Some(&token), None).await?;
            ctx.show(&res, |v: &Value| {
                println!("Test event sent: delivery {}", v["deliveryId"].as_str().unwrap_or("?"))
            });
        }
        WebhooksCommand::Deliveries { id, status, page } => {
            let url = match status {
                Some(s) => ctx.wh(&format!("/api/webhooks/{id}/deliveries?status={}", encode(&s))),
                None => ctx.wh(&format!("/api/webhooks/{id}/deliveries")),
            };
            ctx.list(&url, &token, &page, &DELIVERY_COLUMNS).await?;
        }
        WebhooksCommand::Retry { id, delivery_id } => {
            let url = ctx.wh(&format!("/api/webhooks/{id}/deliveries/{delivery_id}/retry"));
            let res = ctx.api.call(Method::POST, &url, Some(&token), Some(&json!({}))).await?;
            ctx.show(&res, |_| println!("Delivery {delivery_id} queued for another attempt"));
        }
        WebhooksCommand::Recover { id, since } => {
            let url = ctx.wh(&format!("/api/webhooks/{id}/recover"));
            let res = ctx.api.call(Method::POST, &url, Some(&token), Some(&json!({ "since": since }))).await?;
            ctx.show(&res, |v: &Value| println!("Re-queued {} deliveries since {since}", v["requeued"]));
        }
        WebhooksCommand::Listen { .. } => {}
    }
    Ok(())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
