//! Consumers: list with paging, create, delete; a consumer's page with its tabs Connections and
//! Available; connecting Okta SCIM; a connection's metadata (copy, rotate, revoke), the Okta
//! steps, the directory's status and its setup links.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::{Posted, SignedIn, id};
use super::page::{self, Section, button_form, copyable, csrf, short};
use super::{done, failed_or};
use crate::api::types::{Connection, Connections, Consumer, CreatedSetupLink, DirectoryStatus, Page, SetupLink};
use crate::api::{Apis, Service, encode, read};
use crate::domain::session::{Flash, Session};
use crate::error::PageError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/consumers", web::get().to(list))
        .route("/consumers", web::post().to(create))
        .route("/consumers/{id}", web::get().to(show))
        .route("/consumers/{id}/delete", web::post().to(delete))
        .route("/consumers/{id}/connections", web::post().to(connect))
        .route("/consumers/{id}/connections/{connection}", web::get().to(connection))
        .route("/consumers/{id}/connections/{connection}/rotate-token", web::post().to(rotate))
        .route("/consumers/{id}/connections/{connection}/revoke", web::post().to(revoke))
        .route("/consumers/{id}/connections/{connection}/setup-links", web::post().to(share))
        .route("/consumers/{id}/connections/{connection}/setup-links/{link}/revoke", web::post().to(revoke_link));
}

/// A consumer of the session's application: another application's id is not found.
pub async fn consumer(apis: &Apis, session: &Session, consumer: Uuid) -> Result<Consumer, PageError> {
    let token = apis.application_token(session).await?;
    let path = format!("/api/consumers/{consumer}");
    Ok(apis.fetch(Service::ControlPlane, Method::GET, &path, Some(&token), None).await?)
}

/// A consumer-scope call for one of the session's consumers.
pub async fn as_consumer(
    apis: &Apis,
    session: &Session,
    consumer: Uuid,
    service: Service,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, PageError> {
    // The API refuses a token for another application's consumer (401): for this page, not found.
    let token = apis.consumer_token(session, consumer).await.map_err(|e| match e.status() {
        Some(401 | 403) => PageError::NotFound,
        _ => PageError::from(e),
    })?;
    Ok(apis.call(service, method, path, Some(&token), body).await?)
}

#[derive(Deserialize)]
struct Paging {
    cursor: Option<String>,
}

async fn list(
    SignedIn(session): SignedIn,
    apis: web::Data<Apis>,
    query: web::Query<Paging>,
) -> Result<HttpResponse, PageError> {
    let token = apis.application_token(&session).await?;
    let mut path = "/api/consumers?limit=25".to_owned();
    if let Some(cursor) = &query.cursor {
        path.push_str(&format!("&cursor={}", encode(cursor)));
    }
    let consumers: Page<Consumer> = apis.fetch(Service::ControlPlane, Method::GET, &path, Some(&token), None).await?;
    let body = html! {
        h1 { "Consumers" }
        p.muted { "Your customers. Each connects its own Okta, and its employees arrive here and at your webhooks." }
        section.card {
            h2 { "New consumer" }
            form.row method="post" action="/consumers" {
                (csrf(&session))
                div { label for="name" { "Name" } input #name name="name" required maxlength="200" placeholder="Acme Corp"; }
                div { label for="reference" { "Your reference (optional)" } input #reference name="reference" maxlength="200" placeholder="acme-42"; }
                button type="submit" { "Create consumer" }
            }
        }
        @if consumers.data.is_empty() {
            section.card.empty { p { "No consumer yet." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Reference" } th { "Id" } th { "Created" } } }
                tbody {
                    @for c in &consumers.data {
                        tr {
                            td { a href={ "/consumers/" (c.id) } { (c.name) } }
                            td { (c.reference.as_deref().unwrap_or("—")) }
                            td title=(c.id) { code { (short(&c.id.to_string())) } }
                            td { time datetime=(c.created_at) { (c.created_at) } }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if query.cursor.is_some() { a.button.secondary href="/consumers" { "← First page" } }
                @if let Some(next) = &consumers.meta.next { a.button.secondary href={ "/consumers?cursor=" (encode(next)) } { "Next page →" } }
            }
        }
    };
    Ok(page::render("Consumers", Some(&session), Section::Consumers, body))
}

async fn create(posted: Posted, apis: web::Data<Apis>) -> Result<HttpResponse, PageError> {
    let Posted { session, fields } = posted;
    let body = json!({ "name": fields.get("name").unwrap_or_default(), "reference": fields.get("reference") });
    let token = apis.application_token(&session).await?;
    match apis.call(Service::ControlPlane, Method::POST, "/api/consumers", Some(&token), Some(&body)).await {
        Ok(created) => {
            let c: Consumer = read(Service::ControlPlane, created)?;
            session
                .flash(Flash::Done(format!("Consumer {} created. Connect its Okta from the Available tab.", c.name)));
            Ok(page::see_other(&format!("/consumers/{}?tab=available", c.id)))
        }
        Err(e) => failed_or(&session, e.into(), "/consumers"),
    }
}

#[derive(Deserialize)]
struct Tab {
    tab: Option<String>,
}

async fn show(
    SignedIn(session): SignedIn,
    apis: web::Data<Apis>,
    path: web::Path<String>,
    query: web::Query<Tab>,
) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let c = consumer(&apis, &session, consumer_id).await?;
    let connections =
        as_consumer(&apis, &session, consumer_id, Service::ControlPlane, Method::GET, "/api/connections", None).await?;
    let connections: Connections = read(Service::ControlPlane, connections)?;
    let base = format!("/consumers/{consumer_id}");
    let available_tab = query.tab.as_deref() == Some("available");
    let body = html! {
        p.crumbs { a href="/consumers" { "Consumers" } " / " (c.name) }
        div.heading {
            h1 { (c.name) }
            div.actions {
                a.button.secondary href={ (base) "/employees" } { "Employees" }
                a.button.secondary href={ (base) "/groups" } { "Groups" }
                a.button.secondary href={ "/explorer-access/" (consumer_id) } { "Open in API Explorer" }
                (button_form(&session, &format!("{base}/delete"), "Delete", "danger",
                    Some("Delete this consumer? Its connections stop working.")))
            }
        }
        p.muted { "Id " code { (consumer_id) } @if let Some(r) = &c.reference { " · reference " code { (r) } } " · created " time datetime=(c.created_at) { (c.created_at) } }
        nav.tabs aria-label="Connections" {
            @if available_tab {
                a href=(base) { "Connections (" (connections.data.len()) ")" }
                a href={ (base) "?tab=available" } aria-current="page" { "Available (" (connections.available.len()) ")" }
            } @else {
                a href=(base) aria-current="page" { "Connections (" (connections.data.len()) ")" }
                a href={ (base) "?tab=available" } { "Available (" (connections.available.len()) ")" }
            }
        }
        @if available_tab {
            div.cards {
                @for i in &connections.available {
                    section.card.integration {
                        h2 { (i.name) }
                        p { "Okta pushes this consumer's users and groups over SCIM 2.0; you receive " code { "employee.*" } " and " code { "group.*" } " events." }
                        form method="post" action={ (base) "/connections" } {
                            (csrf(&session))
                            input type="hidden" name="serviceId" value=(i.service_id);
                            button type="submit" { "Connect " (i.name) }
                        }
                    }
                }
                @if connections.available.is_empty() { p.muted { "Every integration is connected." } }
            }
        } @else if connections.data.is_empty() {
            section.card.empty { p { "No connection yet. " a href={ (base) "?tab=available" } { "Connect Okta SCIM" } "." } }
        } @else {
            table {
                thead { tr { th { "Integration" } th { "Status" } th { "Id" } th { "Created" } } }
                tbody {
                    @for conn in &connections.data {
                        tr {
                            td { a href={ (base) "/connections/" (conn.id) } { (conn.service_id) } }
                            td { span.badge.ok { (conn.status) } }
                            td title=(conn.id) { code { (short(&conn.id.to_string())) } }
                            td { time datetime=(conn.created_at) { (conn.created_at) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page::render(&c.name, Some(&session), Section::Consumers, body))
}

async fn delete(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let token = apis.application_token(&posted.session).await?;
    let result = apis
        .call(Service::ControlPlane, Method::DELETE, &format!("/api/consumers/{consumer_id}"), Some(&token), None)
        .await;
    done(&posted.session, result.map_err(PageError::from), "Consumer deleted.", "/consumers")
}

async fn connect(posted: Posted, apis: web::Data<Apis>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let Posted { session, fields } = posted;
    consumer(&apis, &session, consumer_id).await?;
    let body = json!({ "serviceId": fields.get("serviceId").unwrap_or("okta-scim") });
    let back = format!("/consumers/{consumer_id}?tab=available");
    match as_consumer(
        &apis,
        &session,
        consumer_id,
        Service::ControlPlane,
        Method::POST,
        "/api/connections",
        Some(&body),
    )
    .await
    {
        Ok(created) => {
            let conn: Connection = read(Service::ControlPlane, created)?;
            session.flash(Flash::Done(
                "Connected. Give the Base URL and API token below to the consumer's Okta admin.".into(),
            ));
            Ok(page::see_other(&format!("/consumers/{consumer_id}/connections/{}", conn.id)))
        }
        Err(e) => failed_or(&session, e, &back),
    }
}

/// The directory's status, as scim-ingress sees it through the connection's own token.
pub async fn directory_status(apis: &Apis, api_token: &str) -> Option<DirectoryStatus> {
    match apis.fetch(Service::ScimIngress, Method::GET, "/api/scim/status", Some(api_token), None).await {
        Ok(status) => Some(status),
        // A new connection's token reaches scim-ingress over RabbitMQ: until it does, Okta cannot
        // have called either.
        Err(e) if e.status() == Some(401) => Some(DirectoryStatus::default()),
        Err(e) => {
            tracing::warn!(error = %e, "directory status unavailable");
            None
        }
    }
}

/// The Okta admin's steps (docs/scim.md), with the values to paste.
pub fn okta_steps(base_url: &str) -> Markup {
    html! {
        ol.steps {
            li { "In the Okta Admin Console, open " strong { "Applications → Browse App Catalog" } ", add " strong { "SCIM 2.0 Test App (OAuth Bearer Token)" } " (or open your SCIM app)." }
            li { "On " strong { "Provisioning → Integration" } ", set " strong { "SCIM connector base URL" } " to " code { (base_url) } " and " strong { "Unique identifier field for users" } " to " code { "userName" } "." }
            li { "Set " strong { "Authentication Mode" } " to " strong { "HTTP Header" } " and paste the API token as the " strong { "Bearer" } " token; " strong { "Test Connector Configuration" } " should pass." }
            li { "On " strong { "Provisioning → To App" } ", enable " strong { "Create Users" } ", " strong { "Update User Attributes" } " and " strong { "Deactivate Users" } "." }
            li { "Assign users (and push groups on " strong { "Push Groups" } "); they appear here within seconds." }
        }
    }
}

/// "waiting for Okta's first request" or "connected: N users, M groups, last push at T".
pub fn status_line(status: Option<&DirectoryStatus>) -> String {
    match status {
        None => "Status unavailable right now.".to_owned(),
        Some(s) if s.last_request_at.is_none() => "Waiting for Okta's first request.".to_owned(),
        Some(s) => {
            let push = s.last_push_at.as_deref().map(|t| format!(", last push at {}", readable(t))).unwrap_or_default();
            format!("Connected: {}, {}{push}.", count(s.users, "user"), count(s.groups, "group"))
        }
    }
}

/// Whether an RFC 3339 time is past.
fn expired(at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t < chrono::Utc::now())
}

fn count(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// An RFC 3339 time as `2026-12-07 09:30:12 UTC` (the text as given if it is not one).
fn readable(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

pub fn status_card(status: Option<&DirectoryStatus>) -> Markup {
    html! {
        p.status #directory-status role="status" { (status_line(status)) }
        @if let Some(s) = status {
            dl.facts {
                dt { "Last SCIM request" } dd { (s.last_request_at.as_deref().map(readable).unwrap_or_else(|| "never".to_owned())) }
                dt { "Users" } dd { (s.users) }
                dt { "Groups" } dd { (s.groups) }
            }
            @if !s.recent_errors.is_empty() {
                h3 { "Last SCIM errors" }
                table {
                    thead { tr { th { "When" } th { "Request" } th { "Status" } th { "Detail" } } }
                    tbody {
                        @for e in &s.recent_errors {
                            tr {
                                td { time datetime=(e.at) { (readable(&e.at)) } }
                                td { code { (e.method) " " (e.path) } }
                                td { (e.status) @if let Some(t) = &e.scim_type { " " code { (t) } } }
                                td { (e.detail.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn connection(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    apis: web::Data<Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, connection_id) = (id(&path.0)?, id(&path.1)?);
    let c = consumer(&apis, &session, consumer_id).await?;
    let api = format!("/api/connections/{connection_id}");
    let conn: Connection = read(
        Service::ControlPlane,
        as_consumer(&apis, &session, consumer_id, Service::ControlPlane, Method::GET, &api, None).await?,
    )?;
    let links = as_consumer(
        &apis,
        &session,
        consumer_id,
        Service::ControlPlane,
        Method::GET,
        &format!("{api}/setup-links"),
        None,
    )
    .await;
    let links: Vec<SetupLink> = match links {
        Ok(v) => read::<Page<SetupLink>>(Service::ControlPlane, v)?.data,
        Err(e) => {
            tracing::warn!(error = %e, "setup links unavailable");
            Vec::new()
        }
    };
    let status = directory_status(&apis, &conn.metadata.api_token).await;
    let base = format!("/consumers/{consumer_id}/connections/{connection_id}");
    let origin = origin(&req);
    let body = html! {
        p.crumbs { a href="/consumers" { "Consumers" } " / " a href={ "/consumers/" (consumer_id) } { (c.name) } " / Okta SCIM" }
        div.heading {
            h1 { "Okta SCIM " span.badge.ok { (conn.status) } }
            div.actions {
                (button_form(&session, &format!("{base}/rotate-token"), "Rotate token", "secondary",
                    Some("Issue a new API token? The current one stops working at once: Okta needs the new one.")))
                (button_form(&session, &format!("{base}/revoke"), "Revoke", "danger",
                    Some("Revoke this connection? Okta's requests get 401 from now on.")))
            }
        }
        section.card {
            h2 { "Connection metadata" }
            p.muted { "The consumer's Okta admin pastes these into the Okta SCIM app." }
            label for="base-url" { "Base URL" }
            (copyable("base-url", "Base URL", &conn.metadata.base_url, false))
            label for="api-token" { "API token" }
            (copyable("api-token", "API token", &conn.metadata.api_token, true))
        }
        section.card {
            h2 { "Directory status" }
            (status_card(status.as_ref()))
        }
        section.card {
            h2 { "Okta setup" }
            (okta_steps(&conn.metadata.base_url))
        }
        section.card {
            h2 { "Setup links" }
            p.muted { "A link for the consumer's IT admin: one page, no sign-in, with these steps, the Base URL and token, and live status. It grants nothing else." }
            form.row method="post" action={ (base) "/setup-links" } {
                (csrf(&session))
                div {
                    label for="expiresInHours" { "Valid for" }
                    select #expiresInHours name="expiresInHours" {
                        option value="24" { "1 day" }
                        option value="72" { "3 days" }
                        option value="168" selected { "7 days" }
                        option value="720" { "30 days" }
                    }
                }
                button type="submit" { "Share setup link" }
            }
            @if !links.is_empty() {
                table {
                    thead { tr { th { "Created" } th { "Expires" } th { "State" } th { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for l in &links {
                            tr {
                                td { time datetime=(l.created_at) { (l.created_at) } }
                                td { time datetime=(l.expires_at) { (l.expires_at) } }
                                @let expired = expired(&l.expires_at);
                                td {
                                    @if l.revoked_at.is_some() { span.badge.err { "revoked" } }
                                    @else if expired { span.badge { "expired" } }
                                    @else { span.badge.ok { "valid" } }
                                }
                                td {
                                    @if l.revoked_at.is_none() && !expired {
                                        (button_form(&session, &format!("{base}/setup-links/{}/revoke", l.id), "Revoke", "small danger", Some("Revoke this setup link?")))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { "Links open at " code { (origin) "/setup/…" } "." }
        }
    };
    Ok(page::render("Okta SCIM connection", Some(&session), Section::Consumers, body))
}

/// The portal's origin as the browser reached it, for links the session hands out.
fn origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn rotate(
    posted: Posted,
    apis: web::Data<Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, connection_id) = (id(&path.0)?, id(&path.1)?);
    let api = format!("/api/connections/{connection_id}/rotate-token");
    let result =
        as_consumer(&apis, &posted.session, consumer_id, Service::ControlPlane, Method::POST, &api, None).await;
    let back = format!("/consumers/{consumer_id}/connections/{connection_id}");
    done(
        &posted.session,
        result,
        "New API token issued: give it to the Okta admin (the old one no longer works).",
        &back,
    )
}

async fn revoke(
    posted: Posted,
    apis: web::Data<Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, connection_id) = (id(&path.0)?, id(&path.1)?);
    let api = format!("/api/connections/{connection_id}");
    let result =
        as_consumer(&apis, &posted.session, consumer_id, Service::ControlPlane, Method::DELETE, &api, None).await;
    done(&posted.session, result, "Connection revoked.", &format!("/consumers/{consumer_id}"))
}

async fn share(
    req: HttpRequest,
    posted: Posted,
    apis: web::Data<Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, connection_id) = (id(&path.0)?, id(&path.1)?);
    let Posted { session, fields } = posted;
    let hours = fields.get("expiresInHours").and_then(|h| h.parse::<u32>().ok()).unwrap_or(168);
    let api = format!("/api/connections/{connection_id}/setup-links");
    let back = format!("/consumers/{consumer_id}/connections/{connection_id}");
    let body = json!({ "expiresInHours": hours });
    match as_consumer(&apis, &session, consumer_id, Service::ControlPlane, Method::POST, &api, Some(&body)).await {
        Ok(created) => {
            let link: CreatedSetupLink = read(Service::ControlPlane, created)?;
            session.flash(Flash::Secret {
                what: format!("Setup link (valid until {})", link.expires_at),
                value: format!("{}/setup/{}", origin(&req), link.token),
            });
            Ok(page::see_other(&back))
        }
        Err(e) => failed_or(&session, e, &back),
    }
}

async fn revoke_link(
    posted: Posted,
    apis: web::Data<Apis>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, connection_id, link) = (id(&path.0)?, id(&path.1)?, id(&path.2)?);
    let api = format!("/api/connections/{connection_id}/setup-links/{link}");
    let result =
        as_consumer(&apis, &posted.session, consumer_id, Service::ControlPlane, Method::DELETE, &api, None).await;
    done(
        &posted.session,
        result,
        "Setup link revoked.",
        &format!("/consumers/{consumer_id}/connections/{connection_id}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(last_request_at: Option<&str>, users: i64, groups: i64) -> DirectoryStatus {
        DirectoryStatus {
            last_request_at: last_request_at.map(str::to_owned),
            last_push_at: last_request_at.map(str::to_owned),
            users,
            groups,
            recent_errors: Vec::new(),
        }
    }

    #[test]
    fn the_status_line_says_waiting_until_okta_calls_then_counts() {
        assert_eq!(status_line(None), "Status unavailable right now.");
        assert_eq!(status_line(Some(&status(None, 0, 0))), "Waiting for Okta's first request.");
        let at = Some("2026-12-07T09:30:12.123456Z");
        assert_eq!(
            status_line(Some(&status(at, 3, 1))),
            "Connected: 3 users, 1 group, last push at 2026-12-07 09:30:12 UTC."
        );
        assert_eq!(readable("not a time"), "not a time");
    }
}
