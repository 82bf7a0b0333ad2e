//! Consumers (application scope): create, list, get, delete.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::AppPrincipal;
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use uuid::Uuid;

use super::required_text;
use crate::db::{connections, consumers, consumers::Consumer, is_unique_violation};
use crate::error::{ApiError, ApiResult};
use crate::events::connection_deleted;
use crate::state::AppState;
use uapi_platform::pagination::{self, PageQuery};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/consumers", web::post().to(create))
        .route("/api/consumers", web::get().to(list))
        .route("/api/consumers/{id}", web::get().to(get))
        .route("/api/consumers/{id}", web::delete().to(delete));
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerView {
    id: Uuid,
    name: String,
    reference: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Consumer> for ConsumerView {
    fn from(c: Consumer) -> Self {
        Self { id: c.id, name: c.name, reference: c.reference, created_at: c.created_at }
    }
}

#[derive(Deserialize)]
struct CreateConsumer {
    name: String,
    reference: Option<String>,
}

async fn create(
    who: AppPrincipal,
    state: web::Data<AppState>,
    body: JsonBody<CreateConsumer>,
) -> ApiResult<HttpResponse> {
    let name = required_text("name", &body.name, 200)?;
    let reference = body.reference.as_deref().map(|r| required_text("reference", r, 200)).transpose()?;
    let consumer = Consumer {
        id: Uuid::now_v7(),
        application_id: who.application_id,
        name,
        reference,
        created_at: crate::db::now(),
    };
    let mut conn = state.pool.get().await?;
    match consumers::insert(&mut conn, &consumer).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Problem::conflict("a consumer with this reference already exists").into());
        }
        other => other?,
    }
    Ok(HttpResponse::Created().json(ConsumerView::from(consumer)))
}

async fn list(who: AppPrincipal, state: web::Data<AppState>, query: web::Query<PageQuery>) -> ApiResult<HttpResponse> {
    let page = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = consumers::list(&mut conn, who.application_id, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |c| c.id, ConsumerView::from)))
}

fn not_found(id: Uuid) -> ApiError {
    Problem::not_found(format!("consumer {id} not found")).into()
}

async fn get(who: AppPrincipal, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let consumer = consumers::find(&mut conn, who.application_id, *id).await?.ok_or_else(|| not_found(*id))?;
    Ok(HttpResponse::Ok().json(ConsumerView::from(consumer)))
}

/// Deletes the consumer and its connections; their SCIM tokens stop working.
async fn delete(who: AppPrincipal, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    use diesel_async::AsyncConnection;
    let (app, id) = (who.application_id, *id);
    let mut conn = state.pool.get().await?;
    let deleted = conn
        .transaction::<bool, diesel::result::Error, _>(async |conn| {
            let Some(consumer) = consumers::find(conn, app, id).await? else {
                return Ok(false);
            };
            for c in connections::all_of(conn, consumer.id).await? {
                connection_deleted(conn, &c).await?;
            }
            consumers::delete(conn, app, id).await
        })
        .await?;
    if !deleted {
        return Err(not_found(id));
    }
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}
