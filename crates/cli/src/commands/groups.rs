//! `uapi groups list|get`

use reqwest::Method;

use super::Ctx;
use crate::cli::GroupsCommand;
use crate::error::CliError;
use crate::output;

/// The members are left to `get` and `--json`: a group Okta pushes may have thousands.
const COLUMNS: [(&str, &str); 4] =
    [("ID", "/id"), ("NAME", "/name"), ("REMOTE ID", "/remoteId"), ("UPDATED", "/updatedAt")];

pub async fn run(ctx: &mut Ctx, cmd: GroupsCommand) -> Result<(), CliError> {
    match cmd {
        GroupsCommand::List { consumer, page, include_deleted } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let path = if include_deleted { "/api/hris/groups?includeDeleted=true" } else { "/api/hris/groups" };
            ctx.list(&ctx.es(path), &token, &page, &COLUMNS).await
        }
        GroupsCommand::Get(crate::cli::ConsumerResource { consumer, id }) => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let res = ctx.api.call(Method::GET, &ctx.es(&format!("/api/hris/groups/{id}")), Some(&token), None).await?;
            ctx.show(&res, |v| output::record(&v["data"]));
            Ok(())
        }
    }
}
