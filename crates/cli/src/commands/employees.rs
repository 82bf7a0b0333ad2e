//! `uapi employees list|get`

use reqwest::Method;

use super::Ctx;
use crate::cli::EmployeesCommand;
use crate::error::CliError;
use crate::output;

const COLUMNS: [(&str, &str); 6] = [
    ("ID", "/id"),
    ("USERNAME", "/userName"),
    ("NAME", "/displayName"),
    ("STATUS", "/employmentStatus"),
    ("VERSION", "/version"),
    ("UPDATED", "/updatedAt"),
];

/// `key=value` pairs for the query string, percent-encoded.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

pub async fn run(ctx: &mut Ctx, cmd: EmployeesCommand) -> Result<(), CliError> {
    match cmd {
        EmployeesCommand::List { consumer, page, employment_status, work_email, updated_after, include_deleted } => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let q = query(&[
                ("employmentStatus", employment_status),
                ("workEmail", work_email),
                ("updatedAfter", updated_after),
                ("includeDeleted", include_deleted.then(|| "true".to_owned())),
            ]);
            let url =
                if q.is_empty() { ctx.es("/api/hris/employees") } else { ctx.es(&format!("/api/hris/employees?{q}")) };
            ctx.list(&url, &token, &page, &COLUMNS).await
        }
        EmployeesCommand::Get(crate::cli::ConsumerResource { consumer, id }) => {
            let token = ctx.consumer_token(&consumer.consumer).await?;
            let res =
                ctx.api.call(Method::GET, &ctx.es(&format!("/api/hris/employees/{id}")), Some(&token), None).await?;
            ctx.show(&res, |v| output::record(&v["data"]));
            Ok(())
        }
    }
}
