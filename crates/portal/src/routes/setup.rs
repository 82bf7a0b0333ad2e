//! The setup page a consumer's IT admin opens from a setup link: no sign-in; the Okta steps, the
//! Base URL and API token, and the directory's live status. An unknown, expired or revoked link
//! shows only an explanation.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;
use reqwest::Method;
use serde_json::json;

use super::consumers::{directory_status, okta_steps, status_card, status_line};
use super::page::{self, Section, copyable};
use crate::api::types::ResolvedSetupLink;
use crate::api::{ApiError, Apis, Service, encode};
use crate::error::PageError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup/{token}", web::get().to(show)).route("/setup/{token}/status", web::get().to(status));
}

/// The link's connection, or the page that explains why there is none.
async fn resolve(apis: &Apis, token: &str) -> Result<Result<ResolvedSetupLink, HttpResponse>, PageError> {
    let path = format!("/api/setup-links/{}", encode(token));
    match apis.fetch::<ResolvedSetupLink>(Service::ControlPlane, Method::GET, &path, None, None).await {
        Ok(link) => Ok(Ok(link)),
        Err(ApiError::Status { status: 404 | 400, .. }) => Ok(Err(page::message(
            StatusCode::NOT_FOUND,
            "Setup link not found",
            "This setup link does not exist. Ask whoever sent it for a new one.",
        ))),
        Err(ApiError::Status { status: 410, detail, .. }) => Ok(Err(page::message(
            StatusCode::GONE,
            "Setup link no longer valid",
            &format!("{}. Ask whoever sent it for a new one.", detail.trim_end_matches('.')),
        ))),
        Err(e) => Err(PageError::Api(e)),
    }
}

async fn show(apis: web::Data<Apis>, token: web::Path<String>) -> Result<HttpResponse, PageError> {
    let link = match resolve(&apis, &token).await? {
        Ok(link) => link,
        Err(explained) => return Ok(explained),
    };
    let status = directory_status(&apis, &link.metadata.api_token).await;
    let body = html! {
        h1 { "Connect your Okta" }
        p.muted { "This page gives your Okta the address and token to send your users and groups. It stays valid until " time datetime=(link.expires_at) { (link.expires_at) } "." }
        section.card {
            h2 { "Status" }
            div #live-status data-status-url={ "/setup/" (encode(&token)) "/status" } { (status_card(status.as_ref())) }
        }
        section.card {
            h2 { "1. Values to paste" }
            label for="base-url" { "SCIM connector base URL" }
            (copyable("base-url", "SCIM connector base URL", &link.metadata.base_url, false))
            label for="api-token" { "API token (Bearer)" }
            (copyable("api-token", "API token", &link.metadata.api_token, true))
        }
        section.card {
            h2 { "2. Steps in Okta" }
            (okta_steps(&link.metadata.base_url))
        }
    };
    Ok(page::render("Connect your Okta", None, Section::None, body))
}

/// `{"text"}`: the status line, for the page to refresh itself.
async fn status(apis: web::Data<Apis>, token: web::Path<String>) -> Result<HttpResponse, PageError> {
    let link = match resolve(&apis, &token).await? {
        Ok(link) => link,
        Err(_) => return Ok(HttpResponse::Gone().json(json!({"text": "This setup link is no longer valid."}))),
    };
    let status = directory_status(&apis, &link.metadata.api_token).await;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({ "text": status_line(status.as_ref()) })))
}
