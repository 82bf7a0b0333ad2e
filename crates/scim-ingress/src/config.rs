//! scim-ingress settings: the shared sections plus SCIM, connection-event and outbox keys.

use serde::Deserialize;
use uapi_platform::config::{
    AmqpSettings, ConfigError, DatabaseSettings, HttpSettings, OutboxSettings, Sources, TelemetrySettings, Validate,
};

const DEFAULTS: &str = include_str!("../config/defaults.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub telemetry: TelemetrySettings,
    pub scim: ScimSettings,
    pub connections: ConnectionsSettings,
    pub outbox: OutboxSection,
    pub throttle: uapi_platform::throttle::ThrottleSettings,
}

/// `[outbox]`: the shared relay keys plus the consumer queues the relay declares.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSection {
    #[serde(flatten)]
    pub relay: OutboxSettings,
    /// Queues of the employee and group event consumers, comma-separated; declared by the relay.
    pub consumer_queues: String,
}

impl OutboxSection {
    /// The consumer queues, each with the bindings every employee and group consumer has.
    pub fn mailboxes(&self) -> Vec<(String, Vec<String>)> {
        OutboxSettings::mailboxes(&self.consumer_queues, &uapi_events::queues::DIRECTORY_BINDINGS)
    }
}

/// `[scim]`
#[derive(Debug, Clone, Deserialize)]
pub struct ScimSettings {
    /// Externally visible base URL of this service (`UAPI_SCIM__PUBLIC_URL`).
    pub public_url: String,
    /// Page size of a list without `count`.
    pub default_count: i64,
    /// Largest page served (`filter.maxResults` in /ServiceProviderConfig).
    pub max_count: i64,
    /// How long a verified token is trusted without a lookup; 0 looks up every request.
    pub token_cache_ms: u64,
    /// SCIM requests per second admitted per connection and replica; 0 (the default) is no limit.
    pub rate_limit_per_sec: f64,
    /// Requests a connection may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// How often each replica writes the request activity it noted (the directory status's
    /// `lastRequestAt`, `lastPushAt`, `recentErrors`).
    pub activity_flush_ms: u64,
}

/// `[connections]`
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionsSettings {
    /// The durable queue of connection lifecycle events.
    pub queue: String,
}

impl Settings {
    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        uapi_platform::config::load(DEFAULTS, sources)
    }

    /// `<public_url>/scim/v2`
    pub fn scim_base_url(&self) -> String {
        format!("{}/scim/v2", self.scim.public_url.trim_end_matches('/'))
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.database.validate()?;
        self.amqp.validate()?;
        let url = url::Url::parse(&self.scim.public_url)
            .map_err(|e| ConfigError::invalid("scim.public_url", format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid("scim.public_url", "must be an http(s) URL"));
        }
        if !(1..=1000).contains(&self.scim.max_count) {
            return Err(ConfigError::invalid("scim.max_count", "must be between 1 and 1000"));
        }
        if !(1..=self.scim.max_count).contains(&self.scim.default_count) {
            return Err(ConfigError::invalid("scim.default_count", "must be between 1 and scim.max_count"));
        }
        if !self.scim.rate_limit_per_sec.is_finite() || self.scim.rate_limit_per_sec < 0.0 {
            return Err(ConfigError::invalid("scim.rate_limit_per_sec", "must be 0 (no limit) or a positive number"));
        }
        if self.scim.rate_limit_burst == 0 {
            return Err(ConfigError::invalid("scim.rate_limit_burst", "must be at least 1"));
        }
        if !(10..=60_000).contains(&self.scim.activity_flush_ms) {
            return Err(ConfigError::invalid("scim.activity_flush_ms", "must be between 10 and 60000"));
        }
        if self.connections.queue.is_empty() {
            return Err(ConfigError::invalid("connections.queue", "must not be empty"));
        }
        self.outbox.relay.validate()?;
        Ok(())
    }
}
