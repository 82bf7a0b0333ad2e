//! SCIM authentication: `Authorization: Bearer <token>` or the bare token (Okta's "HTTP Header"
//! mode). The token's SHA-256 is looked up among the live connections control-plane announced;
//! anything else is a 401 SCIM error. The resolved tenant scopes every resource of the request.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::ScimError;
use crate::db::connections;
use crate::state::AppState;

/// The connection a SCIM request acts for.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub connection_id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub service_id: String,
}

/// The token in an `Authorization` header: `Bearer <t>` (scheme case-insensitive) or `<t>` alone.
pub fn presented_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

impl FromRequest for Tenant {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(presented_token)
            .map(|t| Sha256::digest(t.as_bytes()).to_vec());
        Box::pin(async move {
            let state = state.ok_or_else(|| ScimError::Internal(anyhow::anyhow!("state missing")))?;
            let hash = token.ok_or_else(|| ScimError::unauthorized("missing or malformed Authorization header"))?;
            let mut conn = state.pool.get().await?;
            connections::find_by_token(&mut conn, &hash)
                .await?
                .ok_or_else(|| ScimError::unauthorized("the SCIM token is not valid (unknown, rotated or revoked)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::presented_token;

    #[test]
    fn bearer_and_bare_tokens_are_accepted() {
        assert_eq!(presented_token("Bearer abc"), Some("abc"));
        assert_eq!(presented_token("bearer  abc "), Some("abc"));
        assert_eq!(presented_token("abc"), Some("abc"));
        assert_eq!(presented_token("Basic abc"), None);
        assert_eq!(presented_token("non-token"), Some("non-token"));
        assert_eq!(presented_token("  "), None);
    }
}
