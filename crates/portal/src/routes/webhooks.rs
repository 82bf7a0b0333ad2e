//! Webhooks: list, create, edit, enable or disable, delete, rotate the signing secret, send a test
//! event, and each subscription's delivery log with retry and recover (webhook-dispatcher's API,
//! application scope).

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uapi_events::routing;

use super::extract::{Fields, Posted, SignedIn, id};
use super::page::{self, Section, button_form, csrf, short};
use super::{done, failed_or};
use crate::api::types::{Delivery, Page, Webhook};
use crate::api::{Apis, Service, encode};
use crate::domain::session::{Flash, Session};
use crate::error::PageError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/new", web::get().to(new))
        .route("/webhooks/{id}", web::get().to(show))
        .route("/webhooks/{id}", web::post().to(update))
        .route("/webhooks/{id}/status", web::post().to(set_status))
        .route("/webhooks/{id}/delete", web::post().to(delete))
        .route("/webhooks/{id}/rotate-secret", web::post().to(rotate))
        .route("/webhooks/{id}/test", web::post().to(test))
        .route("/webhooks/{id}/recover", web::post().to(recover))
        .route("/webhooks/{id}/deliveries/{delivery}/retry", web::post().to(retry));
}

async fn call(
    apis: &Apis,
    session: &Session,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, PageError> {
    let token = apis.application_token(session).await?;
    Ok(apis.call(Service::WebhookDispatcher, method, path, Some(&token), body).await?)
}

async fn fetch<T: serde::de::DeserializeOwned>(apis: &Apis, session: &Session, path: &str) -> Result<T, PageError> {
    let token = apis.application_token(session).await?;
    Ok(apis.fetch(Service::WebhookDispatcher, Method::GET, path, Some(&token), None).await?)
}

fn status_badge(status: &str) -> Markup {
    let class = match status {
        "Enabled" | "succeeded" => "badge ok",
        "Disabled" | "failed" => "badge err",
        _ => "badge",
    };
    html! { span class=(class) { (status) } }
}

async fn list(SignedIn(session): SignedIn, apis: web::Data<Apis>) -> Result<HttpResponse, PageError> {
    let hooks: Page<Webhook> = fetch(&apis, &session, "/api/webhooks?limit=200").await?;
    let body = html! {
        div.heading {
            h1 { "Webhooks" }
            a.button href="/webhooks/new" { "New webhook" }
        }
        p.muted { "Each subscription receives the HRIS events it lists, signed with its secret (Standard Webhooks)." }
        @if hooks.data.is_empty() {
            section.card.empty {
                p { "No webhook yet. Create one to receive " code { "employee.*" } " and " code { "group.*" } " events." }
            }
        } @else {
            table {
                thead { tr { th { "Delivery URL" } th { "Events" } th { "Status" } th { "Created" } } }
                tbody {
                    @for h in &hooks.data {
                        tr {
                            td { a href={ "/webhooks/" (h.id) } { (h.delivery_url) } }
                            td { (h.events.join(", ")) }
                            td { (status_badge(&h.status)) }
                            td { time datetime=(h.created_at) { (h.created_at) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page::render("Webhooks", Some(&session), Section::Webhooks, body))
}

/// The event-type picker: every type of the catalog, or all (`*`).
fn event_picker(selected: &[String]) -> Markup {
    let all = selected.iter().any(|e| e == "*");
    html! {
        fieldset.events {
            legend { "Events " a href="/events" target="_blank" { "(catalog)" } }
            label.check { input type="checkbox" name="events" value="*" checked[all]; " All events, present and future (" code { "*" } ")" }
            @for t in routing::EMPLOYEE_AND_GROUP {
                label.check {
                    input type="checkbox" name="events" value=(t) checked[!all && selected.iter().any(|e| e == t)];
                    " " code { (t) }
                }
            }
        }
    }
}

async fn new(SignedIn(session): SignedIn) -> HttpResponse {
    let body = html! {
        p.crumbs { a href="/webhooks" { "Webhooks" } " / New" }
        h1 { "New webhook" }
        section.card {
            form method="post" action="/webhooks" {
                (csrf(&session))
                label for="unifiedApi" { "Unified API" }
                select #unifiedApi name="unifiedApi" { option value="HRIS" selected { "HRIS" } }
                label for="deliveryUrl" { "Delivery URL" }
                input #deliveryUrl name="deliveryUrl" type="url" required placeholder="https://example.com/webhooks/uapi";
                (event_picker(&["*".to_owned()]))
                label.check { input type="checkbox" name="enabled" value="true" checked; " Enabled" }
                button type="submit" { "Create webhook" }
            }
        }
    };
    page::render("New webhook", Some(&session), Section::Webhooks, body)
}

fn events_of(fields: &Fields) -> Vec<&str> {
    let events = fields.all("events");
    if events.contains(&"*") { vec!["*"] } else { events }
}

async fn create(posted: Posted, apis: web::Data<Apis>) -> Result<HttpResponse, PageError> {
    let Posted { session, fields } = posted;
    let body = json!({
        "unifiedApi": fields.get("unifiedApi").unwrap_or("HRIS"),
        "deliveryUrl": fields.get("deliveryUrl").unwrap_or_default(),
        "events": events_of(&fields),
        "status": if fields.get("enabled").is_some() { "Enabled" } else { "Disabled" },
    });
    match call(&apis, &session, Method::POST, "/api/webhooks", Some(&body)).await {
        Ok(created) => {
            let hook: Webhook = crate::api::read(Service::WebhookDispatcher, created)?;
            if let Some(secret) = hook.secret {
                session.flash(Flash::Secret { what: "Signing secret".into(), value: secret });
            }
            Ok(page::see_other(&format!("/webhooks/{}", hook.id)))
        }
        Err(e) => failed_or(&session, e, "/webhooks/new"),
    }
}

#[derive(Deserialize)]
struct LogQuery {
    status: Option<String>,
    cursor: Option<String>,
}

async fn show(
    SignedIn(session): SignedIn,
    apis: web::Data<Apis>,
    path: web::Path<String>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let hook: Webhook = fetch(&apis, &session, &format!("/api/webhooks/{hook_id}")).await?;
    let filter = query.status.as_deref().filter(|s| matches!(*s, "pending" | "succeeded" | "failed"));
    let mut log_path = format!("/api/webhooks/{hook_id}/deliveries?limit=50");
    if let Some(status) = filter {
        log_path.push_str(&format!("&status={status}"));
    }
    if let Some(cursor) = &query.cursor {
        log_path.push_str(&format!("&cursor={}", encode(cursor)));
    }
    let log: Page<Delivery> = fetch(&apis, &session, &log_path).await?;
    let base = format!("/webhooks/{hook_id}");
    let enabled = hook.status == "Enabled";
    let body = html! {
        p.crumbs { a href="/webhooks" { "Webhooks" } " / " (short(&hook_id.to_string())) }
        div.heading {
            h1 { "Webhook " (status_badge(&hook.status)) }
            div.actions {
                (button_form(&session, &format!("{base}/test"), "Send test event", "", None))
                form.inline method="post" action={ (base) "/status" } {
                    (csrf(&session))
                    input type="hidden" name="status" value=(if enabled { "Disabled" } else { "Enabled" });
                    button.secondary type="submit" { (if enabled { "Disable" } else { "Enable" }) }
                }
                (button_form(&session, &format!("{base}/rotate-secret"), "Rotate secret", "secondary",
                    Some("Rotate the signing secret? The old one keeps verifying for a short overlap.")))
                (button_form(&session, &format!("{base}/delete"), "Delete", "danger",
                    Some("Delete this webhook? Its pending deliveries stop.")))
            }
        }
        @if let Some(reason) = &hook.disabled_reason { div.notice.err { "Disabled: " (reason) } }
        section.card {
            h2 { "Settings" }
            form method="post" action=(base) {
                (csrf(&session))
                label for="deliveryUrl" { "Delivery URL" }
                input #deliveryUrl name="deliveryUrl" type="url" required value=(hook.delivery_url);
                (event_picker(&hook.events))
                p.muted { "Id " code { (hook_id) } " · created " time datetime=(hook.created_at) { (hook.created_at) } }
                button type="submit" { "Save" }
            }
        }
        section.card {
            div.heading {
                h2 #log { "Delivery log" }
                nav.filters aria-label="Delivery status" {
                    @for (value, label) in [(None, "All"), (Some("pending"), "Pending"), (Some("succeeded"), "Succeeded"), (Some("failed"), "Failed")] {
                        @let href = match value { Some(v) => format!("{base}?status={v}#log"), None => format!("{base}#log") };
                        @if value == filter { a.current href=(href) aria-current="true" { (label) } } @else { a href=(href) { (label) } }
                    }
                }
            }
            @if log.data.is_empty() {
                p.muted { "No delivery yet." }
            } @else {
                table.log {
                    thead { tr { th { "Event" } th { "Entity" } th { "Status" } th { "Attempts" } th { "Created" } th { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for d in &log.data { (delivery_row(&session, &base, d)) }
                    }
                }
            }
            @if let Some(next) = &log.meta.next {
                p { a.button.secondary href={ (base) "?cursor=" (encode(next)) (filter.map(|s| format!("&status={s}")).unwrap_or_default()) "#log" } { "Older deliveries →" } }
            }
            form.inline-form method="post" action={ (base) "/recover" } {
                (csrf(&session))
                label for="since" { "Recover failed deliveries since (UTC)" }
                input #since name="since" type="datetime-local" required;
                button.secondary type="submit" { "Recover" }
            }
        }
    };
    Ok(page::render("Webhook", Some(&session), Section::Webhooks, body))
}

fn delivery_row(session: &Session, base: &str, d: &Delivery) -> Markup {
    html! {
        tr data-delivery=(d.id) {
            td { code { (d.event_type) } }
            td title=(d.entity_id) { code { (short(&d.entity_id)) } }
            td {
                (status_badge(&d.status))
                @if let Some(next) = &d.next_attempt_at { br; small.muted { "next " time datetime=(next) { (next) } } }
            }
            td {
                @if d.attempts.is_empty() { (d.attempt_count) } @else {
                    details {
                        summary { (d.attempt_count) " attempt" @if d.attempt_count != 1 { "s" } }
                        table.attempts {
                            thead { tr { th { "When" } th { "HTTP" } th { "Latency" } th { "Error / response" } } }
                            tbody {
                                @for a in &d.attempts {
                                    tr {
                                        td { time datetime=(a.attempted_at) { (a.attempted_at) } }
                                        td { @if let Some(code) = a.status_code { (code) } @else { "—" } }
                                        td { (a.latency_ms) " ms" }
                                        td { @if let Some(e) = &a.error { (e) } @else if let Some(r) = &a.response_body { code { (r) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            td { time datetime=(d.created_at) { (d.created_at) } }
            td {
                @if d.status != "pending" {
                    (button_form(session, &format!("{base}/deliveries/{}/retry", d.id), "Retry", "small secondary", None))
                }
            }
        }
    }
}

async fn update(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let Posted { session, fields } = posted;
    let body = json!({ "deliveryUrl": fields.get("deliveryUrl").unwrap_or_default(), "events": events_of(&fields) });
    let result = call(&apis, &session, Method::PATCH, &format!("/api/webhooks/{hook_id}"), Some(&body)).await;
    done(&session, result, "Saved.", &format!("/webhooks/{hook_id}"))
}

/// Sets the status the form shows as the other one, so a second submit changes nothing.
async fn set_status(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let Posted { session, fields } = posted;
    let to = if fields.get("status") == Some("Disabled") { "Disabled" } else { "Enabled" };
    let result =
        call(&apis, &session, Method::PATCH, &format!("/api/webhooks/{hook_id}"), Some(&json!({"status": to}))).await;
    done(&session, result, &format!("The webhook is {}.", to.to_lowercase()), &format!("/webhooks/{hook_id}"))
}

async fn delete(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let result = call(&apis, &posted.session, Method::DELETE, &format!("/api/webhooks/{hook_id}"), None).await;
    done(&posted.session, result, "Webhook deleted.", "/webhooks")
}

async fn rotate(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let session = posted.session;
    let rotated = call(&apis, &session, Method::POST, &format!("/api/webhooks/{hook_id}/rotate-secret"), None).await?;
    if let Some(secret) = rotated.get("secret").and_then(Value::as_str) {
        session.flash(Flash::Secret { what: "New signing secret".into(), value: secret.to_owned() });
    }
    Ok(page::see_other(&format!("/webhooks/{hook_id}")))
}

async fn test(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let result = call(&apis, &posted.session, Method::POST, &format!("/api/webhooks/{hook_id}/test"), None).await;
    done(
        &posted.session,
        result,
        "Test event sent: it shows in the delivery log below.",
        &format!("/webhooks/{hook_id}#log"),
    )
}

async fn retry(
    posted: Posted,
    apis: web::Data<Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (hook_id, delivery) = (id(&path.0)?, id(&path.1)?);
    let result = call(
        &apis,
        &posted.session,
        Method::POST,
        &format!("/api/webhooks/{hook_id}/deliveries/{delivery}/retry"),
        None,
    )
    .await;
    done(&posted.session, result, "Retry scheduled.", &format!("/webhooks/{hook_id}#log"))
}

async fn recover(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let hook_id = id(&path)?;
    let Posted { session, fields } = posted;
    let back = format!("/webhooks/{hook_id}#log");
    // `datetime-local` sends `YYYY-MM-DDTHH:MM`; the form says UTC.
    let since = fields.get("since").and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok());
    let Some(since) = since else {
        session.flash(Flash::Failed("Pick a date and time to recover from.".into()));
        return Ok(page::see_other(&back));
    };
    let body = json!({ "since": since.and_utc().to_rfc3339() });
    let result = call(&apis, &session, Method::POST, &format!("/api/webhooks/{hook_id}/recover"), Some(&body)).await;
    let text = match &result {
        Ok(v) => match v.get("requeued").and_then(Value::as_i64) {
            Some(1) => "1 delivery scheduled again.".to_owned(),
            Some(n) => format!("{n} deliveries scheduled again."),
            None => "Deliveries scheduled again.".to_owned(),
        },
        Err(_) => String::new(),
    };
    done(&session, result, &text, &back)
}
