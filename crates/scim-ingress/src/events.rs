//! Employee and group events into the outbox, in the transaction of the SCIM write that caused them.

use prost::Message;
use uapi_events::model::{Employee, Group};
use uapi_events::v1::{EmployeeEvent, GroupEvent, Tenant as TenantProto};
use uapi_events::{routing, type_name};
use uapi_platform::outbox::{self, NewMessage};
use uuid::Uuid;

use crate::scim::auth::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

impl Change {
    fn employee_key(self) -> &'static str {
        match self {
            Self::Created => routing::EMPLOYEE_CREATED,
            Self::Updated => routing::EMPLOYEE_UPDATED,
            Self::Deleted => routing::EMPLOYEE_DELETED,
        }
    }

    fn group_key(self) -> &'static str {
        match self {
            Self::Created => routing::GROUP_CREATED,
            Self::Updated => routing::GROUP_UPDATED,
            Self::Deleted => routing::GROUP_DELETED,
        }
    }
}

fn tenant_proto(tenant: &Tenant) -> TenantProto {
    TenantProto {
        application_id: tenant.application_id.to_string(),
        consumer_id: tenant.consumer_id.to_string(),
        connection_id: tenant.connection_id.to_string(),
        service_id: tenant.service_id.clone(),
    }
}

fn now() -> prost_types::Timestamp {
    let now = chrono::Utc::now();
    prost_types::Timestamp { seconds: now.timestamp(), nanos: now.timestamp_subsec_nanos() as i32 }
}

/// The encoded event of one employee change, ready for the outbox.
pub fn message(
    tenant: &Tenant,
    change: Change,
    employee: &Employee,
    changed_fields: Vec<String>,
) -> NewMessage<'static> {
    let event_id = Uuid::now_v7();
    let event = EmployeeEvent {
        event_id: event_id.to_string(),
        event_type: change.employee_key().to_owned(),
        tenant: Some(tenant_proto(tenant)),
        occurred_at: Some(now()),
        version: employee.version,
        changed_fields,
        employee: Some(employee.into()),
    };
    NewMessage {
        message_id: event_id,
        routing_key: change.employee_key(),
        type_name: type_name::EMPLOYEE_EVENT,
        payload: event.encode_to_vec(),
    }
}

/// The encoded event of one group change: the group's snapshot after it, at `version`.
pub fn group_message(
    tenant: &Tenant,
    change: Change,
    group: &Group,
    version: u64,
    changed_fields: Vec<String>,
) -> NewMessage<'static> {
    let event_id = Uuid::now_v7();
    let event = GroupEvent {
        event_id: event_id.to_string(),
        event_type: change.group_key().to_owned(),
        tenant: Some(tenant_proto(tenant)),
        occurred_at: Some(now()),
        version,
        changed_fields,
        group: Some(group.into()),
    };
    NewMessage {
        message_id: event_id,
        routing_key: change.group_key(),
        type_name: type_name::GROUP_EVENT,
        payload: event.encode_to_vec(),
    }
}

/// Writes the event of one employee change into the outbox, inside the caller's transaction.
pub async fn enqueue<C>(
    conn: &mut C,
    tenant: &Tenant,
    change: Change,
    employee: &Employee,
    changed_fields: Vec<String>,
) -> diesel::QueryResult<()>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    outbox::enqueue(conn, message(tenant, change, employee, changed_fields)).await
}
