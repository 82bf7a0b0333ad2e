//! Applies employee events to the projection. Idempotent: an event whose version is not newer
//! than the stored one (a duplicate, or a stale redelivery) changes nothing.

use lapin::message::Delivery;
use prost::Message;
use uapi_events::model::{Employee, EmploymentStatus};
use uapi_events::v1::EmployeeEvent;
use uapi_platform::consumer::HandleError;
use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::db::{self, EmployeeRow};

fn permanent(what: impl std::fmt::Display) -> HandleError {
    HandleError::Permanent(what.to_string())
}

fn uuid(field: &str, s: &str) -> Result<Uuid, HandleError> {
    Uuid::parse_str(s).map_err(|_| permanent(format!("{field} is not a UUID: {s:?}")))
}

/// Decodes an `EmployeeEvent` into the row it leaves behind.
pub fn decode(body: &[u8]) -> Result<EmployeeRow, HandleError> {
    let event = EmployeeEvent::decode(body).map_err(|e| permanent(format!("undecodable EmployeeEvent: {e}")))?;
    let tenant = event.tenant.as_ref().ok_or_else(|| permanent("EmployeeEvent without tenant"))?;
    let proto = event.employee.as_ref().ok_or_else(|| permanent("EmployeeEvent without employee"))?;
    let employee = Employee::from(proto);
    let version = i64::try_from(event.version).map_err(|_| permanent("version out of range"))?;
    if version < 1 || event.version != employee.version {
        return Err(permanent(format!("inconsistent version {} (employee says {})", event.version, employee.version)));
    }
    let updated_at = employee.updated_at.or(employee.created_at).unwrap_or_else(chrono::Utc::now);
    Ok(EmployeeRow {
        id: uuid("employee.id", &employee.id)?,
        application_id: uuid("application_id", &tenant.application_id)?,
        consumer_id: uuid("consumer_id", &tenant.consumer_id)?,
        connection_id: uuid("connection_id", &tenant.connection_id)?,
        version,
        last_event_id: uuid("event_id", &event.event_id)?,
        employment_status: match employee.employment_status {
            EmploymentStatus::Active => "ACTIVE".into(),
            EmploymentStatus::Inactive => "INACTIVE".into(),
        },
        work_email_lower: employee.work_email.as_ref().map(|e| e.to_lowercase()),
        deleted_at: employee.deleted_at,
        updated_at,
        data: serde_json::to_value(&employee).map_err(|e| permanent(e.to_string()))?,
    })
}

pub async fn handle(pool: PgPool, delivery: std::sync::Arc<Delivery>) -> Result<(), HandleError> {
    let row = decode(&delivery.data)?;
    let mut conn = pool.get().await.map_err(HandleError::from_pool)?;
    let applied = db::apply(&mut conn, &row).await.map_err(HandleError::from_query)?;
    tracing::debug!(employee_id = %row.id, version = row.version, applied, "employee event");
    Ok(())
}
