//! `uapi consumers create|list|get|delete`

use reqwest::Method;
use serde_json::json;

use super::Ctx;
use crate::cli::ConsumersCommand;
use crate::error::CliError;
use crate::output;

const COLUMNS: [(&str, &str); 4] =
    [("ID", "/id"), ("NAME", "/name"), ("REFERENCE", "/reference"), ("CREATED", "/createdAt")];

pub async fn run(ctx: &mut Ctx, cmd: ConsumersCommand) -> Result<(), CliError> {
    let token = ctx.app_token().await?;
    match cmd {
        ConsumersCommand::Create { name, reference } => {
            let body = json!({ "name": name, "reference": reference });
            let res = ctx.api.call(Method::POST, &ctx.cp("/api/consumers"), Some(&token), Some(&body)).await?;
            ctx.show(&res, output::record);
        }
        ConsumersCommand::List(page) => ctx.list(&ctx.cp("/api/consumers"), &token, &page, &COLUMNS).await?,
        ConsumersCommand::Get { id } => {
            let res = ctx.api.call(Method::GET, &ctx.cp(&format!("/api/consumers/{id}")), Some(&token), None).await?;
            ctx.show(&res, output::record);
        }
        ConsumersCommand::Delete { id } => {
            ctx.api.call(Method::DELETE, &ctx.cp(&format!("/api/consumers/{id}")), Some(&token), None).await?;
            ctx.show(&json!({ "deleted": id }), |_| println!("Deleted consumer {id}"));
        }
    }
    Ok(())
}
