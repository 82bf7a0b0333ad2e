//! What a page answers when it cannot show what was asked: sign in first, not found (another
//! application's ids too: they are not ours to confirm), a form without its CSRF token, or an API
//! that failed. Each is an HTML page, never a stack of JSON.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::api::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("sign in first")]
    SignIn,
    #[error("not found")]
    NotFound,
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// The API refused what the URL asked (a malformed cursor or filter): its explanation.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status() {
            // Not ours, or never was: the same page either way.
            Some(404) => Self::NotFound,
            // The API no longer takes the session's key (rotated or revoked): sign in again.
            Some(401) => Self::SignIn,
            Some(400) => match e {
                ApiError::Status { detail, title, .. } => {
                    Self::BadRequest(if detail.is_empty() { title } else { detail })
                }
                other => Self::Api(other),
            },
            _ => Self::Api(e),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Api(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, text) = match self {
            Self::SignIn => {
                return HttpResponse::SeeOther().insert_header((header::LOCATION, "/signin")).finish();
            }
            Self::NotFound => ("Not found", "There is nothing here, or it belongs to another application.".to_owned()),
            Self::Csrf => (
                "Form expired",
                "This form was not sent from a page of your session. Go back, reload the page and try again."
                    .to_owned(),
            ),
            Self::BadRequest(detail) => ("Not a valid request", format!("{detail}. Go back and try again.")),
            Self::Api(e) => {
                tracing::warn!(error = %e, "an API call of a page failed");
                ("Something went wrong", format!("An API did not answer as expected: {e}. Try again in a moment."))
            }
        };
        crate::routes::page::message(self.status_code(), title, &text)
    }
}
