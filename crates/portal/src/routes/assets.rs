//! The portal's stylesheets and scripts (its pages', and the API Explorer's additions), compiled
//! into the binary (no build step, nothing fetched).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../assets/portal.css");
const JS: &str = include_str!("../../assets/portal.js");
const EXPLORER_CSS: &str = include_str!("../../assets/explorer.css");
const EXPLORER_JS: &str = include_str!("../../assets/explorer.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/portal.css", web::get().to(|| asset("text/css; charset=utf-8", CSS)))
        .route("/assets/portal.js", web::get().to(|| asset("text/javascript; charset=utf-8", JS)))
        .route("/assets/explorer.css", web::get().to(|| asset("text/css; charset=utf-8", EXPLORER_CSS)))
        .route("/assets/explorer.js", web::get().to(|| asset("text/javascript; charset=utf-8", EXPLORER_JS)));
}

async fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}
