//! Webhook signing secrets at rest: sealed with AES-256-GCM (aws-lc-rs) under a key ring from
//! configuration (`secrets.keys`). The first key seals; every key opens, so a key can be rotated
//! in without a flag day ([`reseal`] moves every row to the first key, after which the old one
//! can leave the ring). A sealed secret is bound to its subscription (the associated data), so
//! copying a sealed value to another row does not make it sign there.
//!
//! Stored form: `sealed:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use uuid::Uuid;

const PREFIX: &str = "sealed:v1:";

/// The configured keys; the first seals.
pub struct KeyRing {
    keys: Vec<(String, LessSafeKey)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

/// Why a stored secret cannot be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("it was sealed with key {0:?}, which is not in secrets.keys")]
    UnknownKey(String),
    #[error("it is not a sealed secret of this subscription (damaged, or sealed for another)")]
    Damaged,
}

impl KeyRing {
    /// Parses `<id>:<base64 of 32 bytes>[,<id>:<base64>…]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry.split_once(':').ok_or("each key is `<id>:<base64 of 32 random bytes>`")?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("key id {id:?}: use letters, digits, - and _"));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("key id {id:?} appears twice"));
            }
            let bytes = STANDARD.decode(b64).map_err(|_| format!("key {id:?} is not base64"))?;
            if bytes.len() != 32 {
                return Err(format!("key {id:?} has {} bytes; AES-256 needs 32", bytes.len()));
            }
            let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| format!("key {id:?} is not an AES-256 key"))?;
            keys.push((id.to_owned(), LessSafeKey::new(key)));
        }
        if keys.is_empty() {
            return Err("required: generate a key with `webhook-dispatcher keygen`".into());
        }
        Ok(Self { keys })
    }

    /// A new key ring entry, `<id>:<base64 of 32 random bytes>`.
    pub fn new_entry(id: &str) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        format!("{id}:{}", STANDARD.encode(bytes))
    }

    fn active(&self) -> &(String, LessSafeKey) {
        // ok: parse refuses an empty ring.
        &self.keys[0]
    }

    /// `secret` sealed under the first key, for `subscription`'s row.
    pub fn seal(&self, subscription: Uuid, secret: &str) -> String {
        let (id, key) = self.active();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = secret.as_bytes().to_vec();
        // Sealing into a Vec with a fresh random 96-bit nonce cannot fail.
        let _ = key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(subscription.as_bytes()),
            &mut data,
        );
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{id}:{}", STANDARD.encode(out))
    }

    /// The secret `stored` in `subscription`'s row. A value not sealed at all (written before
    /// sealing existed) is returned as it is; [`reseal`] seals those.
    pub fn open(&self, subscription: Uuid, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, b64) = rest.split_once(':').ok_or(OpenError::Damaged)?;
        let (_, key) = self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let raw = STANDARD.decode(b64).map_err(|_| OpenError::Damaged)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut data = sealed.to_vec();
        let plain =
            key.open_in_place(nonce, Aad::from(subscription.as_bytes()), &mut data).map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Damaged)
    }

    /// Whether `stored` is sealed under the first key already.
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).and_then(|r| r.split_once(':')).is_some_and(|(id, _)| id == self.active().0)
    }

    /// The first key's id (what [`reseal`] moves every row to).
    pub fn active_id(&self) -> &str {
        &self.active().0
    }
}

/// Seals every secret that is not sealed under the first key yet: rows written before sealing,
/// and rows sealed under a key being rotated out. Rows are taken in batches with `SKIP LOCKED`,
/// so replicas starting together share the work. Returns how many rows were resealed; a row
/// whose key is not in the ring is left alone and reported.
pub async fn reseal(pool: &uapi_platform::db::PgPool, keys: &KeyRing) -> anyhow::Result<usize> {
    use diesel::sql_types::{Nullable, Text};
    use diesel_async::{AsyncConnection, RunQueryDsl};

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        secret: String,
        #[diesel(sql_type = Nullable<Text>)]
        previous_secret: Option<String>,
    }

    // starts_with, not LIKE: a key id may hold `_`, a LIKE wildcard.
    let current = format!("{PREFIX}{}:", keys.active_id());
    let mut resealed = 0;
    let mut skipped: Vec<Uuid> = Vec::new();
    loop {
        let mut conn = pool.get().await?;
        let done = conn
            .transaction::<_, anyhow::Error, _>(async |conn| {
                let rows: Vec<Row> = diesel::sql_query(
                    "SELECT id, secret, previous_secret FROM subscriptions \
                     WHERE (NOT starts_with(secret, $1) OR NOT starts_with(previous_secret, $1)) AND id <> ALL($2) \
                     ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED",
                )
                .bind::<Text, _>(&current)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&skipped)
                .load(conn)
                .await?;
                if rows.is_empty() {
                    return Ok(true);
                }
                for row in rows {
                    let opened = keys.open(row.id, &row.secret).and_then(|s| {
                        let previous = row.previous_secret.as_deref().map(|p| keys.open(row.id, p)).transpose()?;
                        Ok((s, previous))
                    });
                    let (secret, previous) = match opened {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::error!(subscription = %row.id, error = %e, "a webhook secret cannot be resealed; its deliveries fail until its key is back in secrets.keys");
                            skipped.push(row.id);
                            continue;
                        }
                    };
                    diesel::sql_query("UPDATE subscriptions SET secret = $2, previous_secret = $3 WHERE id = $1")
                        .bind::<diesel::sql_types::Uuid, _>(row.id)
                        .bind::<Text, _>(keys.seal(row.id, &secret))
                        .bind::<Nullable<Text>, _>(previous.map(|p| keys.seal(row.id, &p)))
                        .execute(conn)
                        .await?;
                    resealed += 1;
                }
                Ok(false)
            })
            .await?;
        if done {
            return Ok(resealed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> (String, KeyRing) {
        let text = ids.iter().map(|id| KeyRing::new_entry(id)).collect::<Vec<_>>().join(",");
        let ring = KeyRing::parse(&text).expect("valid ring");
        (text, ring)
    }

    #[test]
    fn a_sealed_secret_opens_for_its_subscription_only() {
        let (_, keys) = ring(&["k1"]);
        let sub = Uuid::now_v7();
        let sealed = keys.seal(sub, "whsec_c2VjcmV0");
        assert!(sealed.starts_with("sealed:v1:k1:"), "{sealed}");
        assert!(!sealed.contains("c2VjcmV0"), "the secret is not readable in {sealed}");
        assert_ne!(sealed, keys.seal(sub, "whsec_c2VjcmV0"), "a fresh nonce each time");
        assert_eq!(keys.open(sub, &sealed).as_deref(), Ok("whsec_c2VjcmV0"));
        assert_eq!(keys.open(Uuid::now_v7(), &sealed), Err(OpenError::Damaged), "bound to its row");
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        assert_eq!(keys.open(sub, &tampered), Err(OpenError::Damaged));
    }

    #[test]
    fn rotation_opens_with_any_key_and_seals_with_the_first() {
        let (old_text, old) = ring(&["k1"]);
        let sub = Uuid::now_v7();
        let sealed = old.seal(sub, "whsec_x");
        let both = KeyRing::parse(&format!("{},{old_text}", KeyRing::new_entry("k2"))).expect("ring");
        assert_eq!(both.open(sub, &sealed).as_deref(), Ok("whsec_x"));
        assert!(!both.is_current(&sealed));
        assert!(both.seal(sub, "whsec_x").starts_with("sealed:v1:k2:"));
        let (_, new_only) = ring(&["k2"]);
        assert_eq!(new_only.open(sub, &sealed), Err(OpenError::UnknownKey("k1".into())));
    }

    #[test]
    fn unsealed_values_open_as_they_are() {
        let (_, keys) = ring(&["k1"]);
        assert_eq!(keys.open(Uuid::now_v7(), "whsec_legacy").as_deref(), Ok("whsec_legacy"));
    }

    #[test]
    fn bad_rings_are_refused_with_a_reason() {
        for bad in [
            "",
            "k1",
            "k1:notbase64!",
            "k1:AAAA",
            "bad id:AAAA",
            &format!("{},{}", KeyRing::new_entry("a"), KeyRing::new_entry("a")),
        ] {
            assert!(KeyRing::parse(bad).is_err(), "{bad:?} accepted");
        }
        let (_, keys) = ring(&["k1"]);
        let shown = format!("{keys:?}");
        assert!(shown.contains("k1") && shown.len() < 40, "Debug shows ids only: {shown}");
    }
}
