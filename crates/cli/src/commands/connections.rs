//! `uapi connections create|list|get|rotate-token|delete`

use reqwest::Method;
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::ConnectionsCommand;
use crate::error::CliError;
use crate::output;

const COLUMNS: [(&str, &str); 5] = [
    ("ID", "/id"),
    ("SERVICE", "/serviceId"),
    ("STATUS", "/status"),
    ("BASE URL", "/metadata/baseUrl"),
    ("CREATED", "/createdAt"),
];

fn show_connection(v: &Value) {
    output::record(v);
    if v["serviceId"] == "okta-scim" {
        eprintln!(
            "\nIn Okta: SCIM connector base URL = metadata.baseUrl; authentication = HTTP Header, token = metadata.apiToken."
        );
    }
}

pub async fn run(ctx: &mut Ctx, cmd: ConnectionsCommand) -> Result<(), CliError> {
    match cmd {
        ConnectionsCommand::Create { consumer, service } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let body = json!({ "serviceId": service });
            let res = ctx.api.call(Method::POST, &ctx.cp("/api/connections"), Some(&token), Some(&body)).await?;
            ctx.show(&res, show_connection);
        }
        ConnectionsCommand::List { consumer, page } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            ctx.list(&ctx.cp("/api/connections"), &token, &page, &COLUMNS).await?;
        }
        ConnectionsCommand::Get { consumer, id } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let res = ctx.api.call(Method::GET, &ctx.cp(&format!("/api/connections/{id}")), Some(&token), None).await?;
            ctx.show(&res, show_connection);
        }
        ConnectionsCommand::RotateToken { consumer, id } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let url = ctx.cp(&format!("/api/connections/{id}/rotate-token"));
            let res = ctx.api.call(Method::POST, &url, Some(&token), None).await?;
            ctx.show(&res, show_connection);
        }
        ConnectionsCommand::Delete { consumer, id } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            ctx.api.call(Method::DELETE, &ctx.cp(&format!("/api/connections/{id}")), Some(&token), None).await?;
            ctx.show(&json!({ "deleted": id }), |_| println!("Deleted connection {id}"));
        }
    }
    Ok(())
}
