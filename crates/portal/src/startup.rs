//! Builds the portal from its settings and runs it until shutdown. It holds no state of its own but
//! its sessions (in memory) and talks to the other services only through their public APIs.

use std::time::Duration;

use actix_web::web;
use tokio_util::sync::CancellationToken;
use uapi_platform::health::Readiness;
use uapi_platform::http::{self, HttpService};
use uapi_platform::metrics::Metrics;
use uapi_platform::problem::ErrorStyle;

use crate::api::Apis;
use crate::config::Settings;
use crate::domain::session::Sessions;
use crate::routes;

pub const SERVICE: &str = "portal";

pub struct Application {
    http: HttpService,
}

impl Application {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let explorer = routes::explorer::config();
        let public = web::Data::new(routes::explorer::PublicServices(settings.services.clone()));
        let apis =
            web::Data::new(Apis::new(settings.backend(), Duration::from_millis(settings.session.api_timeout_ms))?);
        let sessions = web::Data::new(Sessions::new(Duration::from_secs(settings.session.lifetime_secs)));
        let http = http::bind(
            &settings.http,
            Readiness::new(None, None),
            Metrics::new(SERVICE),
            ErrorStyle::Problem,
            move |cfg| {
                cfg.app_data(apis.clone()).app_data(sessions.clone()).app_data(public.clone());
                routes::configure(cfg, explorer.clone());
            },
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
