//! The portal's stylesheet and script, compiled into the binary (no build step, nothing fetched).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../assets/portal.css");
const JS: &str = include_str!("../../assets/portal.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/portal.css", web::get().to(|| asset("text/css; charset=utf-8", CSS)))
        .route("/assets/portal.js", web::get().to(|| asset("text/javascript; charset=utf-8", JS)));
}

async fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}
