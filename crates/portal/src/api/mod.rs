//! The portal's only way to the system: the services' public HTTP APIs, called with the signed-in
//! application's (or one of its consumers') access token.

pub mod tokens;
pub mod types;

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::ServicesSection;

/// The four APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ControlPlane,
    ScimIngress,
    EmployeeStore,
    WebhookDispatcher,
}

impl ServicesSection {
    /// `service`'s base URL.
    pub fn of(&self, service: Service) -> &str {
        match service {
            Service::ControlPlane => &self.control_plane,
            Service::ScimIngress => &self.scim_ingress,
            Service::EmployeeStore => &self.employee_store,
            Service::WebhookDispatcher => &self.webhook_dispatcher,
        }
    }
}

/// An API call that did not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error status; `detail` is its problem's explanation.
    #[error("{status} {title}: {detail}")]
    Status { status: u16, title: String, detail: String },
    /// No answer, or one that was not the documented JSON.
    #[error("the {service:?} API could not be used: {reason}")]
    Unavailable { service: Service, reason: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Unavailable { .. } => None,
        }
    }
}

/// A client of the four APIs.
#[derive(Clone)]
pub struct Apis {
    http: reqwest::Client,
    services: ServicesSection,
}

impl Apis {
    pub fn new(services: ServicesSection, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("uapi-portal/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, services })
    }

    fn base(&self, service: Service) -> &str {
        self.services.of(service)
    }

    /// `method path` on `service` with `bearer` and a JSON `body`; the answer's JSON (`null` for an
    /// empty one, as 204 gives).
    pub async fn call(
        &self,
        service: Service,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let unavailable = |reason: String| ApiError::Unavailable { service, reason };
        let mut request = self.http.request(method, format!("{}{path}", self.base(service)));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| unavailable(without_url(e)))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| unavailable(without_url(e)))?;
        let json: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("answer is not JSON: {e}")))?
        };
        if status.is_success() {
            return Ok(json);
        }
        let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
        Err(ApiError::Status {
            status: status.as_u16(),
            title: text("title").unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned()),
            detail: text("detail").unwrap_or_default(),
        })
    }

    /// [`Apis::call`] with the answer read as `T`.
    pub async fn fetch<T: DeserializeOwned>(
        &self,
        service: Service,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        read(service, self.call(service, method, path, bearer, body).await?)
    }
}

/// An answer of `service` read as `T`.
pub fn read<T: DeserializeOwned>(service: Service, answer: Value) -> Result<T, ApiError> {
    serde_json::from_value(answer)
        .map_err(|e| ApiError::Unavailable { service, reason: format!("unexpected answer: {e}") })
}

/// A transport error's text without its URL: a setup link's path carries its token.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// `value` as one percent-encoded query or path component.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
