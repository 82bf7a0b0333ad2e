//! Access tokens for a session: minted from its API key at `POST /api/auth`, kept until shortly
//! before they expire, so a page costs no sign-in round trip.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::types::AccessToken;
use super::{ApiError, Apis, Service};
use crate::domain::session::{ApiKey, Session, Token};

/// A token is renewed this long before its expiry, so a page's calls never race it.
const MARGIN: Duration = Duration::from_secs(60);

impl Apis {
    /// Exchanges an application's API key for an access token (sign-in).
    pub async fn sign_in(&self, application_id: Uuid, api_key: &ApiKey) -> Result<Token, ApiError> {
        let body = json!({"apiKey": api_key.expose(), "applicationId": application_id, "scope": "application"});
        self.token(&body).await
    }

    async fn token(&self, body: &serde_json::Value) -> Result<Token, ApiError> {
        let t: AccessToken = self.fetch(Service::ControlPlane, Method::POST, "/api/auth", None, Some(body)).await?;
        let renew_at = Instant::now() + Duration::from_secs(t.expires_in).saturating_sub(MARGIN);
        Ok(Token { value: t.access_token, renew_at })
    }

    /// The session's application-scope token.
    pub async fn application_token(&self, session: &Session) -> Result<String, ApiError> {
        if let Some(token) = session.application_token() {
            return Ok(token);
        }
        let token = self.sign_in(session.application_id, &session.api_key).await?;
        session.set_application_token(token.clone());
        Ok(token.value)
    }

    /// A consumer-scope token for one of the session's consumers (another application's consumer
    /// is refused by the API, as 401 or 404).
    pub async fn consumer_token(&self, session: &Session, consumer: Uuid) -> Result<String, ApiError> {
        if let Some(token) = session.consumer_token(consumer) {
            return Ok(token);
        }
        let body = json!({"apiKey": session.api_key.expose(), "consumerId": consumer, "scope": "consumer"});
        let token = self.token(&body).await?;
        session.set_consumer_token(consumer, token.clone());
        Ok(token.value)
    }
}
