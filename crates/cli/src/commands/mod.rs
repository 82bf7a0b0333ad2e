//! Command implementations and what they share: resolved URLs, the profile and token handling.

mod admin;
mod auth;
mod connections;
mod consumers;
mod employees;
mod groups;
mod listen;
mod webhooks;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Cli, Command, PageArgs};
use crate::client::Api;
use crate::error::CliError;
use crate::output;
use crate::profile::{CachedToken, Profile};

const DEFAULT_CONTROL_PLANE: &str = "http://127.0.0.1:8080";
const DEFAULT_EMPLOYEE_STORE: &str = "http://127.0.0.1:8082";
const DEFAULT_WEBHOOKS: &str = "http://127.0.0.1:8083";

pub struct Ctx {
    pub api: Api,
    pub json: bool,
    pub control_plane: String,
    pub employee_store: String,
    pub webhooks: String,
    pub profile: Profile,
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let profile = Profile::load()?;
    let control_plane = cli
        .urls
        .control_plane_url
        .clone()
        .or_else(|| profile.control_plane_url.clone())
        .unwrap_or_else(|| DEFAULT_CONTROL_PLANE.into())
        .trim_end_matches('/')
        .to_owned();
    let employee_store = cli
        .urls
        .employee_store_url
        .clone()
        .or_else(|| profile.employee_store_url.clone())
        .unwrap_or_else(|| DEFAULT_EMPLOYEE_STORE.into())
        .trim_end_matches('/')
        .to_owned();
    let webhooks = cli
        .urls
        .webhooks_url
        .clone()
        .or_else(|| profile.webhooks_url.clone())
        .unwrap_or_else(|| DEFAULT_WEBHOOKS.into())
        .trim_end_matches('/')
        .to_owned();
    let mut ctx = Ctx { api: Api::new(), json: cli.json, control_plane, employee_store, webhooks, profile };
    match cli.command {
        Command::Admin(cmd) => admin::run(&mut ctx, cmd).await,
        Command::Auth(args) => auth::run(&mut ctx, args).await,
        Command::Consumers(cmd) => consumers::run(&mut ctx, cmd).await,
        Command::Connections(cmd) => connections::run(&mut ctx, cmd).await,
        Command::Employees(cmd) => employees::run(&mut ctx, cmd).await,
        Command::Groups(cmd) => groups::run(&mut ctx, cmd).await,
        Command::Webhooks(cmd) => webhooks::run(&mut ctx, cmd).await,
    }
}

impl Ctx {
    pub fn cp(&self, path: &str) -> String {
        format!("{}{path}", self.control_plane)
    }

    /// `POST /api/auth`, returning the cached token.
    pub async fn exchange(&self, body: Value) -> Result<CachedToken, CliError> {
        let res = self.api.call(Method::POST, &self.cp("/api/auth"), None, Some(&body)).await?;
        let token = res["accessToken"].as_str().ok_or_else(|| CliError::Other("no accessToken in response".into()))?;
        Ok(CachedToken::new(token.to_owned(), res["expiresIn"].as_u64().unwrap_or(0)))
    }

    fn credentials(&self) -> Result<(String, String), CliError> {
        match (&self.profile.application_id, &self.profile.api_key) {
            (Some(app), Some(key)) => Ok((app.clone(), key.clone())),
            _ => {
                Err(CliError::Auth("not authenticated: run `uapi auth --application-id ID --api-key KEY` first".into()))
            }
        }
    }

    /// An application-scope token: cached if fresh, otherwise exchanged with the saved API key.
    pub async fn app_token(&mut self) -> Result<String, CliError> {
        if let Some(t) = self.profile.application_token.as_ref().filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let (app, key) = self.credentials()?;
        let token = self.exchange(json!({ "apiKey": key, "applicationId": app, "scope": "application" })).await?;
        self.profile.application_token = Some(token.clone());
        self.profile.save()?;
        Ok(token.token)
    }

    /// A consumer-scope token for `consumer`, cached per consumer.
    pub async fn consumer_token(&mut self, consumer: &str) -> Result<String, CliError> {
        if let Some(t) = self.profile.consumer_tokens.get(consumer).filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let (_, key) = self.credentials()?;
        let token = self.exchange(json!({ "apiKey": key, "consumerId": consumer, "scope": "consumer" })).await?;
        self.profile.consumer_tokens.retain(|_, t| t.fresh());
        self.profile.consumer_tokens.insert(consumer.to_owned(), token.clone());
        self.profile.save()?;
        Ok(token.token)
    }

    /// Prints `value` as JSON or with `human`.
    pub fn show(&self, value: &Value, human: impl FnOnce(&Value)) {
        if self.json { output::json(value) } else { human(value) }
    }

    pub fn wh(&self, path: &str) -> String {
        format!("{}{path}", self.webhooks)
    }

    pub fn es(&self, path: &str) -> String {
        format!("{}{path}", self.employee_store)
    }

    /// GETs a list (one page, or every page with `--all`) and prints it. `url` may carry a query.
    pub async fn list(
        &self,
        url: &str,
        token: &str,
        page: &PageArgs,
        columns: &[(&str, &str)],
    ) -> Result<(), CliError> {
        let mut cursor = page.cursor.clone();
        let mut rows = Vec::new();
        let last = loop {
            let mut query = Vec::new();
            if let Some(limit) = page.limit {
                query.push(format!("limit={limit}"));
            }
            if let Some(c) = &cursor {
                query.push(format!("cursor={c}"));
            }
            let sep = if url.contains('?') { "&" } else { "?" };
            let full = if query.is_empty() { url.to_owned() } else { format!("{url}{sep}{}", query.join("&")) };
            let res = self.api.call(Method::GET, &full, Some(token), None).await?;
            rows.extend(res["data"].as_array().cloned().unwrap_or_default());
            match res["meta"]["next"].as_str() {
                Some(next) if page.all => cursor = Some(next.to_owned()),
                _ => break res,
            }
        };
        if self.json {
            if page.all {
                output::json(&json!({ "data": rows }));
            } else {
                output::json(&last);
            }
            return Ok(());
        }
        output::table(&rows, columns);
        if let (false, Some(next)) = (page.all, last["meta"]["next"].as_str()) {
            eprintln!("more: --cursor {next}  (or --all)");
        }
        Ok(())
    }
}
