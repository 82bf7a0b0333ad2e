//! The event contract shared by every service: protobuf types generated from
//! `proto/uapi/events/v1`, and the exchange, routing keys and AMQP `type` names they travel under.

/// Generated from `proto/uapi/events/v1` (package `uapi.events.v1`).
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/uapi.events.v1.rs"));
}

pub mod model;
pub mod webhook;

/// The durable topic exchange every event is published to.
pub const EXCHANGE: &str = "uapi.events";

/// AMQP `content_type` of every event body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// Routing keys: the event type, `<aggregate>.<event>`.
pub mod routing {
    pub const EMPLOYEE_CREATED: &str = "employee.created";
    pub const EMPLOYEE_UPDATED: &str = "employee.updated";
    pub const EMPLOYEE_DELETED: &str = "employee.deleted";
    pub const GROUP_CREATED: &str = "group.created";
    pub const GROUP_UPDATED: &str = "group.updated";
    pub const GROUP_DELETED: &str = "group.deleted";
    /// Connection lifecycle (control-plane → scim-ingress): created, token rotated, deleted.
    pub const CONNECTION_CREATED: &str = "connection.created";
    pub const CONNECTION_TOKEN_ROTATED: &str = "connection.token_rotated";
    pub const CONNECTION_DELETED: &str = "connection.deleted";
    /// Consumer lifecycle (control-plane → employee-store and the dispatcher).
    pub const CONSUMER_DELETED: &str = "consumer.deleted";

    /// Every employee and group event type, in the order the contract lists them.
    pub const EMPLOYEE_AND_GROUP: [&str; 6] =
        [EMPLOYEE_CREATED, EMPLOYEE_UPDATED, EMPLOYEE_DELETED, GROUP_CREATED, GROUP_UPDATED, GROUP_DELETED];
}

/// Queues of the consuming services: each service owns its queue (name, arguments, dead-letter
/// queue), and a producer may declare a consumer's queue with the same arguments so that events
/// published before that consumer first starts are kept, not returned as unroutable.
pub mod queues {
    /// scim-ingress's projection of connection lifecycle events (it authenticates SCIM tokens).
    pub const SCIM_INGRESS_CONNECTIONS: &str = "scim-ingress.connections";
    /// Binding of [`SCIM_INGRESS_CONNECTIONS`].
    pub const CONNECTION_EVENTS_BINDING: &str = "connection.#";
    /// Bindings of every consumer of employee and group events (employee-store, the dispatcher),
    /// who also act on a consumer's deletion.
    pub const DIRECTORY_BINDINGS: [&str; 3] = ["employee.#", "group.#", "consumer.#"];
}

/// AMQP `type` property values: the full protobuf message name.
pub mod type_name {
    pub const EMPLOYEE_EVENT: &str = "uapi.events.v1.EmployeeEvent";
    pub const GROUP_EVENT: &str = "uapi.events.v1.GroupEvent";
    pub const CONNECTION_EVENT: &str = "uapi.events.v1.ConnectionEvent";
    pub const CONSUMER_EVENT: &str = "uapi.events.v1.ConsumerEvent";
}

#[cfg(test)]
mod tests {
    use super::v1;
    use prost::Message;

    #[test]
    fn connection_event_round_trips_through_protobuf() {
        let event = v1::ConnectionEvent {
            event_id: "0192".into(),
            kind: v1::connection_event::Kind::TokenRotated as i32,
            connection_id: "c1".into(),
            token_sha256: vec![1, 2, 3],
            ..Default::default()
        };
        let decoded = v1::ConnectionEvent::decode(event.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded, event);
        assert_eq!(decoded.kind(), v1::connection_event::Kind::TokenRotated);
    }
}
