//! HTTP routes of the control plane, one module per resource.

pub mod admin;
pub mod auth;
pub mod connections;
pub mod consumers;
pub mod setup_links;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use uapi_platform::openapi::{AdminAuth, BearerAuth, Routes};
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::OpenApi;

/// control-plane's OpenAPI document, served at `GET /openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "uapi-hris control-plane",
        description = "Applications, API keys and tokens, consumers and their connections. \
                       `POST /api/auth` turns an API key into a bearer token: application scope for \
                       `/api/consumers`, consumer scope for `/api/connections`."
    ),
    paths(
        auth::authenticate,
        consumers::create, consumers::list, consumers::get, consumers::delete,
        connections::list, connections::create, connections::get, connections::delete, connections::rotate_token,
        setup_links::create, setup_links::list, setup_links::revoke, setup_links::open,
        admin::create_application, admin::republish_connections
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth, &AdminAuth),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "API keys become bearer tokens."),
        (name = "consumers", description = "The application's customers (application scope)."),
        (name = "connections", description = "A consumer's integrations and their credentials (consumer scope)."),
        (name = "setup-links", description = "Time-limited, revocable links that show a connection's SCIM \
                                              credentials to the consumer's IT admin, who does not sign in."),
        (name = "admin", description = "Operator bootstrap (admin token).")
    )
)]
pub struct ApiDoc;

/// Serves the document and every control-plane route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    uapi_platform::openapi::serve(cfg, &ApiDoc::openapi());
    register(&mut Routes::new(cfg));
}

/// Every route of the API; [`ApiDoc`] describes each (a test holds the two together).
pub fn register(routes: &mut Routes<'_>) {
    admin::register(routes);
    auth::register(routes);
    consumers::register(routes);
    connections::register(routes);
    setup_links::register(routes);
}

/// Trims a required text field and checks its length, naming the field in the error.
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String, uapi_platform::problem::Problem> {
    let value = value.trim();
    if value.is_empty() {
        return Err(uapi_platform::problem::Problem::validation(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(uapi_platform::problem::Problem::validation(format!("`{field}` must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// A JSON body a route may go without. No body (no or a zero `Content-Length`, nothing chunked) and
/// a JSON `null` are `None`; any other body is read as [`JsonBody`] reads it, with its limit and its
/// problems.
pub(crate) struct OptionalJsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let length = headers.get(header::CONTENT_LENGTH).map(|v| v.as_bytes());
        if length == Some(b"0") || (length.is_none() && !headers.contains_key(header::TRANSFER_ENCODING)) {
            return Box::pin(std::future::ready(Ok(Self(None))));
        }
        let body = JsonBody::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(Self(body.await?.into_inner())) })
    }
}
