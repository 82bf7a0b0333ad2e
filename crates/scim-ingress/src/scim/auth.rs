//! SCIM authentication: `Authorization: Bearer <token>` or the bare token (Okta's "HTTP Header"
//! mode). The token's SHA-256 is looked up among the live connections control-plane announced;
//! anything else is a 401 SCIM error. The resolved tenant scopes every resource of the request.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
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

/// Recently verified tokens (by hash), so a burst of SCIM calls costs one lookup. An entry lives
/// `ttl`: a rotated or revoked token stops working at most that long after scim-ingress learns of it.
pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<Vec<u8>, (Tenant, Instant)>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    fn get(&self, hash: &[u8]) -> Option<Tenant> {
        let entries = self.entries.read().ok()?;
        entries.get(hash).filter(|(_, at)| at.elapsed() < self.ttl).map(|(t, _)| t.clone())
    }

    fn put(&self, hash: Vec<u8>, tenant: &Tenant) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            // Bounded: stale entries go first; a flood of distinct tokens cannot grow it forever.
            if entries.len() >= 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
                if entries.len() >= 10_000 {
                    entries.clear();
                }
            }
            entries.insert(hash, (tenant.clone(), Instant::now()));
        }
    }
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

/// Set on a request whose token named a connection, so [`super::activity`] can note the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated(pub Uuid);

/// The SHA-256 of the token `req` presents, if it presents one.
pub fn token_hash(req: &HttpRequest) -> Option<Vec<u8>> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_token)
        .map(|t| Sha256::digest(t.as_bytes()).to_vec())
}

/// The live connection whose token hashes to `hash`; otherwise a 401, or a 429 once `source`
/// (the client's address) or this token has failed too often ([`uapi_platform::throttle`]).
pub async fn authenticate(state: &AppState, source: &str, hash: Option<Vec<u8>>) -> Result<Tenant, ScimError> {
    let failed = |hash: Option<&[u8]>, error: ScimError| {
        let subject = hash.map(|h| format!("token:{}", hex_prefix(h)));
        match state.failed.failed(source, subject.as_deref()) {
            Ok(()) => error,
            Err(wait) => ScimError::TooManyFailures(wait),
        }
    };
    let Some(hash) = hash else {
        return Err(failed(None, ScimError::unauthorized("missing or malformed Authorization header")));
    };
    if let Some(tenant) = state.tokens.get(&hash) {
        return Ok(tenant);
    }
    let mut conn = state.pool.get().await?;
    let Some(tenant) = connections::find_by_token(&mut conn, &hash).await? else {
        let error = ScimError::unauthorized("the SCIM token is not valid (unknown, rotated or revoked)");
        return Err(failed(Some(&hash), error));
    };
    state.tokens.put(hash, &tenant);
    Ok(tenant)
}

/// The first bytes of a token's hash, as hex: enough to tell tokens apart in a throttle's keys.
fn hex_prefix(hash: &[u8]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl FromRequest for Tenant {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = token_hash(req);
        let source = uapi_platform::throttle::source_of(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ScimError::Internal(anyhow::anyhow!("state missing")))?;
            let tenant = authenticate(&state, &source, token).await?;
            // Before the rate limit: a 429 is something the connection's status shows.
            req.extensions_mut().insert(Authenticated(tenant.connection_id));
            state.throttle.take(tenant.connection_id).map_err(ScimError::Throttled)?;
            Ok(tenant)
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
