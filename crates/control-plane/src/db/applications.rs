//! Applications and their API keys.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::applications;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: Uuid,
    pub name: String,
    pub api_key_sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, app: &Application) -> QueryResult<()> {
    diesel::insert_into(applications::table).values(app).execute(conn).await.map(|_| ())
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Application>> {
    applications::table.find(id).select(Application::as_select()).first(conn).await.optional()
}
