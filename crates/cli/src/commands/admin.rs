//! `uapi admin create-application`

use reqwest::Method;
use serde_json::json;

use super::Ctx;
use crate::cli::AdminCommand;
use crate::error::CliError;
use crate::output;

pub async fn run(ctx: &mut Ctx, cmd: AdminCommand) -> Result<(), CliError> {
    match cmd {
        AdminCommand::CreateApplication { name, admin_token } => {
            let res = ctx
                .api
                .call(Method::POST, &ctx.cp("/admin/applications"), Some(&admin_token), Some(&json!({ "name": name })))
                .await?;
            ctx.show(&res, |v| {
                output::record(v);
                eprintln!(
                    "\nThe API key is shown only once. Next: uapi auth --application-id {} --api-key <apiKey>",
                    v["applicationId"].as_str().unwrap_or("ID")
                );
            });
            Ok(())
        }
    }
}
