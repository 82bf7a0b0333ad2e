//! SCIM User → the contract's Employee: core attributes, the enterprise extension, and every
//! other extension attribute into `customFields`. Pure: the manager id and bookkeeping fields are
//! filled in by the write pipeline.

use serde_json::{Map, Value};
use uapi_events::model::{Address, Email, Employee, EmploymentStatus, PhoneNumber};
use uapi_scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use uuid::Uuid;

use crate::scim::auth::Tenant;

fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// A non-empty string attribute (Okta pushes `""` for cleared values: treat it as absent).
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    get(map, key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn object<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    get(map, key).and_then(Value::as_object)
}

fn items<'a>(map: &'a Map<String, Value>, key: &str) -> Vec<&'a Map<String, Value>> {
    get(map, key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_object).collect()).unwrap_or_default()
}

fn is_primary(m: &Map<String, Value>) -> bool {
    match get(m, "primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn kind(m: &Map<String, Value>) -> Option<String> {
    text(m, "type").map(|t| t.to_lowercase())
}

/// The email to call "work": the primary work one, else any work one, else the primary one.
fn pick<'a>(emails: &'a [Email], types: &[&str], fallback_primary: bool) -> Option<&'a Email> {
    let typed = |e: &&Email| e.kind.as_deref().is_some_and(|k| types.contains(&k));
    emails
        .iter()
        .filter(typed)
        .find(|e| e.primary)
        .or_else(|| emails.iter().find(typed))
        .or_else(|| if fallback_primary { emails.iter().find(|e| e.primary && e.kind.is_none()) } else { None })
}

pub fn employee(id: Uuid, tenant: &Tenant, resource: &Map<String, Value>) -> Employee {
    let name = object(resource, "name");
    let name_part = |k: &str| name.and_then(|n| text(n, k));
    let enterprise = object(resource, ENTERPRISE_USER_SCHEMA);
    let ent = |k: &str| enterprise.and_then(|e| text(e, k));

    let emails: Vec<Email> = items(resource, "emails")
        .into_iter()
        .filter_map(|m| Some(Email { value: text(m, "value")?, kind: kind(m), primary: is_primary(m) }))
        .collect();
    let phone_numbers = items(resource, "phoneNumbers")
        .into_iter()
        .filter_map(|m| Some(PhoneNumber { value: text(m, "value")?, kind: kind(m), primary: is_primary(m) }))
        .collect();
    let addresses = items(resource, "addresses")
        .into_iter()
        .map(|m| Address {
            kind: kind(m),
            street_address: text(m, "streetAddress"),
            locality: text(m, "locality"),
            region: text(m, "region"),
            postal_code: text(m, "postalCode"),
            country: text(m, "country"),
            formatted: text(m, "formatted"),
            primary: is_primary(m),
        })
        .collect();
    let work_email = pick(&emails, &["work"], true).or_else(|| emails.first()).map(|e| e.value.clone());
    let personal_email = pick(&emails, &["home", "personal", "other"], false).map(|e| e.value.clone());
    let first_name = name_part("givenName");
    let last_name = name_part("familyName");
    let display_name = text(resource, "displayName").or_else(|| name_part("formatted")).or_else(|| {
        let joined = [first_name.as_deref(), last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let manager_remote_id = enterprise.and_then(|e| get(e, "manager")).and_then(|m| match m {
        Value::Object(m) => text(m, "value"),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    });
    let active = get(resource, "active").and_then(Value::as_bool).unwrap_or(true);

    Employee {
        id: id.to_string(),
        remote_id: text(resource, "externalId"),
        connection_id: tenant.connection_id.to_string(),
        consumer_id: tenant.consumer_id.to_string(),
        service_id: tenant.service_id.clone(),
        user_name: text(resource, "userName").unwrap_or_default(),
        first_name,
        last_name,
        middle_name: name_part("middleName"),
        display_name,
        work_email,
        personal_email,
        emails,
        phone_numbers,
        addresses,
        employee_number: ent("employeeNumber"),
        job_title: text(resource, "title"),
        employment_type: text(resource, "userType"),
        department: ent("department"),
        division: ent("division"),
        cost_center: ent("costCenter"),
        organization: ent("organization"),
        manager_id: None,
        manager_remote_id,
        employment_status: if active { EmploymentStatus::Active } else { EmploymentStatus::Inactive },
        locale: text(resource, "locale"),
        timezone: text(resource, "timezone"),
        groups: Vec::new(),
        custom_fields: custom_fields(resource),
        remote_data: Value::Object(resource.clone()),
        ..Employee::default()
    }
}

/// Attributes of extensions other than the enterprise one, keyed `<urn>:<attribute>`.
fn custom_fields(resource: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (urn, value) in resource {
        let lower = urn.to_ascii_lowercase();
        if !lower.starts_with("urn:")
            || lower == USER_SCHEMA.to_ascii_lowercase()
            || lower == ENTERPRISE_USER_SCHEMA.to_ascii_lowercase()
        {
            continue;
        }
        if let Value::Object(attrs) = value {
            for (attr, v) in attrs {
                out.insert(format!("{urn}:{attr}"), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tenant() -> Tenant {
        Tenant {
            connection_id: Uuid::nil(),
            application_id: Uuid::nil(),
            consumer_id: Uuid::nil(),
            service_id: "okta-scim".into(),
        }
    }

    #[test]
    fn okta_enterprise_user_maps_to_employee() {
        let resource = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "jdoe@example.com",
            "externalId": "00u1abc",
            "name": { "givenName": "Jane", "familyName": "Doe", "middleName": "" },
            "emails": [{ "primary": false, "value": "jane@home.example", "type": "home" },
                       { "primary": true, "value": "jdoe@example.com", "type": "work" }],
            "phoneNumbers": [{ "primary": true, "value": "415.123.4567", "type": "work" }],
            "title": "Engineer", "userType": "Employee", "active": false, "locale": "en-US",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984", "costCenter": "4130", "organization": "Acme",
                "division": "R&D", "department": "Platform",
                "manager": { "value": "00u2mgr", "displayName": "John Smith" }
            },
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User": { "licenseTier": "pro" }
        });
        let e = employee(Uuid::nil(), &tenant(), resource.as_object().expect("object"));
        assert_eq!(e.remote_id.as_deref(), Some("00u1abc"));
        assert_eq!(
            (e.first_name.as_deref(), e.last_name.as_deref(), e.middle_name.as_deref()),
            (Some("Jane"), Some("Doe"), None)
        );
        assert_eq!(e.display_name.as_deref(), Some("Jane Doe"));
        assert_eq!(e.work_email.as_deref(), Some("jdoe@example.com"));
        assert_eq!(e.personal_email.as_deref(), Some("jane@home.example"));
        assert_eq!(e.job_title.as_deref(), Some("Engineer"));
        assert_eq!(e.employment_type.as_deref(), Some("Employee"));
        assert_eq!(e.department.as_deref(), Some("Platform"));
        assert_eq!(e.manager_remote_id.as_deref(), Some("00u2mgr"));
        assert_eq!(e.employment_status, EmploymentStatus::Inactive);
        assert_eq!(e.custom_fields["urn:ietf:params:scim:schemas:extension:acme:2.0:User:licenseTier"], json!("pro"));
        assert_eq!(e.remote_data, resource);
    }
}
