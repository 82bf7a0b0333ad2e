//! The event types a subscription can ask for.

use uapi_events::routing::EMPLOYEE_AND_GROUP;

/// Every subscribable event type and `*` (all of them).
pub fn is_known(name: &str) -> bool {
    name == "*" || EMPLOYEE_AND_GROUP.contains(&name)
}
