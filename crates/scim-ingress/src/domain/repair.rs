//! `scim-ingress repair`: mends what earlier builds stored beyond the bounds of [`super::bounds`].
//! Such a user could not be read back past 126 levels, and its events could not be decoded by the
//! consumers past 32 (they went to the dead-letter queues). Its resource is cut to the bound in SQL
//! (deeper objects and arrays become null) and stored again as its next version with an event, so
//! employee-store and the webhooks get a version they can decode; a group's attributes are cut the
//! same way (its events carry none of them).

use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::bounds::MAX_DEPTH;
use super::writes;
use crate::db::connections;

/// What a repair did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    pub users: usize,
    pub groups: usize,
    /// Users cut to the bound but still refused by another bound (their ids are logged).
    pub refused: usize,
}

#[derive(diesel::QueryableByName)]
struct Deep {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    connection_id: Uuid,
}

/// Repairs every user and group deeper than the bound.
pub async fn repair(conn: &mut AsyncPgConnection) -> anyhow::Result<Repaired> {
    let depth = MAX_DEPTH as i32;
    let mut done = Repaired::default();
    let users: Vec<Deep> =
        diesel::sql_query("SELECT id, connection_id FROM users WHERE uapi_jsonb_depth(resource) > $1 ORDER BY id")
            .bind::<Integer, _>(depth)
            .load(conn)
            .await?;
    for user in users {
        // The employee holds the resource as `remoteData`, one level down.
        diesel::sql_query(
            "UPDATE users SET resource = uapi_jsonb_prune(resource, $1), employee = uapi_jsonb_prune(employee, $1 + 1) \
             WHERE id = $2",
        )
        .bind::<Integer, _>(depth)
        .bind::<SqlUuid, _>(user.id)
        .execute(conn)
        .await?;
        let tenant = connections::tenant(conn, user.connection_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user {} belongs to no known connection", user.id))?;
        match writes::reissue(conn, &tenant, user.id).await {
            Ok(_) => done.users += 1,
            Err(e) => {
                tracing::error!(user = %user.id, error = %e, "user cut to the depth bound but still refused");
                done.refused += 1;
            }
        }
    }
    done.groups = diesel::sql_query(
        "UPDATE groups SET resource = uapi_jsonb_prune(resource, $1) WHERE uapi_jsonb_depth(resource) > $1",
    )
    .bind::<Integer, _>(depth)
    .execute(conn)
    .await?;
    Ok(done)
}
