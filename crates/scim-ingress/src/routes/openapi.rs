//! scim-ingress's OpenAPI document: the SCIM 2.0 routes Okta calls, their resources as this server
//! stores them (RFC 7643), SCIM errors (RFC 7644 §3.12), and the directory status route, whose
//! errors are problems. The resources are JSON objects that keep attributes this server does not
//! map (`additionalProperties`); the types below describe them for the document only, and
//! `/Schemas` serves the authoritative SCIM schemas.

#![allow(dead_code)]

use serde_json::Value;
use uapi_platform::error_responses;
use uapi_platform::problem::Problem;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{discovery, groups, status, users};

/// The document, served at `GET /openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "uapi-hris SCIM",
        description = "The SCIM 2.0 server (RFC 7644) an Okta SCIM app provisions into. Base URL \
                       and token come from the consumer's Okta SCIM connection (control-plane's \
                       `GET /api/connections/{id}`); every route takes the token as \
                       `Authorization: Bearer <token>`. SCIM bodies are `application/scim+json`; \
                       `GET /api/scim/status` answers `application/json`, its errors \
                       `application/problem+json`."
    ),
    paths(
        users::search, users::create, users::search_post, users::search_root, users::get, users::replace,
        users::patch, users::delete,
        groups::search, groups::create, groups::search_post, groups::get, groups::replace, groups::patch,
        groups::delete,
        discovery::service_provider_config, discovery::resource_types, discovery::resource_type,
        discovery::schemas, discovery::schema,
        status::get
    ),
    components(schemas(ScimErrorBody, Problem)),
    modifiers(&ScimToken),
    security(("scimToken" = [])),
    tags(
        (name = "Users", description = "The connection's users; each change becomes an `employee.*` event."),
        (name = "Groups", description = "The connection's groups and memberships (`group.*` events)."),
        (name = "Discovery", description = "What this server supports (RFC 7644 §4)."),
        (name = "Status", description = "The connection's directory status, for the portal.")
    )
)]
pub struct ApiDoc;

/// The connection's SCIM API token.
struct ScimToken;

impl utoipa::Modify for ScimToken {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "scimToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The connection's SCIM API token (its metadata's `apiToken`)."))
                    .build(),
            ),
        );
    }
}

pub const SCIM_JSON: &str = "application/scim+json";

error_responses! {
    "application/scim+json", "ScimErrorBody";
    /// 400 with a `scimType` (`invalidFilter`, `invalidSyntax`, `invalidValue`, `mutability`, …).
    ScimBadRequest = "400", "The request is not valid: `scimType` and `detail` say why.";
    /// 401: no token, or not a live connection's.
    ScimUnauthorized = "401", "No valid SCIM token.";
    /// 404: no such resource in this connection.
    ScimNotFound = "404", "No such resource in this connection.";
    /// 409 `uniqueness`: the userName or displayName is taken.
    ScimConflict = "409", "`uniqueness`: another resource of the connection has that name.";
    /// 413: the body is over the size limit.
    ScimTooLarge = "413", "The body is larger than this server takes.";
    /// 429: the connection is over its rate limit (`Retry-After`).
    ScimThrottled = "429", "Too many requests for this connection; retry after `Retry-After` seconds.";
    /// 503: the database is unreachable, or a write kept losing to concurrent ones (`Retry-After`).
    ScimUnavailable = "503", "Temporarily unavailable; retry after `Retry-After` seconds.";
}

error_responses! {
    "application/problem+json", "Problem";
    /// 401 on the status route: no token, or not a live connection's.
    StatusUnauthorized = "401", "No valid SCIM token.";
    /// 429 on the status route: the connection is over its SCIM rate limit (`Retry-After`).
    StatusThrottled = "429", "Too many requests for this connection; retry after `Retry-After` seconds.";
    /// 503 on the status route: the database is unreachable (`Retry-After`).
    StatusUnavailable = "503", "Temporarily unavailable; retry after `Retry-After` seconds.";
}

uapi_platform::response_set! {
    /// The status route's errors.
    StatusErrors = StatusUnauthorized, StatusThrottled, StatusUnavailable;
    /// What any SCIM request may be answered besides its own errors.
    ScimAlways = ScimUnauthorized, ScimThrottled, ScimUnavailable;
    /// A search's errors.
    SearchErrors = ScimBadRequest, ScimAlways;
    /// A read of one resource's errors.
    ReadErrors = ScimBadRequest, ScimNotFound, ScimAlways;
    /// A create's errors.
    CreateErrors = ScimBadRequest, ScimConflict, ScimTooLarge, ScimAlways;
    /// A replace's or patch's errors.
    WriteErrors = ScimBadRequest, ScimNotFound, ScimConflict, ScimTooLarge, ScimAlways;
    /// A delete's errors.
    DeleteErrors = ScimNotFound, ScimAlways;
}

/// A SCIM error (RFC 7644 §3.12).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
    "status": "409",
    "scimType": "uniqueness",
    "detail": "userName alice@example.com is taken"
}))]
pub struct ScimErrorBody {
    schemas: Vec<String>,
    /// The HTTP status, as a string.
    status: String,
    #[schema(nullable = false)]
    scim_type: Option<String>,
    detail: String,
}

/// A User (RFC 7643 §4.1, with the enterprise extension), as stored and returned.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "alice@example.com",
    "externalId": "00u1a2b3c4",
    "name": { "givenName": "Alice", "familyName": "Liddell" },
    "emails": [{ "value": "alice@example.com", "type": "work", "primary": true }],
    "active": true
}))]
pub struct ScimUser {
    schemas: Vec<String>,
    /// Ours; read-only.
    id: Option<String>,
    /// Okta's user id.
    external_id: Option<String>,
    /// Unique within the connection (case-insensitive). Required in a create or replace; an
    /// answer projected with `attributes`/`excludedAttributes` may leave it out.
    user_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    name: Option<Value>,
    display_name: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    emails: Option<Vec<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    phone_numbers: Option<Vec<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    addresses: Option<Vec<Value>>,
    title: Option<String>,
    user_type: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    /// `false` deactivates the employee.
    active: Option<bool>,
    /// Read-only: the groups hold memberships.
    #[schema(value_type = Option<Vec<Object>>)]
    groups: Option<Vec<Value>>,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`: employeeNumber, department,
    /// manager, …
    #[schema(value_type = Option<Object>)]
    #[schema(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    enterprise: Option<Value>,
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
}

/// A Group (RFC 7643 §4.2), as stored and returned.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Engineering",
    "members": [{ "value": "0190c0de-0000-7000-8000-000000000001" }]
}))]
pub struct ScimGroup {
    schemas: Vec<String>,
    id: Option<String>,
    external_id: Option<String>,
    /// Unique within the connection. Required in a create or replace; an answer projected with
    /// `attributes`/`excludedAttributes` may leave it out.
    display_name: Option<String>,
    /// `{value: <user id>, display}`; omitted with `excludedAttributes=members`.
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
}

/// A page of search results (RFC 7644 §3.4.2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScimListResponse {
    schemas: Vec<String>,
    total_results: i64,
    start_index: i64,
    items_per_page: i64,
    /// Users or Groups, projected as asked.
    #[schema(value_type = Vec<Object>, rename = "Resources")]
    resources: Vec<Value>,
}

/// A PATCH request (RFC 7644 §3.5.2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{ "op": "replace", "value": { "active": false } }]
}))]
pub struct ScimPatchOp {
    schemas: Vec<String>,
    /// `{op: add|replace|remove, path?, value?}`, applied in order, all or nothing.
    #[schema(value_type = Vec<Object>, rename = "Operations")]
    operations: Vec<Value>,
}

/// A search in a body (RFC 7644 §3.4.3).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScimSearchRequest {
    schemas: Vec<String>,
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<Vec<String>>,
    excluded_attributes: Option<Vec<String>>,
}

/// A discovery resource (ServiceProviderConfig, ResourceType, Schema or their list).
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct ScimDiscovery(Value);

/// A search's query string (RFC 7644 §3.4.2).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SearchParams {
    /// A SCIM filter, e.g. `userName eq "alice@example.com"`.
    filter: Option<String>,
    /// 1-based index of the first result (default 1).
    start_index: Option<i64>,
    /// Results per page (default and maximum: `scim.max_count`).
    count: Option<i64>,
    /// Only these attributes (comma-separated).
    attributes: Option<String>,
    /// All but these attributes (comma-separated), e.g. `members`.
    excluded_attributes: Option<String>,
}

/// The projection of a single-resource answer (RFC 7644 §3.9).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ProjectionParams {
    /// Only these attributes (comma-separated).
    attributes: Option<String>,
    /// All but these attributes (comma-separated).
    excluded_attributes: Option<String>,
}
