//! The contract's Employee and Group in their JSON shape (camelCase, as the HTTP APIs and webhooks
//! show them), and their conversion to and from the protobuf messages that travel on RabbitMQ.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::v1;

mod group;
pub use group::Group;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub formatted: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// `ACTIVE` or `INACTIVE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EmploymentStatus {
    #[default]
    Active,
    Inactive,
}

/// The contract's Employee. `version`, `createdAt`, `updatedAt` and `deletedAt` are bookkeeping;
/// every other field is content, compared to decide whether a write changed the employee.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    pub id: String,
    pub remote_id: Option<String>,
    pub connection_id: String,
    pub consumer_id: String,
    pub service_id: String,
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub display_name: Option<String>,
    pub work_email: Option<String>,
    pub personal_email: Option<String>,
    pub emails: Vec<Email>,
    pub phone_numbers: Vec<PhoneNumber>,
    pub addresses: Vec<Address>,
    pub employee_number: Option<String>,
    pub job_title: Option<String>,
    pub employment_type: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub manager_id: Option<String>,
    pub manager_remote_id: Option<String>,
    pub employment_status: EmploymentStatus,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub groups: Vec<GroupRef>,
    pub custom_fields: Map<String, Value>,
    pub remote_data: Value,
    pub version: u64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Fields that describe the record rather than the person; never part of `changedFields`.
pub const BOOKKEEPING_FIELDS: [&str; 4] = ["version", "createdAt", "updatedAt", "deletedAt"];

impl Employee {
    /// The JSON contract fields whose values differ between `self` and `newer`, in contract order.
    pub fn changed_fields(&self, newer: &Employee) -> Vec<String> {
        let (old, new) = (serde_json::to_value(self), serde_json::to_value(newer));
        let (Ok(Value::Object(old)), Ok(Value::Object(new))) = (old, new) else {
            return Vec::new();
        };
        new.iter()
            .filter(|(k, v)| !BOOKKEEPING_FIELDS.contains(&k.as_str()) && old.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Every content field name (what `changedFields` lists for a created employee).
    pub fn content_fields() -> Vec<String> {
        match serde_json::to_value(Employee::default()) {
            Ok(Value::Object(map)) => {
                map.keys().filter(|k| !BOOKKEEPING_FIELDS.contains(&k.as_str())).cloned().collect()
            }
            _ => Vec::new(),
        }
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(|t| prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

fn from_ts(t: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

/// JSON ↔ `google.protobuf.Value`.
pub fn to_proto_value(v: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(prost_types::ListValue { values: a.iter().map(to_proto_value).collect() }),
        Value::Object(m) => Kind::StructValue(to_proto_struct(m)),
    };
    prost_types::Value { kind: Some(kind) }
}

pub fn to_proto_struct(m: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct { fields: m.iter().map(|(k, v)| (k.clone(), to_proto_value(v))).collect() }
}

pub fn from_proto_value(v: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        // Integral numbers come back as integers, so JSON round-trips the way SCIM sent it.
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(*n as i64),
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(from_proto_value).collect()),
        Some(Kind::StructValue(s)) => Value::Object(from_proto_struct(s)),
    }
}

pub fn from_proto_struct(s: &prost_types::Struct) -> Map<String, Value> {
    s.fields.iter().map(|(k, v)| (k.clone(), from_proto_value(v))).collect()
}

impl From<&Employee> for v1::Employee {
    fn from(e: &Employee) -> Self {
        let remote_data = match &e.remote_data {
            Value::Object(m) => Some(to_proto_struct(m)),
            _ => None,
        };
        v1::Employee {
            id: e.id.clone(),
            remote_id: e.remote_id.clone(),
            connection_id: e.connection_id.clone(),
            consumer_id: e.consumer_id.clone(),
            service_id: e.service_id.clone(),
            user_name: e.user_name.clone(),
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            middle_name: e.middle_name.clone(),
            display_name: e.display_name.clone(),
            work_email: e.work_email.clone(),
            personal_email: e.personal_email.clone(),
            emails: e
                .emails
                .iter()
                .map(|m| v1::Email {
                    value: m.value.clone(),
                    r#type: m.kind.clone().unwrap_or_default(),
                    primary: m.primary,
                })
                .collect(),
            phone_numbers: e
                .phone_numbers
                .iter()
                .map(|p| v1::PhoneNumber {
                    value: p.value.clone(),
                    r#type: p.kind.clone().unwrap_or_default(),
                    primary: p.primary,
                })
                .collect(),
            addresses: e
                .addresses
                .iter()
                .map(|a| v1::Address {
                    r#type: a.kind.clone().unwrap_or_default(),
                    street_address: a.street_address.clone().unwrap_or_default(),
                    locality: a.locality.clone().unwrap_or_default(),
                    region: a.region.clone().unwrap_or_default(),
                    postal_code: a.postal_code.clone().unwrap_or_default(),
                    country: a.country.clone().unwrap_or_default(),
                    formatted: a.formatted.clone().unwrap_or_default(),
                    primary: a.primary,
                })
                .collect(),
            employee_number: e.employee_number.clone(),
            job_title: e.job_title.clone(),
            employment_type: e.employment_type.clone(),
            department: e.department.clone(),
            division: e.division.clone(),
            cost_center: e.cost_center.clone(),
            organization: e.organization.clone(),
            manager_id: e.manager_id.clone(),
            manager_remote_id: e.manager_remote_id.clone(),
            employment_status: match e.employment_status {
                EmploymentStatus::Active => v1::EmploymentStatus::Active as i32,
                EmploymentStatus::Inactive => v1::EmploymentStatus::Inactive as i32,
            },
            locale: e.locale.clone(),
            timezone: e.timezone.clone(),
            groups: e.groups.iter().map(|g| v1::GroupRef { id: g.id.clone(), name: g.name.clone() }).collect(),
            custom_fields: Some(to_proto_struct(&e.custom_fields)),
            remote_data,
            version: e.version,
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
            deleted_at: ts(e.deleted_at),
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl From<&v1::Employee> for Employee {
    fn from(e: &v1::Employee) -> Self {
        Employee {
            id: e.id.clone(),
            remote_id: e.remote_id.clone(),
            connection_id: e.connection_id.clone(),
            consumer_id: e.consumer_id.clone(),
            service_id: e.service_id.clone(),
            user_name: e.user_name.clone(),
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            middle_name: e.middle_name.clone(),
            display_name: e.display_name.clone(),
            work_email: e.work_email.clone(),
            personal_email: e.personal_email.clone(),
            emails: e
                .emails
                .iter()
                .map(|m| Email { value: m.value.clone(), kind: non_empty(&m.r#type), primary: m.primary })
                .collect(),
            phone_numbers: e
                .phone_numbers
                .iter()
                .map(|p| PhoneNumber { value: p.value.clone(), kind: non_empty(&p.r#type), primary: p.primary })
                .collect(),
            addresses: e
                .addresses
                .iter()
                .map(|a| Address {
                    kind: non_empty(&a.r#type),
                    street_address: non_empty(&a.street_address),
                    locality: non_empty(&a.locality),
                    region: non_empty(&a.region),
                    postal_code: non_empty(&a.postal_code),
                    country: non_empty(&a.country),
                    formatted: non_empty(&a.formatted),
                    primary: a.primary,
                })
                .collect(),
            employee_number: e.employee_number.clone(),
            job_title: e.job_title.clone(),
            employment_type: e.employment_type.clone(),
            department: e.department.clone(),
            division: e.division.clone(),
            cost_center: e.cost_center.clone(),
            organization: e.organization.clone(),
            manager_id: e.manager_id.clone(),
            manager_remote_id: e.manager_remote_id.clone(),
            employment_status: if e.employment_status() == v1::EmploymentStatus::Inactive {
                EmploymentStatus::Inactive
            } else {
                EmploymentStatus::Active
            },
            locale: e.locale.clone(),
            timezone: e.timezone.clone(),
            groups: e.groups.iter().map(|g| GroupRef { id: g.id.clone(), name: g.name.clone() }).collect(),
            custom_fields: e.custom_fields.as_ref().map(from_proto_struct).unwrap_or_default(),
            remote_data: e.remote_data.as_ref().map(|s| Value::Object(from_proto_struct(s))).unwrap_or(Value::Null),
            version: e.version,
            created_at: from_ts(e.created_at),
            updated_at: from_ts(e.updated_at),
            deleted_at: from_ts(e.deleted_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Employee {
        Employee {
            id: "e1".into(),
            user_name: "jdoe@example.com".into(),
            first_name: Some("Jane".into()),
            emails: vec![Email { value: "jdoe@example.com".into(), kind: Some("work".into()), primary: true }],
            addresses: vec![Address {
                kind: Some("work".into()),
                locality: Some("Berlin".into()),
                ..Default::default()
            }],
            custom_fields: json!({ "urn:x:licenseTier": "pro", "seats": 3 }).as_object().cloned().unwrap_or_default(),
            remote_data: json!({ "userName": "jdoe@example.com", "active": true, "n": [1, 2.5] }),
            employment_status: EmploymentStatus::Inactive,
            version: 7,
            created_at: DateTime::from_timestamp(1_700_000_000, 123_000),
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_through_protobuf() {
        let e = sample();
        assert_eq!(Employee::from(&v1::Employee::from(&e)), e);
    }

    #[test]
    fn changed_fields_ignore_bookkeeping() {
        let a = sample();
        let mut b = a.clone();
        b.version = 8;
        b.updated_at = DateTime::from_timestamp(1_800_000_000, 0);
        assert!(a.changed_fields(&b).is_empty());
        b.employment_status = EmploymentStatus::Active;
        b.job_title = Some("Engineer".into());
        assert_eq!(a.changed_fields(&b), vec!["jobTitle".to_owned(), "employmentStatus".to_owned()]);
    }

    #[test]
    fn json_uses_contract_names() {
        let v = serde_json::to_value(sample()).expect("json");
        assert_eq!(v["employmentStatus"], "INACTIVE");
        assert_eq!(v["emails"][0]["type"], "work");
        assert!(v.get("remoteId").is_some() && v.get("managerId").is_some());
        assert!(Employee::content_fields().contains(&"workEmail".to_owned()));
    }
}
