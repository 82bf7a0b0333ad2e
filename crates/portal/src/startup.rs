//! Builds the portal from its settings and runs it until shutdown. It holds no state of its own and
//! talks to the other services only through their public APIs (from the browser).

use tokio_util::sync::CancellationToken;
use uapi_platform::health::Readiness;
use uapi_platform::http::{self, HttpService};
use uapi_platform::metrics::Metrics;
use uapi_platform::problem::ErrorStyle;

use crate::config::Settings;
use crate::routes;

pub const SERVICE: &str = "portal";

pub struct Application {
    http: HttpService,
}

impl Application {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let explorer = routes::explorer::config(&settings.services);
        let http = http::bind(
            &settings.http,
            Readiness::new(None, None),
            Metrics::new(SERVICE),
            ErrorStyle::Problem,
            move |cfg| routes::configure(cfg, explorer.clone()),
        )?;
        Ok(Self { http })
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    pub async fn run_until(self, stop: CancellationToken) -> anyhow::Result<()> {
        self.http.run_until(stop).await
    }
}
