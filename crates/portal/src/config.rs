//! Portal settings: the shared HTTP and telemetry sections, and where a browser reaches each API.

use serde::Deserialize;
use uapi_platform::config::{ConfigError, HttpSettings, Sources, TelemetrySettings, Validate};

const DEFAULTS: &str = include_str!("../config/defaults.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub telemetry: TelemetrySettings,
    pub services: ServicesSection,
    /// `[backend]`: where the portal's server reaches each API, when not at `[services]`' URLs.
    pub backend: BackendSection,
    pub session: SessionSection,
}

/// `[backend]`: each API's base URL as the portal's own server reaches it (a cluster-internal
/// name, say); empty: the `[services]` URL.
#[derive(Debug, Clone, Deserialize)]
pub struct BackendSection {
    pub control_plane: String,
    pub scim_ingress: String,
    pub employee_store: String,
    pub webhook_dispatcher: String,
}

/// `[session]`: how long a sign-in lasts and how long the portal waits for an API.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionSection {
    /// A session's lifetime from sign-in, in seconds (a working day by default).
    pub lifetime_secs: u64,
    /// How long a page waits for one API call, in milliseconds.
    pub api_timeout_ms: u64,
}

/// `[services]`: each API's base URL as a browser reaches it (the API Explorer), and as the
/// portal's pages do unless `[backend]` says otherwise.
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
    /// The URLs the portal's server calls: `[backend]`'s where set, else `[services]`'.
    pub fn backend(&self) -> ServicesSection {
        let pick = |backend: &str, public: &str| if backend.is_empty() { public } else { backend }.to_owned();
        let (b, s) = (&self.backend, &self.services);
        ServicesSection {
            control_plane: pick(&b.control_plane, &s.control_plane),
            scim_ingress: pick(&b.scim_ingress, &s.scim_ingress),
            employee_store: pick(&b.employee_store, &s.employee_store),
            webhook_dispatcher: pick(&b.webhook_dispatcher, &s.webhook_dispatcher),
        }
    }

    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        uapi_platform::config::load(DEFAULTS, sources)
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        if !(60..=7 * 24 * 3600).contains(&self.session.lifetime_secs) {
            return Err(ConfigError::invalid("session.lifetime_secs", "must be between 60 and 604800 (a week)"));
        }
        if !(100..=120_000).contains(&self.session.api_timeout_ms) {
            return Err(ConfigError::invalid("session.api_timeout_ms", "must be between 100 and 120000"));
        }
        let keys = ["control_plane", "employee_store", "webhook_dispatcher", "scim_ingress"];
        for (section, urls) in [("services", self.services.all()), ("backend", self.backend().all())] {
            for (key, (_, base)) in keys.iter().zip(urls) {
                let parsed = url::Url::parse(base).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
                if parsed.is_none() || base.ends_with('/') {
                    return Err(ConfigError::invalid(
                        &format!("{section}.{key}"),
                        "must be an http(s) base URL without a trailing slash",
                    ));
                }
            }
        }
        Ok(())
    }
}
