//! employee-store settings: the shared sections plus the access-token key and the consumer.

use serde::Deserialize;
use uapi_platform::config::{
    AmqpSettings, ConfigError, DatabaseSettings, HttpSettings, Sources, TelemetrySettings, Validate, VerifySettings,
};

const DEFAULTS: &str = include_str!("../config/defaults.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub telemetry: TelemetrySettings,
    pub auth: VerifySettings,
    pub consumer: ConsumerSection,
    pub feed: FeedSection,
}

/// `[feed]`
#[derive(Debug, Clone, Deserialize)]
pub struct FeedSection {
    /// Events stay in the feed (`/api/hris/events`) this many days.
    pub retention_days: u32,
}

/// `[consumer]`
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumerSection {
    /// This service's durable queue of employee and group events.
    pub queue: String,
    /// Events projected at once.
    pub concurrency: usize,
}

impl Settings {
    pub fn load(sources: Sources) -> Result<Self, ConfigError> {
        uapi_platform::config::load(DEFAULTS, sources)
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.database.validate()?;
        self.amqp.validate()?;
        self.auth.validate()?;
        if self.feed.retention_days == 0 {
            return Err(ConfigError::invalid("feed.retention_days", "must be at least 1"));
        }
        if self.consumer.queue.is_empty() {
            return Err(ConfigError::invalid("consumer.queue", "must not be empty"));
        }
        if !(1..=usize::from(self.amqp.prefetch)).contains(&self.consumer.concurrency) {
            return Err(ConfigError::invalid("consumer.concurrency", "must be between 1 and amqp.prefetch"));
        }
        Ok(())
    }
}
