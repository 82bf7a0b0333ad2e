//! An application, consumer and Okta SCIM connection for the run, through the public APIs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Clone)]
pub struct Target {
    pub scim: String,
    pub scim_token: String,
    pub store: String,
    pub consumer_token: String,
    /// Application scope: the webhooks API.
    pub app_token: String,
    /// Prefix that keeps this run's userNames unique.
    pub run: String,
    /// The application's id and API key: what a browser signs in to the portal with.
    pub application_id: String,
    pub api_key: String,
    pub consumer_id: String,
    pub connection_id: String,
}

pub async fn tenant(client: &reqwest::Client, cp: &str, store: &str, admin: &str) -> anyhow::Result<Target> {
    let post = |url: String, token: Option<String>, body: Value| async move {
        let mut req = client.post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await?.error_for_status()?;
        anyhow::Ok(res.json::<Value>().await?)
    };
    let app = post(format!("{cp}/admin/applications"), Some(admin.to_owned()), json!({ "name": "bench" })).await?;
    let key = app["apiKey"].as_str().unwrap_or_default().to_owned();
    let auth = post(
        format!("{cp}/api/auth"),
        None,
        json!({ "apiKey": key, "applicationId": app["applicationId"], "scope": "application" }),
    )
    .await?;
    let app_token = auth["accessToken"].as_str().unwrap_or_default().to_owned();
    let consumer = post(format!("{cp}/api/consumers"), Some(app_token.clone()), json!({ "name": "bench" })).await?;
    let auth = post(
        format!("{cp}/api/auth"),
        None,
        json!({ "apiKey": key, "consumerId": consumer["id"], "scope": "consumer" }),
    )
    .await?;
    let consumer_token = auth["accessToken"].as_str().unwrap_or_default().to_owned();
    let conn = post(format!("{cp}/api/connections"), Some(consumer_token.clone()), json!({ "serviceId": "okta-scim" }))
        .await?;
    let target = Target {
        scim: conn["metadata"]["baseUrl"].as_str().unwrap_or_default().to_owned(),
        scim_token: conn["metadata"]["apiToken"].as_str().unwrap_or_default().to_owned(),
        store: store.to_owned(),
        consumer_token,
        app_token,
        run: format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis()),
        application_id: app["applicationId"].as_str().unwrap_or_default().to_owned(),
        api_key: key,
        consumer_id: consumer["id"].as_str().unwrap_or_default().to_owned(),
        connection_id: conn["id"].as_str().unwrap_or_default().to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = client.get(format!("{}/Users?count=1", target.scim)).bearer_auth(&target.scim_token).send().await?;
        if res.status() == 200 {
            return Ok(target);
        }
        anyhow::ensure!(Instant::now() < deadline, "scim-ingress never accepted the connection token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
