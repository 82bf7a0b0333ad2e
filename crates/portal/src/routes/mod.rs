//! The portal's pages: `/` leads to the API Explorer ([`explorer`]).

pub mod explorer;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use utoipa_swagger_ui::Config;

/// `explorer`: the API Explorer's configuration ([`explorer::config`]).
pub fn configure(cfg: &mut web::ServiceConfig, explorer: Config<'static>) {
    cfg.route("/", web::get().to(home)).route(explorer::PATH, web::get().to(explorer_root));
    explorer::configure(cfg, explorer);
}

async fn home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("{}/", explorer::PATH))).finish()
}

/// `/explorer` without its slash: Swagger UI's relative asset paths need it.
async fn explorer_root() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, format!("{}/", explorer::PATH))).finish()
}
