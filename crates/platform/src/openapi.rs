//! OpenAPI 3.1 documents generated from the code: each handler carries `#[utoipa::path]`, each body
//! type derives `ToSchema`, and a service lists its handlers in one `#[derive(OpenApi)]` type that
//! it serves at `GET /openapi.json`. Routes are registered through [`Routes`], which records each
//! (method, path) it registers, so a test compares the document with what the service really
//! serves ([`operations`]): the two cannot drift apart unnoticed.

use std::collections::BTreeSet;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, web};
use utoipa::openapi::response::{Response, ResponseBuilder};

use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

/// One operation: the HTTP method (upper case) and the path template (`/api/x/{id}`).
pub type Operation = (String, String);

/// `Routes::get(path, handler)` and its siblings: [`Routes::add`] with the method named.
macro_rules! shorthands {
    ($($name:ident => $method:ident,)*) => {$(
        pub fn $name<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.add(Method::$method, path, handler)
        }
    )*};
}

/// Registers routes on an actix `ServiceConfig` and remembers each one.
pub struct Routes<'c> {
    cfg: &'c mut web::ServiceConfig,
    /// The path of the scope these routes are registered in (`/scim/v2`), or empty.
    prefix: String,
    registered: Vec<Operation>,
}

impl<'c> Routes<'c> {
    pub fn new(cfg: &'c mut web::ServiceConfig) -> Self {
        Self { cfg, prefix: String::new(), registered: Vec::new() }
    }

    /// Serves `handler` for `method` requests to `path`.
    pub fn add<F, Args>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.registered.push((method.as_str().to_owned(), format!("{}{path}", self.prefix)));
        self.cfg.route(path, web::method(method).to(handler));
        self
    }

    /// Serves `handler` for GET requests to `path`, and `other` for every other method (a 405 in
    /// the API's own error shape).
    pub fn read_only<F, Args, G, GArgs>(&mut self, path: &str, handler: F, other: G) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
        G: Handler<GArgs>,
        GArgs: FromRequest + 'static,
        G::Output: Responder + 'static,
    {
        self.registered.push(("GET".to_owned(), format!("{}{path}", self.prefix)));
        self.cfg.service(web::resource(path).route(web::get().to(handler)).default_service(web::to(other)));
        self
    }

    /// Registers the routes `register` adds inside a scope at `prefix`, which `customize` may
    /// finish (e.g. with a default service).
    pub fn scope(
        &mut self,
        prefix: &str,
        customize: impl FnOnce(actix_web::Scope) -> actix_web::Scope,
        register: impl FnOnce(&mut Routes<'_>),
    ) -> &mut Self {
        let full = format!("{}{prefix}", self.prefix);
        let mut registered = Vec::new();
        let scope = web::scope(prefix).configure(|cfg| {
            let mut inner = Routes { cfg, prefix: full, registered: Vec::new() };
            register(&mut inner);
            registered = inner.registered;
        });
        self.cfg.service(customize(scope));
        self.registered.extend(registered);
        self
    }

    shorthands! {
        get => GET,
        post => POST,
        put => PUT,
        patch => PATCH,
        delete => DELETE,
    }

    /// The operations registered so far, in registration order.
    pub fn registered(&self) -> &[Operation] {
        &self.registered
    }
}

/// The operations `doc` describes.
pub fn operations(doc: &OpenApi) -> BTreeSet<Operation> {
    let mut out = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
            ("OPTIONS", item.options.is_some()),
            ("HEAD", item.head.is_some()),
            ("PATCH", item.patch.is_some()),
            ("TRACE", item.trace.is_some()),
        ];
        out.extend(methods.into_iter().filter(|(_, has)| *has).map(|(m, _)| (m.to_owned(), path.clone())));
    }
    out
}

/// Everything wrong with `doc` as the description of the routes `register` registers: routes on
/// one side only ([`drift`]) and incomplete operations ([`lacks`]). Empty when all is well; what
/// each service's OpenAPI test asserts.
pub fn verify(
    doc: &OpenApi,
    register: impl FnOnce(&mut Routes<'_>),
    error_type: impl Fn(&str) -> &'static str,
) -> Vec<String> {
    let (undocumented, unregistered) = drift(doc, register);
    let mut findings: Vec<String> =
        undocumented.iter().map(|(m, p)| format!("{m} {p}: registered, not documented")).collect();
    findings.extend(unregistered.iter().map(|(m, p)| format!("{m} {p}: documented, not registered")));
    findings.extend(lacks(doc, error_type));
    findings
}

/// What `register` registers and `doc` does not describe, and what `doc` describes and `register`
/// does not register: both empty when the two agree. For each service's drift test.
pub fn drift(doc: &OpenApi, register: impl FnOnce(&mut Routes<'_>)) -> (Vec<Operation>, Vec<Operation>) {
    let mut registered = BTreeSet::new();
    let _app = actix_web::App::new().configure(|cfg| {
        let mut routes = Routes::new(cfg);
        register(&mut routes);
        registered.extend(routes.registered().iter().cloned());
    });
    let documented = operations(doc);
    (registered.difference(&documented).cloned().collect(), documented.difference(&registered).cloned().collect())
}

/// What a document lacks that every operation must have: its own `operationId`, a summary, a
/// success response, and `error_type` (`application/problem+json`, or SCIM's) for each error
/// response. Empty when the document is complete. For each service's drift test.
pub fn lacks(doc: &OpenApi, error_type: impl Fn(&str) -> &'static str) -> Vec<String> {
    let json = serde_json::to_value(doc).unwrap_or_default();
    let mut lacking = Vec::new();
    let mut ids = BTreeSet::new();
    let Some(paths) = json["paths"].as_object() else {
        return vec!["no paths".to_owned()];
    };
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let at = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if ids.insert(id.to_owned()) => {}
                Some(id) => lacking.push(format!("{at}: operationId {id} is taken")),
                None => lacking.push(format!("{at}: no operationId")),
            }
            if op["summary"].as_str().is_none_or(str::is_empty) {
                lacking.push(format!("{at}: no summary"));
            }
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            if !responses.keys().any(|status| status.starts_with('2')) {
                lacking.push(format!("{at}: no success response"));
            }
            let wanted = error_type(path);
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
                if response["content"][wanted]["schema"].is_null() {
                    lacking.push(format!("{at}: {status} is not {wanted}"));
                }
            }
        }
    }
    lacking
}

/// An error response: `content_type` with the component schema `schema`.
pub fn error_response(content_type: &str, schema: &str, description: &str) -> RefOr<Response> {
    let schema = RefOr::<Schema>::Ref(Ref::from_schema_name(schema));
    ResponseBuilder::new().description(description).content(content_type, Content::new(Some(schema))).build().into()
}

/// Names error responses for the `responses(...)` of a `#[utoipa::path]`, each a unit type:
/// `error_responses! { "application/problem+json", "Problem"; NotFound = "404", "Nothing here."; }`
/// then `responses((status = 200, ...), NotFound)`.
#[macro_export]
macro_rules! error_responses {
    ($content_type:literal, $schema:literal; $($(#[$doc:meta])* $name:ident = $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>> {
                [($status.to_owned(), $crate::openapi::error_response($content_type, $schema, $description))].into()
            }
        }
    )*};
}

/// Names a set of error responses (each from [`error_responses!`]) as one, for routes that share
/// them: `response_set! { ReadErrors = Unauthorized, NotFound; }`.
#[macro_export]
macro_rules! response_set {
    ($($(#[$doc:meta])* $name:ident = $($member:ty),+;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>> {
                let mut all = std::collections::BTreeMap::new();
                $(all.extend(<$member as utoipa::IntoResponses>::responses());)+
                all
            }
        }
    )*};
}

error_responses! {
    "application/problem+json", "Problem";
    /// 400: the request's parameters or body are not valid.
    BadRequest = "400", "The request is not valid: `detail` says which part and why.";
    /// 401: no valid token of the scope the route takes.
    Unauthorized = "401", "No valid bearer token of the scope this route takes.";
    /// 403: a valid token of the other scope (application vs consumer).
    Forbidden = "403", "The token is valid but of the other scope (application or consumer).";
    /// 404: nothing with that id for this caller (another tenant's ids are 404 too).
    NotFound = "404", "Nothing with that id for this caller.";
    /// 409: the write conflicts with what exists.
    Conflict = "409", "The write conflicts with what exists.";
    /// 422: the body is well-formed JSON, but a field's value is not acceptable.
    Unprocessable = "422", "A field's value is not acceptable: `detail` names it.";
    /// 429: too many failed credentials from this client or for this subject.
    TooManyFailures = "429", "Too many failed attempts from this client or for this application or consumer; retry after `Retry-After` seconds. The right key is always accepted.";
}

response_set! {
    /// A scoped route's token errors: none or invalid (401), of the other scope (403).
    TokenErrors = Unauthorized, Forbidden;
    /// A list's errors: a bad cursor, limit or filter; the token's.
    ListErrors = BadRequest, TokenErrors;
    /// A read's errors: an id that is not one (400); the token's; nothing with that id for this
    /// caller (404).
    ReadErrors = BadRequest, TokenErrors, NotFound;
}

/// The name of the bearer-token security scheme every document declares.
pub const BEARER: &str = "bearer";

/// The name of the admin-token scheme of control-plane's `/admin` routes.
pub const ADMIN: &str = "admin";

/// Adds the admin-token scheme: `#[openapi(modifiers(&uapi_platform::openapi::AdminAuth))]`.
pub struct AdminAuth;

impl utoipa::Modify for AdminAuth {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator's admin token (`admin.token`), as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the bearer-token scheme (a JWT from control-plane's `POST /api/auth`, or a SCIM token) to
/// a document: `#[openapi(modifiers(&uapi_platform::openapi::BearerAuth))]`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from control-plane's `POST /api/auth` (application or consumer scope), \
                         sent as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Serves `doc` at `GET /openapi.json`, rendered once.
pub fn serve(cfg: &mut web::ServiceConfig, doc: &OpenApi) {
    let body = web::Bytes::from(doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned()));
    cfg.route(
        "/openapi.json",
        web::get().to(move || {
            let body = body.clone();
            async move { HttpResponse::Ok().content_type("application/json").body(body) }
        }),
    );
}
