//! The event types a subscription can ask for, and the test event every subscription can be sent.

use uapi_events::routing::EMPLOYEE_AND_GROUP;

/// The type of the event `POST /api/webhooks/{id}/test` sends. Never published on the bus and not
/// subscribable: every subscription takes its own test events, whatever its `events` and status.
/// The claim (`db/claims.rs`) and migration `000009_test_events` spell it in SQL too.
pub const WEBHOOK_TEST: &str = "webhook.test";

/// Every subscribable event type and `*` (all of them).
pub fn is_known(name: &str) -> bool {
    name == "*" || EMPLOYEE_AND_GROUP.contains(&name)
}
