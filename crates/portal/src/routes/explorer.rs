//! The API Explorer at `/explorer/`: Swagger UI (its assets embedded in the binary at build time,
//! nothing fetched from the internet) with a dropdown of every service's OpenAPI document. The
//! portal serves each document (`/explorer/docs/{slug}.json`, fetched from its API, `servers` set
//! to the API's public URL); the browser sends "Try it out" requests to the API, which lets the
//! portal's origin do so (`http.cors_origins`).
//!
//! "Open in API Explorer" on a consumer's page goes through `/explorer-access/{consumer}`: a page
//! whose script asks the portal (with the session's cookie and CSRF token) for that consumer's
//! short-lived access token, stores it where Swagger UI keeps its authorization, and opens the
//! Explorer on the HRIS document (its first), so listing employees is one "Execute".

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
use maud::html;
use serde_json::json;
use utoipa_swagger_ui::{Config, SwaggerUi, SyntaxHighlight, Url};

use super::consumers::consumer;
use super::extract::{Posted, SignedIn, id};
use super::page::{self, Section};
use crate::api::{Apis, Service};
use crate::config::ServicesSection;
use crate::error::PageError;

/// Where the Explorer is served.
pub const PATH: &str = "/explorer";

/// The document "Open in API Explorer" shows first.
pub const HRIS_DOCUMENT: &str = "employee-store (HRIS)";

/// The documents the Explorer offers: the dropdown's name, the slug it is served under
/// (`/explorer/docs/{slug}.json`) and its API.
const DOCUMENTS: [(&str, &str, Service); 4] = [
    ("control-plane", "control-plane", Service::ControlPlane),
    (HRIS_DOCUMENT, "employee-store", Service::EmployeeStore),
    ("webhook-dispatcher (webhooks)", "webhook-dispatcher", Service::WebhookDispatcher),
    ("scim-ingress (SCIM)", "scim-ingress", Service::ScimIngress),
];

/// Each API's URL as the browser reaches it: the `servers` of the documents the portal serves.
pub struct PublicServices(pub ServicesSection);

/// Swagger UI's configuration: built once at start-up, cloned into each HTTP worker.
pub fn config() -> Config<'static> {
    let urls: Vec<Url<'static>> = DOCUMENTS
        .into_iter()
        .map(|(name, slug, _)| {
            // Once per process; Swagger UI's configuration wants 'static text.
            let url: &'static str = Box::leak(format!("{PATH}/docs/{slug}.json").into_boxed_str());
            Url::with_primary(name, url, name == HRIS_DOCUMENT)
        })
        .collect();
    Config::new(urls)
        // The validator badge would send each document to swagger.io.
        .validator_url("none")
        .persist_authorization(true)
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .filter(true)
        // A deep link is an anchor inside each operation's toggle button: nested controls that
        // assistive technology cannot reach.
        .deep_linking(false)
        // Its colour themes put some tokens below readable contrast on their dark background.
        .with_syntax_highlight(SyntaxHighlight::default().activated(false))
    // Query-string configuration stays off: `?url=` or `?config=` would let a link load another
    // site's document into a page that holds an access token.
}

pub fn configure(cfg: &mut web::ServiceConfig, config: Config<'static>) {
    // Swagger UI's own page may not be framed either, nor leak its URL.
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"));
    cfg.route(PATH, web::get().to(explorer_root))
        .route("/explorer-access/{consumer}", web::get().to(access))
        .route("/session/explorer-token", web::post().to(token))
        .service(
            web::scope(PATH)
                .wrap(headers)
                .route("/", web::get().to(page))
                .route("/docs/{slug}.json", web::get().to(document))
                .service(SwaggerUi::new("/{_:.*}").config(config)),
        );
}

/// An API's document, served from the portal's origin (the APIs may share one host, where each
/// `/openapi.json` is the same path) with `servers` set to where the browser reaches that API, so
/// "Try it out" calls it there.
async fn document(
    slug: web::Path<String>,
    apis: web::Data<Apis>,
    public: web::Data<PublicServices>,
) -> Result<HttpResponse, PageError> {
    let service = DOCUMENTS.iter().find(|(_, s, _)| *s == slug.as_str()).map(|(_, _, service)| *service);
    let service = service.ok_or(PageError::NotFound)?;
    let mut doc = apis.call(service, reqwest::Method::GET, "/openapi.json", None, None).await?;
    if let Some(doc) = doc.as_object_mut() {
        doc.insert("servers".into(), json!([{ "url": public.0.of(service) }]));
    }
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-cache")).json(doc))
}

/// Swagger UI's own page, with the portal's header and the accessibility fixes of
/// `assets/explorer.{css,js}` (Swagger UI leaves icon buttons and selects unnamed).
async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(include_str!("../../assets/explorer.html"))
}

/// `/explorer` without its slash: Swagger UI's relative asset paths need it.
async fn explorer_root() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((actix_web::http::header::LOCATION, format!("{PATH}/"))).finish()
}

async fn access(
    SignedIn(session): SignedIn,
    apis: web::Data<Apis>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let c = consumer(&apis, &session, consumer_id).await?;
    // The HRIS document is the Explorer's first.
    let target = format!("{PATH}/");
    let body = html! {
        section.card.message #explorer-access data-consumer=(consumer_id) data-target=(target) {
            h1 { "Opening the API Explorer" }
            p role="status" { "Authorizing the Explorer for " strong { (c.name) } "…" }
            noscript { p { "The API Explorer needs JavaScript." } }
        }
    };
    Ok(page::render("API Explorer", Some(&session), Section::Consumers, body))
}

/// `{"accessToken","consumerId"}`: a consumer-scope token for the Explorer, to a page of the session.
async fn token(posted: Posted, apis: web::Data<Apis>) -> Result<HttpResponse, PageError> {
    let consumer_id = id(posted.fields.get("consumer").unwrap_or_default())?;
    consumer(&apis, &posted.session, consumer_id).await?;
    let token = apis.consumer_token(&posted.session, consumer_id).await.map_err(|_| PageError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "accessToken": token, "consumerId": consumer_id })))
}
