//! The HTTP error type of the JSON (non-SCIM) APIs. Client faults carry their problem; an
//! unavailable database is a 503 the client may retry; anything else is logged with its cause
//! chain and answered with a fixed body.

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Client(#[from] Problem),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_connection_lost(&e) { Self::Unavailable(e.to_string()) } else { Self::Internal(e.into()) }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        if crate::db::is_unavailable(&e) { Self::Unavailable(e.to_string()) } else { Self::Internal(e.into()) }
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.problem().status_code()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        self.problem().error_response()
    }
}

impl ApiError {
    fn problem(&self) -> Problem {
        match self {
            Self::Client(p) => p.clone(),
            Self::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                Problem::unavailable("the database is unavailable; retry shortly")
            }
            Self::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                Problem::internal()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
