//! Layered configuration: compiled-in defaults → optional file → `UAPI_<SECTION>__<KEY>` environment,
//! then validation that names the offending key. The sections every service shares live here; each
//! service composes them with its own.

use std::collections::HashMap;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::secret::Secret;

/// Why settings could not be loaded. The message names the key, so an operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: `{key}` (env {env}): {reason}")]
    Invalid { key: String, env: String, reason: String },
}

impl ConfigError {
    /// An invalid value at `key` (dotted, e.g. `database.pool_size`).
    pub fn invalid(key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid { key: key.to_owned(), env: env_name(key), reason: reason.into() }
    }
}

/// The environment variable that sets a dotted key: `database.pool_size` → `UAPI_DATABASE__POOL_SIZE`.
pub fn env_name(key: &str) -> String {
    format!("UAPI_{}", key.replace('.', "__").to_uppercase())
}

/// Settings that can check themselves after deserialization.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Where settings come from besides the compiled-in defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// An optional TOML file (e.g. a ConfigMap mount). A missing file is not an error.
    pub file: Option<String>,
    /// Environment overrides; `None` reads the real process environment. Tests pass a map.
    pub env: Option<HashMap<String, String>>,
}

/// Loads and validates settings of type `T` from `defaults` (TOML) and `sources`.
pub fn load<T: DeserializeOwned + Validate>(defaults: &str, sources: Sources) -> Result<T, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(defaults, FileFormat::Toml));
    if let Some(path) = &sources.file {
        builder = builder.add_source(File::with_name(path).format(FileFormat::Toml).required(false));
    }
    let settings: T = builder
        .add_source(
            Environment::with_prefix("UAPI")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(sources.env),
        )
        .build()?
        .try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

/// `[http]`: the listener and how it drains.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Address to bind; `0.0.0.0` in containers.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// After SIGTERM, how long `/readyz` says 503 before the listener closes, so load balancers move away.
    pub drain_delay_ms: u64,
    /// How long in-flight requests may take to finish after the listener closes.
    pub shutdown_timeout_secs: u64,
    /// Origins (`scheme://host[:port]`, comma-separated) whose pages may call this API from a
    /// browser: the portal's, for its API Explorer. Empty: none.
    #[serde(default)]
    pub cors_origins: String,
}

impl HttpSettings {
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        if self.host.parse::<std::net::IpAddr>().is_err() && self.host != "localhost" {
            return Err(ConfigError::invalid(&format!("{section}.host"), "must be an IP address or localhost"));
        }
        if self.body_limit_bytes == 0 {
            return Err(ConfigError::invalid(&format!("{section}.body_limit_bytes"), "must be positive"));
        }
        for origin in self.cors_origins() {
            let parsed = url::Url::parse(origin).ok();
            let is_origin = parsed.is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.path() == "/"
                    && !origin.ends_with('/')
                    && u.query().is_none()
            });
            if !is_origin {
                return Err(ConfigError::invalid(
                    &format!("{section}.cors_origins"),
                    format!("{origin:?} is not an origin like https://portal.example.com"),
                ));
            }
        }
        Ok(())
    }

    /// The origins of [`HttpSettings::cors_origins`], one by one.
    pub fn cors_origins(&self) -> impl Iterator<Item = &str> {
        self.cors_origins.split(',').map(str::trim).filter(|o| !o.is_empty())
    }
}

/// `[database]`: the service's own Postgres database.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://user[:password]@host:port/dbname`.
    pub url: Secret,
    /// Connections in the pool; 8–16 is the sweet spot on small machines.
    pub pool_size: usize,
    /// How long a request waits for a free connection before it fails with 503.
    pub acquire_timeout_ms: u64,
    /// How long opening a new connection may take.
    pub connect_timeout_ms: u64,
    /// Server-side `statement_timeout` for every pooled connection; 0 disables it.
    pub statement_timeout_ms: u64,
}

impl DatabaseSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(self.url.expose())
            .map_err(|e| ConfigError::invalid("database.url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConfigError::invalid("database.url", "scheme must be postgres://"));
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(ConfigError::invalid("database.url", "must name a database"));
        }
        if self.pool_size == 0 {
            return Err(ConfigError::invalid("database.pool_size", "must be positive"));
        }
        Ok(())
    }
}

/// `[amqp]`: the RabbitMQ broker.
#[derive(Debug, Clone, Deserialize)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:port/vhost` (`%2f` is the default vhost).
    pub url: Secret,
    /// The topic exchange events travel on.
    pub exchange: String,
    /// Unacknowledged deliveries a consumer may hold; ≥ 64 keeps a quorum queue draining fast.
    pub prefetch: u16,
    /// For `amqps://`: a PEM file of CA certificates to trust besides the system's; empty: the
    /// system's alone.
    pub ca_file: String,
}

impl AmqpSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(self.url.expose())
            .map_err(|e| ConfigError::invalid("amqp.url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "amqp" | "amqps") {
            return Err(ConfigError::invalid("amqp.url", "scheme must be amqp:// or amqps://"));
        }
        if self.exchange.is_empty() {
            return Err(ConfigError::invalid("amqp.exchange", "must not be empty"));
        }
        if self.prefetch == 0 {
            return Err(ConfigError::invalid("amqp.prefetch", "must be positive"));
        }
        Ok(())
    }
}

/// `[outbox]`: the relay that publishes a service's outbox.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    /// Events claimed and published per relay round (their confirms are awaited together).
    pub batch_size: i64,
    /// Relay rounds awaiting their confirms at once (the next round claims and publishes while
    /// earlier ones wait).
    pub rounds_in_flight: usize,
    /// How often the relay looks for events written by other replicas.
    pub poll_interval_ms: u64,
}

impl OutboxSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_size < 1 {
            return Err(ConfigError::invalid("outbox.batch_size", "must be positive"));
        }
        if self.rounds_in_flight == 0 {
            return Err(ConfigError::invalid("outbox.rounds_in_flight", "must be positive"));
        }
        Ok(())
    }

    /// `queues` (comma-separated), each with `bindings`: the mailboxes of [`Self::relay`].
    pub fn mailboxes(queues: &str, bindings: &[&str]) -> Vec<(String, Vec<String>)> {
        let bindings: Vec<String> = bindings.iter().map(|b| (*b).to_owned()).collect();
        queues.split(',').map(str::trim).filter(|q| !q.is_empty()).map(|q| (q.to_owned(), bindings.clone())).collect()
    }

    /// The relay's settings for `exchange`, declaring `mailboxes` (queue, bindings) first.
    pub fn relay(&self, exchange: &str, mailboxes: Vec<(String, Vec<String>)>) -> crate::outbox::RelaySettings {
        crate::outbox::RelaySettings {
            exchange: exchange.to_owned(),
            batch_size: self.batch_size,
            rounds_in_flight: self.rounds_in_flight,
            poll_interval: std::time::Duration::from_millis(self.poll_interval_ms),
            mailboxes,
        }
    }
}

/// `[telemetry]`: logs and traces.
#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// `json` (one object per line, for collectors) or `pretty` (for people at a terminal).
    pub log_format: LogFormat,
    /// Default filter when `RUST_LOG` is unset, e.g. `info,actix_server=warn`.
    pub log_filter: String,
    /// OTLP/HTTP traces endpoint (e.g. `http://otel-collector:4318/v1/traces`); empty disables export.
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is honoured when this is empty.
    pub otlp_endpoint: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// `[auth]` as every verifying service sees it: the public half of the access-token key.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifySettings {
    /// Base64 of the raw 32-byte Ed25519 public key that verifies access tokens.
    pub verifying_key: String,
}

impl VerifySettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::auth::TokenVerifier::from_base64(&self.verifying_key).map(|_| ()).map_err(|e| {
            ConfigError::invalid("auth.verifying_key", format!("required, base64 of the Ed25519 public key: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        http: HttpSettings,
        database: DatabaseSettings,
    }
    impl Validate for Sample {
        fn validate(&self) -> Result<(), ConfigError> {
            self.http.validate("http")?;
            self.database.validate()
        }
    }

    const DEFAULTS: &str = r#"
        [http]
        host = "127.0.0.1"
        port = 8080
        workers = 0
        body_limit_bytes = 1048576
        drain_delay_ms = 0
        shutdown_timeout_secs = 5
        [database]
        url = "postgres://postgres@127.0.0.1:5432/sample"
        pool_size = 8
        acquire_timeout_ms = 1000
        connect_timeout_ms = 1000
        statement_timeout_ms = 0
    "#;

    fn env(pairs: &[(&str, &str)]) -> Sources {
        Sources { file: None, env: Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()) }
    }

    #[test]
    fn environment_overrides_defaults_and_parses_numbers() {
        let s: Sample =
            load(DEFAULTS, env(&[("UAPI_HTTP__PORT", "9090"), ("UAPI_DATABASE__POOL_SIZE", "3")])).expect("loads");
        assert_eq!(s.http.port, 9090);
        assert_eq!(s.database.pool_size, 3);
        assert_eq!(s.http.host, "127.0.0.1");
    }

    #[test]
    fn invalid_value_names_the_key_and_its_env_variable() {
        let err = load::<Sample>(DEFAULTS, env(&[("UAPI_DATABASE__URL", "mysql://x/y")])).expect_err("rejects");
        let msg = err.to_string();
        assert!(msg.contains("database.url") && msg.contains("UAPI_DATABASE__URL"), "{msg}");
    }

    #[test]
    fn mistyped_value_is_a_load_error_naming_the_key() {
        let err = load::<Sample>(DEFAULTS, env(&[("UAPI_HTTP__PORT", "eighty")])).expect_err("rejects");
        assert!(err.to_string().contains("port"), "{err}");
    }

    #[test]
    fn cors_origins_are_origins() {
        let ok = ("UAPI_HTTP__CORS_ORIGINS", "http://127.0.0.1:8084, https://portal.example.com");
        let s: Sample = load(DEFAULTS, env(&[ok])).expect("loads");
        assert_eq!(s.http.cors_origins().collect::<Vec<_>>(), ["http://127.0.0.1:8084", "https://portal.example.com"]);
        for bad in ["https://portal.example.com/", "https://x.example/path", "ftp://x.example", "portal.example.com"] {
            let err = load::<Sample>(DEFAULTS, env(&[("UAPI_HTTP__CORS_ORIGINS", bad)])).expect_err(bad);
            assert!(err.to_string().contains("http.cors_origins"), "{err}");
        }
    }

    #[test]
    fn env_name_follows_the_contract() {
        assert_eq!(env_name("webhooks.allow_private_targets"), "UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS");
    }
}
