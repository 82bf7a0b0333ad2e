//! The portal's pages. Each handler calls the public APIs ([`crate::api`]) and renders HTML
//! ([`page`]); forms post back here with their CSRF token ([`extract::Posted`]) and end in a
//! redirect with a one-time message.

pub mod assets;
pub mod catalog;
pub mod consumers;
pub mod directory;
pub mod explorer;
pub mod extract;
pub mod page;
pub mod setup;
pub mod signin;
pub mod webhooks;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;
use utoipa_swagger_ui::Config;

use crate::api::ApiError;
use crate::domain::session::{Flash, Session};
use crate::error::PageError;

/// Every page; `explorer`: the API Explorer's configuration ([`explorer::config`]).
pub fn configure(cfg: &mut web::ServiceConfig, explorer: Config<'static>) {
    cfg.route("/", web::get().to(signin::home));
    assets::configure(cfg);
    signin::configure(cfg);
    webhooks::configure(cfg);
    consumers::configure(cfg);
    directory::configure(cfg);
    catalog::configure(cfg);
    setup::configure(cfg);
    explorer::configure(cfg, explorer);
    cfg.default_service(web::to(not_found));
}

async fn not_found() -> HttpResponse {
    page::message(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

/// After a form's API call: the message for the next page, and a redirect to `back`.
pub fn done(
    session: &Session,
    result: Result<Value, PageError>,
    text: &str,
    back: &str,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(_) => {
            session.flash(Flash::Done(text.to_owned()));
            Ok(page::see_other(back))
        }
        Err(e) => failed_or(session, e, back),
    }
}

/// An API's refusal of what the form sent (400, 409, 422) is shown on the form's page; anything
/// else is an error page.
pub fn failed_or(session: &Session, e: PageError, back: &str) -> Result<HttpResponse, PageError> {
    let refusal = match e {
        PageError::BadRequest(detail) => detail,
        PageError::Api(ApiError::Status { status: 409 | 422, title, detail }) => {
            if detail.is_empty() {
                title
            } else {
                detail
            }
        }
        other => return Err(other),
    };
    session.flash(Flash::Failed(refusal));
    Ok(page::see_other(back))
}
