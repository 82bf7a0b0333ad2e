//! `uapi auth`: exchange the API key for an access token and save both in the profile.

use serde_json::json;

use super::Ctx;
use crate::cli::AuthArgs;
use crate::error::CliError;

pub async fn run(ctx: &mut Ctx, args: AuthArgs) -> Result<(), CliError> {
    let api_key = args
        .api_key
        .or_else(|| ctx.profile.api_key.clone())
        .ok_or_else(|| CliError::Usage("--api-key is required (or UAPI_API_KEY)".into()))?;
    let (token, scope) = match (&args.consumer_id, &args.application_id) {
        (Some(consumer), _) => {
            let t = ctx.exchange(json!({ "apiKey": api_key, "consumerId": consumer, "scope": "consumer" })).await?;
            ctx.profile.consumer_tokens.insert(consumer.clone(), t.clone());
            (t, "consumer")
        }
        (None, app) => {
            let app = app
                .clone()
                .or_else(|| ctx.profile.application_id.clone())
                .ok_or_else(|| CliError::Usage("--application-id (or --consumer-id) is required".into()))?;
            let t = ctx.exchange(json!({ "apiKey": api_key, "applicationId": app, "scope": "application" })).await?;
            ctx.profile.application_id = Some(app);
            ctx.profile.application_token = Some(t.clone());
            (t, "application")
        }
    };
    ctx.profile.api_key = Some(api_key);
    ctx.profile.control_plane_url = Some(ctx.control_plane.clone());
    ctx.profile.employee_store_url = Some(ctx.employee_store.clone());
    ctx.profile.webhooks_url = Some(ctx.webhooks.clone());
    ctx.profile.save()?;
    let shown = json!({ "scope": scope, "accessToken": token.token, "expiresAt": token.expires_at, "profile": crate::profile::dir()?.join("config.toml") });
    ctx.show(&shown, |_| {
        println!("Authenticated ({scope} scope); credentials saved to {}", shown["profile"].as_str().unwrap_or(""))
    });
    Ok(())
}
