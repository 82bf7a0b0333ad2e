//! Setup links: a time-limited, revocable link a consumer's IT admin opens without signing in, to
//! read the connection's SCIM Base URL and API token. How long a link lives, and why one no longer
//! answers.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// A link lives a week unless its creator asks otherwise.
pub const DEFAULT_HOURS: i64 = 168;
/// At most 30 days: the link hands out a live credential.
pub const MAX_HOURS: i64 = 720;
pub const MIN_HOURS: i64 = 1;

/// How long a new link lives: `hours`, or [`DEFAULT_HOURS`] without it.
pub fn lifetime(hours: Option<i64>) -> Result<Duration, String> {
    let hours = hours.unwrap_or(DEFAULT_HOURS);
    if !(MIN_HOURS..=MAX_HOURS).contains(&hours) {
        return Err(format!("`expiresInHours` must be between {MIN_HOURS} and {MAX_HOURS} (got {hours})"));
    }
    Ok(Duration::hours(hours))
}

/// Why a link that once existed no longer answers (410 Gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    Revoked(DateTime<Utc>),
    Expired(DateTime<Utc>),
    ConsumerDeleted,
    ConnectionDeleted,
    ConnectionInactive(String),
}

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        match self {
            Self::Revoked(t) => write!(f, "this setup link was revoked at {}", at(t)),
            Self::Expired(t) => write!(f, "this setup link expired at {}", at(t)),
            Self::ConsumerDeleted => f.write_str("the customer account this setup link was for has been deleted"),
            Self::ConnectionDeleted => {
                f.write_str("the connection this setup link was for has been revoked; its credentials no longer work")
            }
            Self::ConnectionInactive(status) => {
                write!(f, "the connection this setup link is for is not active (status {status:?})")
            }
        }
    }
}

/// Whether a link revoked at `revoked_at` (if ever) and expiring at `expires_at` still answers at
/// `now`. A revocation is reported before an expiry: it was someone's decision.
pub fn usable(revoked_at: Option<DateTime<Utc>>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Gone> {
    if let Some(t) = revoked_at {
        return Err(Gone::Revoked(t));
    }
    if expires_at <= now {
        return Err(Gone::Expired(expires_at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_defaults_to_a_week_and_is_bounded() {
        assert_eq!(lifetime(None), Ok(Duration::hours(168)));
        assert_eq!(lifetime(Some(1)), Ok(Duration::hours(1)));
        assert_eq!(lifetime(Some(720)), Ok(Duration::hours(720)));
        for hours in [0, -1, 721, i64::MAX, i64::MIN] {
            assert!(lifetime(Some(hours)).is_err(), "{hours}");
        }
    }

    #[test]
    fn revoked_or_expired_links_are_gone() {
        let now = Utc::now();
        let later = now + Duration::hours(1);
        assert_eq!(usable(None, later, now), Ok(()));
        assert_eq!(usable(None, now, now), Err(Gone::Expired(now)));
        assert_eq!(usable(Some(now), later, now), Err(Gone::Revoked(now)));
        assert_eq!(usable(Some(now), now, now), Err(Gone::Revoked(now)));
    }

    #[test]
    fn the_expiry_is_stated_in_utc() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123456Z").expect("time").to_utc();
        assert_eq!(Gone::Expired(t).to_string(), "this setup link expired at 2026-12-01T10:00:00Z");
    }
}
