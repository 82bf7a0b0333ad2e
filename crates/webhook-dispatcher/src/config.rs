//! webhook-dispatcher settings: the shared sections plus the role, the consumer and `[webhooks]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
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
    pub dispatcher: DispatcherSection,
    pub consumer: ConsumerSection,
    pub webhooks: WebhookSettings,
    pub secrets: SecretsSection,
}

/// `[secrets]`: the key ring that seals webhook signing secrets at rest ([`crate::sealing`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SecretsSection {
    /// `<id>:<base64 of 32 random bytes>`, comma-separated; the first seals, all open.
    pub keys: uapi_platform::secret::Secret,
}

impl SecretsSection {
    pub fn key_ring(&self) -> Result<crate::sealing::KeyRing, ConfigError> {
        crate::sealing::KeyRing::parse(self.keys.expose()).map_err(|e| ConfigError::invalid("secrets.keys", e))
    }
}

/// What a process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The HTTP API only.
    Api,
    /// The event consumer and the delivery loop only.
    Worker,
    /// Both.
    All,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(Self::Api),
            "worker" => Some(Self::Worker),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    pub fn serves_api(self) -> bool {
        matches!(self, Self::Api | Self::All)
    }

    pub fn delivers(self) -> bool {
        matches!(self, Self::Worker | Self::All)
    }
}

/// `[dispatcher]`
#[derive(Debug, Clone, Deserialize)]
pub struct DispatcherSection {
    /// `api`, `worker` or `all`.
    pub role: Role,
}

/// `[consumer]`
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumerSection {
    /// This service's durable queue of employee and group events.
    pub queue: String,
    /// Events fanned out at once.
    pub concurrency: usize,
}

/// `[webhooks]`: targets, signing, retries, isolation.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    /// Allow targets resolving to loopback, private, link-local and other internal addresses.
    pub allow_private_targets: bool,
    /// Internal networks allowed anyway (CIDRs; a TOML list or a comma-separated string).
    #[serde(deserialize_with = "string_list")]
    pub allowed_cidrs: Vec<String>,
    /// How long the previous secret keeps signing after a rotation.
    pub secret_grace_secs: u64,
    /// Delay before each attempt, in seconds (a list, or a comma-separated string in the env).
    #[serde(deserialize_with = "number_list")]
    pub retry_schedule_secs: Vec<f64>,
    /// Fraction by which each delay is moved at random either way.
    pub retry_jitter: f64,
    /// Longest `Retry-After` honoured, in seconds.
    pub retry_after_cap_secs: u64,
    /// A subscription failing without a success for this long is disabled.
    pub disable_after_failing_secs: u64,
    /// One attempt's time limit.
    pub request_timeout_ms: u64,
    /// How long a claimed delivery belongs to its worker.
    pub lease_ms: u64,
    /// How often workers look for due retries and expired leases.
    pub poll_interval_ms: u64,
    /// Attempts in flight per process.
    pub max_in_flight: usize,
    /// Attempts in flight per process to one subscription.
    pub max_in_flight_per_endpoint: usize,
    /// Consecutive failures that open a subscription's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before a trial attempt.
    pub breaker_cooldown_ms: u64,
    /// Deliveries held back for a subscription that cannot take them become deliveries after this
    /// long at the latest, whatever its state (a worker that held them may be gone).
    pub hold_max_secs: u64,
    /// Finished deliveries (and their attempts) are deleted after this many days.
    pub retention_days: u32,
    /// How long a worker's copy of an application's subscriptions serves early sends; 0 turns
    /// early sends off.
    pub subscription_cache_ms: u64,
    /// How long a version waits for the delivery of the version before it (which may reach the
    /// dispatcher later) before it goes without it.
    pub order_gap_ms: u64,
}

impl WebhookSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    pub fn order_gap(&self) -> Duration {
        Duration::from_millis(self.order_gap_ms)
    }

    pub fn subscription_cache(&self) -> Duration {
        Duration::from_millis(self.subscription_cache_ms)
    }

    /// The delay before attempt `step` (0-based) on the ladder, without jitter; `None` past its end.
    pub fn delay_before(&self, step: usize) -> Option<Duration> {
        self.retry_schedule_secs.get(step).map(|s| Duration::from_secs_f64(*s))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrString<T> {
    List(Vec<T>),
    One(T),
    Text(String),
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match ListOrString::<String>::deserialize(d)? {
        ListOrString::List(v) => v,
        ListOrString::One(s) | ListOrString::Text(s) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
    })
}

fn number_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    match ListOrString::<f64>::deserialize(d)? {
        ListOrString::List(v) => Ok(v),
        ListOrString::One(n) => Ok(vec![n]),
        ListOrString::Text(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f64>().map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))))
            .collect(),
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
        self.database.validate()?;
        self.amqp.validate()?;
        self.auth.validate()?;
        if self.consumer.queue.is_empty() {
            return Err(ConfigError::invalid("consumer.queue", "must not be empty"));
        }
        if !(1..=usize::from(self.amqp.prefetch)).contains(&self.consumer.concurrency) {
            return Err(ConfigError::invalid("consumer.concurrency", "must be between 1 and amqp.prefetch"));
        }
        let w = &self.webhooks;
        for cidr in &w.allowed_cidrs {
            if cidr.parse::<ipnet::IpNet>().is_err() && cidr.parse::<std::net::IpAddr>().is_err() {
                return Err(ConfigError::invalid("webhooks.allowed_cidrs", format!("{cidr:?} is not a CIDR")));
            }
        }
        if w.retry_schedule_secs.is_empty()
            || w.retry_schedule_secs.iter().any(|s| !s.is_finite() || *s < 0.0 || *s > 30.0 * 86_400.0)
        {
            return Err(ConfigError::invalid(
                "webhooks.retry_schedule_secs",
                "must list at least one delay, each between 0 and 30 days",
            ));
        }
        if !(0.0..=0.5).contains(&w.retry_jitter) {
            return Err(ConfigError::invalid("webhooks.retry_jitter", "must be between 0 and 0.5"));
        }
        if w.request_timeout_ms == 0 {
            return Err(ConfigError::invalid("webhooks.request_timeout_ms", "must be positive"));
        }
        if w.lease_ms < w.request_timeout_ms.saturating_add(2000) {
            return Err(ConfigError::invalid(
                "webhooks.lease_ms",
                "must exceed webhooks.request_timeout_ms by at least 2000 ms",
            ));
        }
        if w.poll_interval_ms == 0 {
            return Err(ConfigError::invalid("webhooks.poll_interval_ms", "must be positive"));
        }
        if w.max_in_flight == 0 || w.max_in_flight_per_endpoint == 0 {
            return Err(ConfigError::invalid("webhooks.max_in_flight", "limits must be positive"));
        }
        if w.retention_days == 0 {
            return Err(ConfigError::invalid("webhooks.retention_days", "must be positive"));
        }
        if w.hold_max_secs == 0 {
            return Err(ConfigError::invalid("webhooks.hold_max_secs", "must be positive"));
        }
        if w.subscription_cache_ms > 60_000 {
            return Err(ConfigError::invalid(
                "webhooks.subscription_cache_ms",
                "must be at most 60000 (a subscription change reaches early sends within it)",
            ));
        }
        if w.breaker_failures == 0 {
            return Err(ConfigError::invalid("webhooks.breaker_failures", "must be positive"));
        }
        self.secrets.key_ring()?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Settings sources with `pairs` and a fresh verifying key (the one value with no default).
    pub(crate) fn env(pairs: &[(&str, &str)]) -> Sources {
        let mut map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (_, verifying) = uapi_platform::auth::generate_keypair().expect("key pair");
        map.insert("UAPI_AUTH__VERIFYING_KEY".into(), verifying);
        map.entry("UAPI_SECRETS__KEYS".into()).or_insert_with(|| crate::sealing::KeyRing::new_entry("test"));
        Sources { file: None, env: Some(map) }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = Settings::load(env(&[])).expect("loads");
        assert_eq!(s.http.port, 8083);
        assert!(!s.webhooks.allow_private_targets);
        assert_eq!(s.webhooks.retry_schedule_secs, vec![0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]);
        assert_eq!(s.dispatcher.role, Role::All);
        assert_eq!(s.consumer.queue, "webhook-dispatcher.events");
    }

    #[test]
    fn lists_come_from_the_environment_as_comma_separated_strings() {
        let s = Settings::load(env(&[
            ("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "0,0.1,0.2"),
            ("UAPI_WEBHOOKS__ALLOWED_CIDRS", "10.0.0.0/8, fd00::/8"),
            ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
        ]))
        .expect("loads");
        assert_eq!(s.webhooks.retry_schedule_secs, vec![0.0, 0.1, 0.2]);
        assert_eq!(s.webhooks.allowed_cidrs, vec!["10.0.0.0/8", "fd00::/8"]);
        assert!(s.webhooks.allow_private_targets);
        let one = Settings::load(env(&[("UAPI_WEBHOOKS__RETRY_SCHEDULE_SECS", "5")])).expect("loads");
        assert_eq!(one.webhooks.retry_schedule_secs, vec![5.0]);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Settings::load(env(&[("UAPI_WEBHOOKS__ALLOWED_CIDRS", "nope")])).expect_err("rejects");
        assert!(err.to_string().contains("UAPI_WEBHOOKS__ALLOWED_CIDRS"), "{err}");
        let err = Settings::load(env(&[("UAPI_WEBHOOKS__LEASE_MS", "10")])).expect_err("rejects");
        assert!(err.to_string().contains("webhooks.lease_ms"), "{err}");
    }
}
