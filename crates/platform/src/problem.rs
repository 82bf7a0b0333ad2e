//! RFC 9457 problem details: the error body of every non-SCIM API, and the extractor error handlers
//! that turn malformed JSON, oversized bodies and bad paths or queries into problems instead of
//! actix's plain-text defaults.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error, web};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem response: `type`, `title`, `status`, `detail`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(
    description = "An RFC 9457 problem, served as `application/problem+json`.",
    example = json!({
        "type": "https://uapi-hris.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "employee not found"
    })
)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub www_authenticate: bool,
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    /// A problem of `status`; `slug` names its type (`…/problems/<slug>`).
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://uapi-hris.dev/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            www_authenticate: false,
            retry_after_secs: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self { www_authenticate: true, ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail) }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// A dependency is down; the client may retry.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self { retry_after_secs: Some(1), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail) }
    }

    /// The fixed body of an unexpected failure; the cause is logged, never sent.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an unexpected error occurred; it has been logged")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)));
        if self.www_authenticate {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs));
        }
        res.body(serde_json::to_string(self).unwrap_or_default())
    }
}

/// How a service words the errors raised before its handlers run (by middleware, or by the HTTP
/// layer itself): problem+json everywhere, or a SCIM Error (RFC 7644 §3.12) under a path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    Problem,
    ScimUnder(&'static str),
}

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The SCIM Error body: the schema, `status` as a string, an optional `scimType`, the detail.
pub fn scim_error_body(status: StatusCode, scim_type: Option<&str>, detail: &str) -> String {
    let mut body = serde_json::json!({ "schemas": [SCIM_ERROR_SCHEMA], "status": status.as_str(), "detail": detail });
    if let Some(t) = scim_type {
        body["scimType"] = serde_json::json!(t);
    }
    body.to_string()
}

impl ErrorStyle {
    /// `problem` as the client at `path` expects it. A problem of type `invalid-value` is a SCIM
    /// `invalidValue`.
    pub fn respond(self, path: &str, problem: Problem) -> HttpResponse {
        match self {
            Self::ScimUnder(prefix) if path.starts_with(prefix) => {
                let scim_type = problem.kind.ends_with("/invalid-value").then_some("invalidValue");
                HttpResponse::build(problem.status_code())
                    .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE)))
                    .body(scim_error_body(problem.status_code(), scim_type, &problem.detail))
            }
            _ => problem.error_response(),
        }
    }
}

/// JSON bodies up to `limit` bytes, any JSON-ish content type; failures become problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).content_type_required(false).error_handler(|err, _req: &HttpRequest| {
        let problem = match &err {
            error::JsonPayloadError::OverflowKnownLength { length, limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("request body of {length} bytes exceeds the limit of {limit} bytes"),
            ),
            error::JsonPayloadError::Overflow { limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("request body exceeds the limit of {limit} bytes"),
            ),
            error::JsonPayloadError::ContentType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as application/json",
            ),
            error::JsonPayloadError::Deserialize(e) if e.is_data() => Problem::validation(e.to_string()),
            error::JsonPayloadError::Deserialize(e) => Problem::bad_request(format!("malformed JSON: {e}")),
            other => Problem::bad_request(other.to_string()),
        };
        problem.into()
    })
}

/// Path segments that do not parse (e.g. a non-UUID id) are 404s: no such resource exists.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_err, req| Problem::not_found(format!("no such resource: {}", req.path())).into())
}

/// Query strings that do not parse are 400s naming the parameter.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| Problem::bad_request(format!("invalid query parameter: {err}")).into())
}
