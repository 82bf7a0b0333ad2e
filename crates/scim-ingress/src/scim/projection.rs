//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes a response carries.
//! Names are case-insensitive, may be URN-qualified (`urn:…:User:department`) or dotted
//! (`name.givenName`). `id` and `schemas` are always returned.

use serde_json::{Map, Value};

/// A parsed `attributes` or `excludedAttributes` list.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Vec<Vec<String>>,
    exclude: Vec<Vec<String>>,
}

/// `urn:…:User:department` → [urn, department]; `name.givenName` → [name, givenName].
fn path(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let (urn, rest) = match raw.to_ascii_lowercase().starts_with("urn:") {
        true => match raw.rfind(':') {
            Some(i) => (Some(&raw[..i]), &raw[i + 1..]),
            None => (None, raw),
        },
        false => (None, raw),
    };
    let mut parts: Vec<String> = Vec::new();
    let core = [uapi_scim::schema::USER_SCHEMA, uapi_scim::schema::GROUP_SCHEMA];
    if let Some(urn) = urn.filter(|u| !core.iter().any(|c| u.eq_ignore_ascii_case(c))) {
        parts.push(urn.to_owned());
    }
    parts.extend(rest.split('.').filter(|p| !p.is_empty()).map(str::to_owned));
    parts
}

fn list(raw: Option<&str>) -> Vec<Vec<String>> {
    raw.map(|r| r.split(',').map(path).filter(|p| !p.is_empty()).collect()).unwrap_or_default()
}

fn always(key: &str) -> bool {
    key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas")
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self { include: list(attributes), exclude: list(excluded) }
    }

    pub fn is_identity(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the response carries top-level attribute `attr` at all, so that an attribute that
    /// is costly to read (a large group's `members`) is read only when it is returned.
    pub fn returns(&self, attr: &str) -> bool {
        let named = |p: &Vec<String>| p.first().is_some_and(|h| h.eq_ignore_ascii_case(attr));
        let included = self.include.is_empty() || self.include.iter().any(named);
        included && !self.exclude.iter().any(|p| p.len() == 1 && named(p))
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut map) = resource else { return resource };
        if !self.include.is_empty() {
            map = keep(map, &self.include, true);
        }
        for p in &self.exclude {
            remove(&mut map, p);
        }
        Value::Object(map)
    }
}

fn keep(map: Map<String, Value>, paths: &[Vec<String>], top: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in map {
        if top && always(&k) {
            out.insert(k, v);
            continue;
        }
        let matching: Vec<Vec<String>> = paths
            .iter()
            .filter(|p| p.first().is_some_and(|h| h.eq_ignore_ascii_case(&k)))
            .map(|p| p[1..].to_vec())
            .collect();
        if matching.is_empty() {
            continue;
        }
        if matching.iter().any(Vec::is_empty) {
            out.insert(k, v);
            continue;
        }
        let kept = match v {
            Value::Object(sub) => Value::Object(keep(sub, &matching, false)),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|i| match i {
                        Value::Object(sub) => Value::Object(keep(sub, &matching, false)),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        };
        out.insert(k, kept);
    }
    out
}

fn remove(map: &mut Map<String, Value>, path: &[String]) {
    let Some((head, rest)) = path.split_first() else { return };
    let Some(key) = map.keys().find(|k| k.eq_ignore_ascii_case(head)).cloned() else { return };
    if rest.is_empty() {
        if !always(&key) {
            map.remove(&key);
        }
        return;
    }
    match map.get_mut(&key) {
        Some(Value::Object(sub)) => remove(sub, rest),
        Some(Value::Array(items)) => {
            for item in items {
                if let Value::Object(sub) = item {
                    remove(sub, rest);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({ "schemas": ["s"], "id": "1", "userName": "a", "name": { "givenName": "A", "familyName": "B" },
                "emails": [{ "value": "a@b", "type": "work" }],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "D", "division": "V" } })
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id_and_schemas() {
        let p = Projection::new(
            Some("userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        );
        assert_eq!(
            p.apply(user()),
            json!({ "schemas": ["s"], "id": "1", "userName": "a", "name": { "givenName": "A" },
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "D" } })
        );
    }

    #[test]
    fn returns_tells_whether_an_attribute_is_read_at_all() {
        assert!(Projection::new(None, None).returns("members"));
        assert!(!Projection::new(None, Some("members")).returns("members"));
        assert!(!Projection::new(None, Some("urn:ietf:params:scim:schemas:core:2.0:Group:Members")).returns("members"));
        assert!(Projection::new(None, Some("members.display")).returns("members"));
        assert!(!Projection::new(Some("displayName"), None).returns("members"));
        assert!(Projection::new(Some("members.value"), None).returns("members"));
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_id() {
        let p = Projection::new(None, Some("name,emails.type,id,urn:ietf:params:scim:schemas:core:2.0:User:userName"));
        assert_eq!(
            p.apply(user()),
            json!({ "schemas": ["s"], "id": "1", "emails": [{ "value": "a@b" }],
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "D", "division": "V" } })
        );
    }
}
