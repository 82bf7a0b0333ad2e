//! SCIM error responses (RFC 7644 §3.12): the Error schema, `status` as a string, an optional
//! `scimType` and a non-empty `detail`, served as `application/scim+json`. Unexpected failures are
//! logged with their cause and answered with a fixed detail.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use uapi_scim::error::ScimError as ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error("{detail}")]
    Client { status: StatusCode, scim_type: Option<&'static str>, detail: String },
    /// The connection is over its rate limit; a token is back after this long.
    #[error("rate limited")]
    Throttled(std::time::Duration),
    /// Too many invalid tokens from this client, or presenting this token; the same wait.
    #[error("too many failed tokens")]
    TooManyFailures(std::time::Duration),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a lock conflict (a deadlock or a serialization failure) to a concurrent
    /// one; the same write goes through once that one has committed ([`crate::domain::contended`]).
    #[error("lock conflict: {0}")]
    Contended(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self::Client { status, scim_type, detail: detail.into() }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// The `scimType` and `detail` the client is shown; causes of server-side failures stay in
    /// the log.
    pub fn public(&self) -> (Option<&'static str>, String) {
        match self {
            Self::Client { scim_type, detail, .. } => (*scim_type, detail.clone()),
            Self::Throttled(wait) => {
                (None, format!("too many requests for this connection; retry after {} s", retry_after_secs(*wait)))
            }
            Self::TooManyFailures(wait) => (
                None,
                format!("too many requests with an invalid SCIM token; retry after {} s", retry_after_secs(*wait)),
            ),
            Self::Contended(_) | Self::Unavailable(_) => {
                (None, "the service is temporarily unavailable; retry shortly".to_owned())
            }
            Self::Internal(_) => (None, "an unexpected error occurred; it has been logged".to_owned()),
        }
    }
}

impl From<ProtocolError> for ScimError {
    fn from(e: ProtocolError) -> Self {
        Self::bad_request(e.scim_type.as_str(), e.detail)
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_lock_conflict(&e) {
            return Self::Contended(e.to_string());
        }
        if uapi_platform::db::is_connection_lost(&e) {
            return Self::Unavailable(e.to_string());
        }
        Self::Internal(e.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ScimError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        if uapi_platform::db::is_unavailable(&e) { Self::Unavailable(e.to_string()) } else { Self::Internal(e.into()) }
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Client { status, .. } => *status,
            Self::Throttled(_) | Self::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            // A conflict still lost after the write's tries: Okta's retry goes through.
            Self::Unavailable(_) | Self::Contended(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::Contended(cause) => tracing::warn!(%cause, "write lost every try to concurrent writes"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            Self::Internal(e) => tracing::error!(error = ?e, "SCIM request failed"),
            Self::Client { .. } | Self::Throttled(_) | Self::TooManyFailures(_) => {}
        }
        let (scim_type, detail) = self.public();
        let body = uapi_platform::problem::scim_error_body(status, scim_type, &detail);
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, super::CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"scim\""));
        }
        match self {
            Self::Throttled(wait) | Self::TooManyFailures(wait) => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs(*wait).to_string()));
            }
            Self::Unavailable(_) | Self::Contended(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        res.body(body)
    }
}

pub use uapi_platform::throttle::retry_after_secs;

pub type ScimResult<T> = Result<T, ScimError>;
