//! The event catalog: every event type a webhook can take, with an example body and the JSON
//! schemas of the body and of an employee. Public: it documents the contract, nothing more.

use actix_web::{HttpResponse, web};
use maud::html;

use super::extract::SignedIn;
use super::page::{self, Section, pretty};
use crate::domain::catalog;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(show));
}

async fn show(session: Option<SignedIn>) -> HttpResponse {
    let types = catalog::event_types();
    let schemas = catalog::schemas();
    let body = html! {
        h1 { "Event catalog" }
        p.muted {
            "Every event a webhook subscription can receive. Each is POSTed as JSON, signed with Standard Webhooks headers ("
            code { "webhook-id" } ", " code { "webhook-timestamp" } ", " code { "webhook-signature" } "); the same bodies are readable at "
            code { "GET /api/hris/events" } "."
        }
        nav.toc aria-label="Event types" {
            ul { @for t in &types { li { a href={ "#" (t.name) } { code { (t.name) } } } } }
        }
        @for t in &types {
            section.card #(t.name) {
                h2 { code { (t.name) } }
                p { (t.summary) }
                details {
                    summary { "Example body" }
                    (pretty(&t.example))
                }
            }
        }
        section.card #schemas {
            h2 { "JSON schemas" }
            p { "The body (" code { "WebhookBody" } ") and an employee (its " code { "data" } " in " code { "employee.*" } " events), as in the OpenAPI documents." }
            details { summary { "Schemas" } (pretty(&schemas)) }
        }
    };
    let session = session.map(|SignedIn(s)| s);
    page::render("Event catalog", session.as_deref(), Section::Events, body)
}
