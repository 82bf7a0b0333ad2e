//! Where a delivery goes after an attempt: success, a retry on the ladder (with jitter, or after
//! the endpoint's `Retry-After`), or failed when the ladder is exhausted.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::config::WebhookSettings;
use crate::db::deliveries::Next;

/// What an attempt produced, as far as scheduling cares.
#[derive(Debug, Clone, Copy)]
pub struct Result {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
}

impl Result {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `410 Gone`: the receiver wants no more deliveries.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// `step` is the ladder position of the attempt just made (0 = the first).
pub fn next(s: &WebhookSettings, step: usize, r: Result, now: DateTime<Utc>) -> Next {
    if r.succeeded() {
        return Next::Succeeded;
    }
    if r.gone() {
        return Next::Failed;
    }
    let Some(delay) = s.delay_before(step + 1) else {
        return Next::Failed;
    };
    let delay = match (r.status, r.retry_after) {
        (Some(429 | 503), Some(after)) => after.min(Duration::from_secs(s.retry_after_cap_secs)),
        _ => jitter(delay, s.retry_jitter),
    };
    Next::RetryAt(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX))
}

fn jitter(delay: Duration, fraction: f64) -> Duration {
    if fraction <= 0.0 || delay.is_zero() {
        return delay;
    }
    let factor = rand::rng().random_range((1.0 - fraction)..=(1.0 + fraction));
    delay.mul_f64(factor)
}

/// `Retry-After` as delta-seconds or an HTTP date, relative to now.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebhookSettings {
        crate::config::Settings::load(crate::config::tests::env(&[])).expect("settings").webhooks
    }

    fn at(n: Next) -> DateTime<Utc> {
        match n {
            Next::RetryAt(t) => t,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn the_ladder_has_jitter_and_ends_in_failed() {
        let s = settings();
        let now = Utc::now();
        let fail = Result { status: Some(500), retry_after: None };
        let second = at(next(&s, 0, fail, now)) - now;
        assert!((4500..=5500).contains(&second.num_milliseconds()), "{second}");
        let third = at(next(&s, 1, fail, now)) - now;
        assert!((270..=330).contains(&third.num_seconds()), "{third}");
        assert_eq!(next(&s, 7, fail, now), Next::Failed);
        assert_eq!(next(&s, 3, Result { status: Some(204), retry_after: None }, now), Next::Succeeded);
        assert_eq!(next(&s, 0, Result { status: Some(410), retry_after: None }, now), Next::Failed);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap_on_429_and_503_only() {
        let s = settings();
        let now = Utc::now();
        let r = |status, secs| Result { status: Some(status), retry_after: Some(Duration::from_secs(secs)) };
        assert_eq!((at(next(&s, 0, r(429, 120), now)) - now).num_seconds(), 120);
        assert_eq!((at(next(&s, 0, r(503, 99_999), now)) - now).num_seconds(), 3600);
        assert!((at(next(&s, 0, r(500, 120), now)) - now).num_seconds() < 10);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = std::time::SystemTime::now();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        let d = parse_retry_after(&later, now).expect("date");
        assert!((88..=90).contains(&d.as_secs()), "{d:?}");
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
