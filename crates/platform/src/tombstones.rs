//! What a replica knows of deleted things (consumers): a deletion for good, "not deleted" for a
//! moment, so a hot path asks the database about each id at most once every [`ALIVE_FOR`].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long "not deleted" is believed without asking again: a deletion takes effect at most
/// this long after it is in the database.
pub const ALIVE_FOR: Duration = Duration::from_secs(2);

/// Entries kept at most; the expired "alive" answers go first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct Tombstones {
    deleted: RwLock<HashSet<Uuid>>,
    alive: RwLock<HashMap<Uuid, Instant>>,
}

impl Tombstones {
    /// Whether `id` is deleted, asking `lookup` (the database) when this replica does not know.
    pub async fn is_deleted<E, F>(&self, id: Uuid, lookup: impl FnOnce() -> F) -> Result<bool, E>
    where
        F: Future<Output = Result<bool, E>>,
    {
        if self.deleted.read().is_ok_and(|d| d.contains(&id)) {
            return Ok(true);
        }
        if self.alive.read().is_ok_and(|a| a.get(&id).is_some_and(|at| at.elapsed() < ALIVE_FOR)) {
            return Ok(false);
        }
        let deleted = lookup().await?;
        if deleted {
            self.note_deleted(id);
        } else if let Ok(mut a) = self.alive.write() {
            if a.len() >= MAX_ENTRIES {
                a.retain(|_, at| at.elapsed() < ALIVE_FOR);
                if a.len() >= MAX_ENTRIES {
                    a.clear();
                }
            }
            a.insert(id, Instant::now());
        }
        Ok(deleted)
    }

    /// Whether this replica knows `id` is deleted, without asking anyone.
    pub fn known_deleted(&self, id: Uuid) -> bool {
        self.deleted.read().is_ok_and(|d| d.contains(&id))
    }

    /// `id` is deleted (this replica deleted it).
    pub fn note_deleted(&self, id: Uuid) {
        if let Ok(mut d) = self.deleted.write() {
            d.insert(id);
        }
        if let Ok(mut a) = self.alive.write() {
            a.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deletion_is_kept_and_life_is_asked_again_later() {
        let t = Tombstones::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(t.is_deleted(a, || async { Ok::<_, ()>(false) }).await, Ok(false));
        assert_eq!(t.is_deleted(a, || async { Err(()) }).await, Ok(false), "alive is believed for a moment");
        assert_eq!(t.is_deleted(b, || async { Ok::<_, ()>(true) }).await, Ok(true));
        assert_eq!(t.is_deleted(b, || async { Err(()) }).await, Ok(true), "a deletion for good");
        t.note_deleted(a);
        assert_eq!(t.is_deleted(a, || async { Err(()) }).await, Ok(true));
    }
}

/// How a service tells whether a consumer was deleted (its database), registered as
/// `web::Data<ConsumerCheck>`; [`LiveConsumer`] asks it through [`Tombstones`].
pub struct ConsumerCheck {
    tombstones: Tombstones,
    #[allow(clippy::type_complexity)]
    lookup: Box<
        dyn Fn(Uuid) -> futures_util::future::BoxFuture<'static, Result<bool, crate::error::ApiError>> + Send + Sync,
    >,
}

impl ConsumerCheck {
    pub fn new<F>(lookup: impl Fn(Uuid) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<bool, crate::error::ApiError>> + Send + 'static,
    {
        Self { tombstones: Tombstones::default(), lookup: Box::new(move |id| Box::pin(lookup(id))) }
    }
}

/// A consumer-scope caller whose consumer still exists: a deleted consumer's tokens are refused
/// (401) for the rest of their lifetime, within [`ALIVE_FOR`] of the deletion reaching the service.
#[derive(Debug, Clone)]
pub struct LiveConsumer {
    pub application_id: Uuid,
    pub consumer_id: Uuid,
}

impl actix_web::FromRequest for LiveConsumer {
    type Error = crate::error::ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let principal = crate::auth::ConsumerPrincipal::from_request(req, payload).into_inner();
        let check = req.app_data::<actix_web::web::Data<ConsumerCheck>>().cloned();
        Box::pin(async move {
            let who = principal?;
            let check = check
                .ok_or_else(|| crate::error::ApiError::Internal(anyhow::anyhow!("ConsumerCheck not registered")))?;
            if check.tombstones.is_deleted(who.consumer_id, || (check.lookup)(who.consumer_id)).await? {
                return Err(crate::problem::Problem::unauthorized(
                    "this consumer was deleted; its tokens no longer work",
                )
                .into());
            }
            Ok(Self { application_id: who.application_id, consumer_id: who.consumer_id })
        })
    }
}
