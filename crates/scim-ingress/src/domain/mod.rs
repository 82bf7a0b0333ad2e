//! SCIM-to-employee logic: resource validation, normalization, filters and the write pipelines of
//! users and groups, and each connection's directory status.

pub mod activity;
pub mod bounds;
pub mod filter_sql;
pub mod group_commit;
pub mod group_patch;
pub mod group_resource;
pub mod group_writes;
pub mod memberships;
pub mod normalize;
pub mod repair;
pub mod resource;
pub mod writes;

use crate::scim::error::{ScimError, ScimResult};

/// How many times a write transaction is tried while it loses lock conflicts.
const TRIES: u32 = 4;

/// Runs `write` (one transaction) again while it loses a lock conflict to a concurrent write.
/// Postgres aborts one of two transactions that deadlock; the loser goes through once the winner
/// has committed, so a client never sees a conflict it did not cause. After [`TRIES`] losses the
/// answer is 503 with `Retry-After`.
pub async fn contended<T>(mut write: impl AsyncFnMut() -> ScimResult<T>) -> ScimResult<T> {
    let mut tries = 1;
    loop {
        match write().await {
            Err(ScimError::Contended(cause)) if tries < TRIES => {
                tracing::debug!(%cause, tries, "write lost a lock conflict; trying it again");
                // A short random pause, so the two writers do not meet again in step.
                let pause = rand::random_range(1..=10 * u64::from(tries));
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                tries += 1;
            }
            done => return done,
        }
    }
}
