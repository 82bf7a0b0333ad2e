//! HTTP calls to the services; problem responses become typed errors.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::error::CliError;

pub struct Api {
    http: reqwest::Client,
}

impl Api {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("uapi-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// Sends a request and returns the JSON body (Null for 204).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let mut req = self.http.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res =
            req.send().await.map_err(|e| CliError::Unavailable(format!("cannot reach {url}: {}", root_cause(&e))))?;
        let status = res.status();
        let text = res.text().await.map_err(|e| CliError::Unavailable(e.to_string()))?;
        if status.is_success() {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| CliError::Other(format!("unexpected response: {e}")));
        }
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        let msg = format!("{} {}: {detail}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CliError::Auth(msg),
            StatusCode::NOT_FOUND => CliError::NotFound(msg),
            StatusCode::CONFLICT => CliError::Conflict(msg),
            s if s.is_client_error() => CliError::Invalid(msg),
            _ => CliError::Unavailable(msg),
        })
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
