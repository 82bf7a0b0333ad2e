//! Access tokens: short-lived EdDSA (Ed25519) JWTs. control-plane signs them with the private key;
//! every service verifies them locally with the public key, so no service but control-plane can
//! mint one. The actix extractors [`AppPrincipal`] and [`ConsumerPrincipal`] guard handlers.

use std::future::{Ready, ready};
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::Problem;

const ISSUER: &str = "uapi-control-plane";
const AUDIENCE: &str = "uapi";

/// What a token lets its bearer do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Consumers and webhooks of one application.
    Application,
    /// Connections and HRIS data of one consumer.
    Consumer,
}

/// The claims inside an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The application (application scope) or consumer (consumer scope) id.
    pub sub: String,
    pub scope: Scope,
    /// The application every token belongs to.
    pub app: Uuid,
    /// The consumer, for consumer-scope tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<Uuid>,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    /// Not valid before (seconds since the epoch); tokens without it are valid from `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub exp: u64,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("not an Ed25519 PKCS#8 private key")]
    NotEd25519,
    #[error("an Ed25519 public key is 32 bytes, got {0}")]
    PublicKeyLength(usize),
}

/// A fresh Ed25519 key pair as (base64 PKCS#8 signing key, base64 raw verifying key); fails only
/// when the system's random source does.
pub fn generate_keypair() -> anyhow::Result<(String, String)> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow::anyhow!("the system RNG failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| anyhow::anyhow!("generated key: {e}"))?;
    Ok((STANDARD.encode(pkcs8.as_ref()), STANDARD.encode(pair.public_key().as_ref())))
}

/// Signs access tokens (control-plane only).
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    verifying_key: String,
    ttl: Duration,
}

impl TokenIssuer {
    /// From the base64 PKCS#8 signing key and the token lifetime.
    pub fn from_base64(signing_key: &str, ttl: Duration) -> Result<Self, KeyError> {
        let der = STANDARD.decode(signing_key.trim())?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| KeyError::NotEd25519)?;
        Ok(Self {
            verifying_key: STANDARD.encode(pair.public_key().as_ref()),
            key: EncodingKey::from_ed_der(&der),
            ttl,
        })
    }

    /// The base64 public key that verifies this issuer's tokens.
    pub fn verifying_key(&self) -> &str {
        &self.verifying_key
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `scope` over application `app` (and `consumer` in consumer scope).
    pub fn issue(
        &self,
        scope: Scope,
        app: Uuid,
        consumer: Option<Uuid>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let sub = match (scope, consumer) {
            (Scope::Consumer, Some(c)) => c.to_string(),
            _ => app.to_string(),
        };
        let claims = Claims {
            sub,
            scope,
            app,
            consumer,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: Some(now),
            exp: now + self.ttl.as_secs(),
            jti: Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
    }
}

/// Verifies access tokens (every service). A token that verified is remembered until it expires,
/// so a client reusing its token (as clients do for its whole lifetime) pays the signature check
/// once; the cache is keyed by the exact token, so it can only answer what verifying would.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    verified: std::sync::Arc<std::sync::RwLock<std::collections::HashMap<String, Claims>>>,
}

/// How far ahead of this host's clock a token's `nbf` may be: the issuing host's clock may run a
/// little ahead, and a token is used the moment it is issued. (Expiry has no such grace.)
const NBF_SKEW_SECS: u64 = 5;

/// Verified tokens remembered at most; past that, expired ones are dropped, then all.
const VERIFIED_CACHE: usize = 10_000;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TokenVerifier {
    /// From the base64 raw 32-byte Ed25519 public key.
    pub fn from_base64(verifying_key: &str) -> Result<Self, KeyError> {
        let raw = STANDARD.decode(verifying_key.trim())?;
        if raw.len() != 32 {
            return Err(KeyError::PublicKeyLength(raw.len()));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is exact: a short-lived token gets no grace period.
        validation.leeway = 0;
        Ok(Self { key: DecodingKey::from_ed_der(&raw), validation, verified: Default::default() })
    }

    /// The claims of a valid, unexpired token from us; anything else is an error.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let remembered = self.verified.read().ok().and_then(|v| v.get(token).cloned());
        if let Some(claims) = remembered.filter(|c| c.exp > now) {
            return Ok(claims);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map(|d| d.claims)?;
        if claims.nbf.is_some_and(|nbf| nbf > now + NBF_SKEW_SECS) {
            return Err(jsonwebtoken::errors::ErrorKind::ImmatureSignature.into());
        }
        if let Ok(mut verified) = self.verified.write() {
            if verified.len() >= VERIFIED_CACHE {
                verified.retain(|_, c| c.exp > now);
                if verified.len() >= VERIFIED_CACHE {
                    verified.clear();
                }
            }
            verified.insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }
}

/// The bearer token of a request, if its `Authorization` header carries one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn claims_of(req: &HttpRequest) -> Result<Claims, Problem> {
    let verifier = req.app_data::<web::Data<TokenVerifier>>().ok_or_else(Problem::internal)?;
    let token = bearer_token(req)
        .ok_or_else(|| Problem::unauthorized("missing bearer access token; get one from POST /api/auth"))?;
    verifier.verify(token).map_err(|e| {
        let reason = match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "access token expired",
            _ => "access token invalid",
        };
        Problem::unauthorized(reason)
    })
}

/// A caller holding an application-scope token.
#[derive(Debug, Clone)]
pub struct AppPrincipal {
    pub application_id: Uuid,
}

impl FromRequest for AppPrincipal {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(claims_of(req).and_then(|c| match c.scope {
            Scope::Application => Ok(Self { application_id: c.app }),
            Scope::Consumer => Err(Problem::forbidden("this endpoint needs an application-scope token")),
        }))
    }
}

/// A caller holding a consumer-scope token.
#[derive(Debug, Clone)]
pub struct ConsumerPrincipal {
    pub application_id: Uuid,
    pub consumer_id: Uuid,
}

impl FromRequest for ConsumerPrincipal {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(claims_of(req).and_then(|c| match (c.scope, c.consumer) {
            (Scope::Consumer, Some(consumer_id)) => Ok(Self { application_id: c.app, consumer_id }),
            _ => Err(Problem::forbidden("this endpoint needs a consumer-scope token")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(ttl: u64) -> (TokenIssuer, TokenVerifier) {
        let (signing, verifying) = generate_keypair().expect("key pair");
        let issuer = TokenIssuer::from_base64(&signing, Duration::from_secs(ttl)).expect("signing key");
        assert_eq!(issuer.verifying_key(), verifying);
        (issuer, TokenVerifier::from_base64(&verifying).expect("verifying key"))
    }

    #[test]
    fn issued_token_verifies_with_its_claims() {
        let (issuer, verifier) = pair(60);
        let (app, consumer) = (Uuid::now_v7(), Uuid::now_v7());
        let token = issuer.issue(Scope::Consumer, app, Some(consumer)).expect("issues");
        let claims = verifier.verify(&token).expect("verifies");
        assert_eq!((claims.scope, claims.app, claims.consumer), (Scope::Consumer, app, Some(consumer)));
        assert_eq!(claims.sub, consumer.to_string());
    }

    #[test]
    fn tampered_token_is_rejected() {
        let (issuer, verifier) = pair(60);
        let token = issuer.issue(Scope::Application, Uuid::now_v7(), None).expect("issues");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // Swap in a payload claiming another application, keeping the original signature.
        let forged = issuer.issue(Scope::Application, Uuid::now_v7(), None).expect("issues");
        parts[1] = forged.split('.').nth(1).expect("payload").to_owned();
        assert!(verifier.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn token_from_another_key_is_rejected() {
        let (issuer, _) = pair(60);
        let (_, other_verifier) = pair(60);
        let token = issuer.issue(Scope::Application, Uuid::now_v7(), None).expect("issues");
        assert!(other_verifier.verify(&token).is_err());
    }

    #[test]
    fn expired_token_is_rejected() {
        let (issuer, verifier) = pair(0);
        let token = issuer.issue(Scope::Application, Uuid::now_v7(), None).expect("issues");
        std::thread::sleep(Duration::from_millis(1100));
        let err = verifier.verify(&token).expect_err("expired");
        assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ExpiredSignature);
    }

    /// A token signed by `issuer` whose `nbf` is `ahead` seconds from now.
    fn not_before(issuer: &TokenIssuer, ahead: u64) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let app = Uuid::now_v7();
        let claims = Claims {
            sub: app.to_string(),
            scope: Scope::Application,
            app,
            consumer: None,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: Some(now + ahead),
            exp: now + 600,
            jti: Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &issuer.key).expect("encodes")
    }

    #[test]
    fn a_token_is_refused_before_its_nbf() {
        let (issuer, verifier) = pair(60);
        let err = verifier.verify(&not_before(&issuer, 300)).expect_err("not yet valid");
        assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ImmatureSignature);
        // A clock a few seconds ahead on the issuing host is tolerated.
        assert!(verifier.verify(&not_before(&issuer, 2)).is_ok());
        let issued = issuer.issue(Scope::Application, Uuid::now_v7(), None).expect("issues");
        assert!(verifier.verify(&issued).expect("verifies").nbf.is_some(), "issued tokens carry nbf");
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        assert!(TokenVerifier::from_base64("not base64!").is_err());
        assert!(TokenVerifier::from_base64("AAAA").is_err());
        assert!(TokenIssuer::from_base64("AAAA", Duration::from_secs(1)).is_err());
    }
}
