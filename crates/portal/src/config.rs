//! Portal settings: the shared HTTP and telemetry sections, and where a browser reaches each API.

use serde::Deserialize;
use uapi_platform::config::{ConfigError, HttpSettings, Sources, TelemetrySettings, Validate};

const DEFAULTS: &str = include_str!("../config/defaults.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub telemetry: TelemetrySettings,
    pub services: ServicesSection,
}

/// `[services]`: each API's base URL as a browser reaches it.
#[derive(Debug, Clone, Deserialize)]
pub struct ServicesSection {
    pub control_plane: String,
    pub scim_ingress: String,
    pub employee_store: String,
    pub webhook_dispatcher: String,
}

impl ServicesSection {
    /// Each API's name and base URL, in the Explorer's order.
    pub fn all(&self) -> [(&'static str, &str); 4] {
        [
            ("control-plane", self.control_plane.as_str()),
            ("employee-store (HRIS)", self.employee_store.as_str()),
            ("webhook-dispatcher (webhooks)", self.webhook_dispatcher.as_str()),
            ("scim-ingress (SCIM)", self.scim_ingress.as_str()),
        ]
    }
}

impl Settings {
    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        uapi_platform::config::load(DEFAULTS, sources)
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        let keys = ["control_plane", "employee_store", "webhook_dispatcher", "scim_ingress"];
        for (key, (_, base)) in keys.iter().zip(self.services.all()) {
            let parsed = url::Url::parse(base).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            if parsed.is_none() || base.ends_with('/') {
                return Err(ConfigError::invalid(
                    &format!("services.{key}"),
                    "must be an http(s) base URL without a trailing slash",
                ));
            }
        }
        Ok(())
    }
}
