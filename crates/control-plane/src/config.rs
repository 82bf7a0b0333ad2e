//! control-plane settings: the shared sections plus admin, auth, SCIM credential and outbox keys.

use serde::Deserialize;
use uapi_platform::config::{
    AmqpSettings, ConfigError, DatabaseSettings, HttpSettings, OutboxSettings, Sources, TelemetrySettings, Validate,
};
use uapi_platform::secret::Secret;

const DEFAULTS: &str = include_str!("../config/defaults.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub telemetry: TelemetrySettings,
    pub admin: AdminSettings,
    pub auth: AuthSettings,
    pub scim: ScimSettings,
    pub outbox: OutboxSection,
    pub throttle: uapi_platform::throttle::ThrottleSettings,
}

/// `[admin]`
#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    /// Bearer token of the admin API (`UAPI_ADMIN__TOKEN`).
    pub token: Secret,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Base64 PKCS#8 Ed25519 private key that signs access tokens.
    pub signing_key: Secret,
    /// Lifetime of an access token, in seconds.
    pub token_ttl_secs: u64,
}

/// `[scim]`
#[derive(Debug, Clone, Deserialize)]
pub struct ScimSettings {
    /// Externally visible base URL of scim-ingress (`UAPI_SCIM__PUBLIC_URL`).
    pub public_url: String,
    /// Base64 secret from which SCIM API tokens are derived.
    pub token_key: Secret,
}

/// `[outbox]`: the shared relay keys plus the queue of connection events.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSection {
    #[serde(flatten)]
    pub relay: OutboxSettings,
    /// scim-ingress's queue for connection events, declared by the relay as well.
    pub connection_events_queue: String,
    /// The employee and group consumers' queues (comma-separated), declared by the relay too:
    /// they take `consumer.deleted`.
    pub consumer_queues: String,
    /// How often connections changed or deleted within `reannounce_window_secs` are announced
    /// again; 0 never (only `republish-connections` then repairs a lost event).
    pub reannounce_every_ms: u64,
    /// How far back a change is announced again.
    pub reannounce_window_secs: u64,
}

impl Settings {
    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        uapi_platform::config::load(DEFAULTS, sources)
    }

    /// `public_url` without a trailing slash, followed by the SCIM root.
    pub fn scim_base_url(&self) -> String {
        format!("{}/scim/v2", self.scim.public_url.trim_end_matches('/'))
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.database.validate()?;
        self.amqp.validate()?;
        if self.admin.token.expose().len() < 24 {
            return Err(ConfigError::invalid("admin.token", "required, at least 24 characters"));
        }
        if self.auth.signing_key.is_empty() {
            return Err(ConfigError::invalid("auth.signing_key", "required; generate one with `control-plane keygen`"));
        }
        if !(1..=86_400).contains(&self.auth.token_ttl_secs) {
            return Err(ConfigError::invalid("auth.token_ttl_secs", "must be between 1 and 86400"));
        }
        let url = url::Url::parse(&self.scim.public_url)
            .map_err(|e| ConfigError::invalid("scim.public_url", format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(ConfigError::invalid("scim.public_url", "must be an http(s) URL without a query"));
        }
        if crate::domain::credentials::decode_key(self.scim.token_key.expose()).is_none() {
            return Err(ConfigError::invalid(
                "scim.token_key",
                "required: base64 of at least 32 random bytes (`control-plane keygen` makes one)",
            ));
        }
        self.outbox.relay.validate()?;
        if self.outbox.reannounce_every_ms > 0
            && self.outbox.reannounce_window_secs * 1000 < self.outbox.reannounce_every_ms
        {
            return Err(ConfigError::invalid(
                "outbox.reannounce_window_secs",
                "must cover at least one outbox.reannounce_every_ms, or a change could be announced only once",
            ));
        }
        Ok(())
    }
}
