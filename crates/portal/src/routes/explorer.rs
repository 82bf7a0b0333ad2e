//! The API Explorer at `/explorer/`: Swagger UI (its assets embedded in the binary at build time,
//! nothing fetched from the internet) with a dropdown of every service's OpenAPI document. The
//! browser loads each document from its API and sends "Try it out" requests there; each API lets
//! the portal's origin do so (`http.cors_origins`).

use actix_web::web;
use utoipa_swagger_ui::{Config, SwaggerUi, Url};

use crate::config::ServicesSection;

/// Where the Explorer is served.
pub const PATH: &str = "/explorer";

/// Swagger UI's configuration: built once at start-up, cloned into each HTTP worker.
pub fn config(services: &ServicesSection) -> Config<'static> {
    let urls: Vec<Url<'static>> = services
        .all()
        .into_iter()
        // Once per process; Swagger UI's configuration wants 'static text.
        .map(|(name, base)| Url::new(name, Box::leak(format!("{base}/openapi.json").into_boxed_str())))
        .collect();
    Config::new(urls)
        // The validator badge would send each document to swagger.io.
        .validator_url("none")
        .persist_authorization(true)
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .deep_linking(true)
        .filter(true)
}

pub fn configure(cfg: &mut web::ServiceConfig, config: Config<'static>) {
    cfg.service(SwaggerUi::new(format!("{PATH}/{{_:.*}}")).config(config));
}
