//! `/api/webhooks*` (application scope): subscriptions, their test events and their delivery log.

pub mod deliveries;
pub mod test_event;
pub mod webhooks;

use actix_web::web;
use uapi_platform::openapi::{BearerAuth, Routes};
use uapi_platform::problem::Problem;
use utoipa::OpenApi;

/// webhook-dispatcher's OpenAPI document, served at `GET /openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "uapi-hris webhooks",
        description = "Webhook subscriptions of an application and their delivery log. Every route \
                       takes an application-scope token from control-plane's `POST /api/auth`."
    ),
    paths(
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate_secret, test_event::send,
        deliveries::list, deliveries::retry, deliveries::recover
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "webhooks", description = "Subscriptions: where events go, their signing secret, and test events."),
        (name = "deliveries", description = "Each event's delivery to a subscription, with its attempts.")
    )
)]
pub struct ApiDoc;

/// Serves the document and every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    uapi_platform::openapi::serve(cfg, &ApiDoc::openapi());
    register(&mut Routes::new(cfg));
}

/// Every route of the API; [`ApiDoc`] describes each (a test holds the two together).
pub fn register(routes: &mut Routes<'_>) {
    webhooks::register(routes);
    test_event::register(routes);
    deliveries::register(routes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_exactly_the_registered_routes() {
        let findings = uapi_platform::openapi::verify(&ApiDoc::openapi(), register, |_| "application/problem+json");
        assert!(findings.is_empty(), "{findings:#?}");
    }
}
