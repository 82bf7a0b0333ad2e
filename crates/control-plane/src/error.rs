//! The control plane's HTTP errors: the platform's `ApiError`, plus how repository errors map to it.

pub use uapi_platform::error::{ApiError, ApiResult};
use uapi_platform::problem::Problem;

use crate::db::RepoError;

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(m) => Self::Unavailable(m),
            RepoError::Conflict(m) => Self::Client(Problem::conflict(m)),
            RepoError::Query(e) => e.into(),
            RepoError::Other(e) => Self::Internal(e),
        }
    }
}
