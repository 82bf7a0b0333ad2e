//! What a stored SCIM resource may hold. Everything accepted here must survive the whole way: the
//! `jsonb` column, serde_json (recursion limit 128), the protobuf event (prost's decode recursion
//! limit of 100 counts three messages per JSON object level) and every consumer. The bounds are
//! checked on the resource a write would store (after PUT's replace or PATCH's operations), before
//! anything is stored, and are documented in docs/scim.md.

use serde_json::{Map, Value};

use crate::scim::error::{ScimError, ScimResult};

/// Nesting levels of objects and arrays, the resource itself being level 1
/// (`{"name": {"givenName": "A"}}` is 2 levels).
pub const MAX_DEPTH: usize = 16;
/// Bytes of one string value or attribute name.
pub const MAX_STRING_BYTES: usize = 65_536;
/// Items of one array, or attributes of one object.
pub const MAX_ITEMS: usize = 1_000;
/// Bytes of the resource's JSON encoding.
pub const MAX_RESOURCE_BYTES: usize = 262_144;
/// Magnitude of a number (far beyond any count or id; within what reads back as a float).
pub const MAX_NUMBER: f64 = 1e300;

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Checks `resource` (a User, or a Group's attributes without `members`) against the bounds, naming
/// the first attribute that breaks one.
pub fn check(resource: &Map<String, Value>) -> ScimResult<()> {
    check_object(resource, &mut Vec::new())?;
    let size = encoded_len(resource);
    if size > MAX_RESOURCE_BYTES {
        return Err(invalid(format!(
            "the resource's JSON is {size} bytes, more than the {MAX_RESOURCE_BYTES} accepted"
        )));
    }
    Ok(())
}

/// One step of the path to a value: an attribute name or an array index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn path(steps: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(&printable(k)),
            Step::Key(k) => {
                out.push('.');
                out.push_str(&printable(k));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// An attribute name as it can be shown in a detail: NUL spelled out, long names cut.
fn printable(key: &str) -> String {
    let mut shown: String = key.chars().take(64).collect::<String>().replace('\0', "\\u0000");
    if key.chars().count() > 64 {
        shown.push('…');
    }
    shown
}

fn check_object<'a>(map: &'a Map<String, Value>, steps: &mut Vec<Step<'a>>) -> ScimResult<()> {
    check_container(map.len(), steps)?;
    for (key, value) in map {
        steps.push(Step::Key(key));
        check_text(key, steps, "attribute name")?;
        check_value(value, steps)?;
        steps.pop();
    }
    Ok(())
}

/// `steps` leads to the container itself; the resource (no steps) is level 1.
fn check_container(items: usize, steps: &[Step<'_>]) -> ScimResult<()> {
    let level = steps.len() + 1;
    if level > MAX_DEPTH {
        return Err(invalid(format!("`{}` nests deeper than {MAX_DEPTH} levels", path(steps))));
    }
    if items > MAX_ITEMS {
        let what = if steps.is_empty() { "the resource".to_owned() } else { format!("`{}`", path(steps)) };
        return Err(invalid(format!("{what} has {items} items, more than the {MAX_ITEMS} accepted")));
    }
    Ok(())
}

fn check_value<'a>(value: &'a Value, steps: &mut Vec<Step<'a>>) -> ScimResult<()> {
    match value {
        Value::String(s) => check_text(s, steps, "value"),
        Value::Object(map) => check_object(map, steps),
        Value::Array(items) => {
            check_container(items.len(), steps)?;
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                check_value(item, steps)?;
                steps.pop();
            }
            Ok(())
        }
        Value::Number(n) => check_number(n, steps),
        Value::Null | Value::Bool(_) => Ok(()),
    }
}

/// Postgres keeps a JSON number exactly and writes it back in plain digits, which serde_json reads
/// as a float: past about 1.8e308 the stored resource could no longer be read.
fn check_number(n: &serde_json::Number, steps: &[Step<'_>]) -> ScimResult<()> {
    match n.as_f64() {
        Some(f) if f.abs() <= MAX_NUMBER => Ok(()),
        _ => Err(invalid(format!("`{}` is a number beyond ±{MAX_NUMBER:e}", path(steps)))),
    }
}

/// Postgres stores no NUL in `text` or `jsonb`; a string is also bounded in size.
fn check_text(text: &str, steps: &[Step<'_>], what: &str) -> ScimResult<()> {
    if text.contains('\0') {
        return Err(invalid(uapi_platform::text::nul_detail(&path(steps))));
    }
    if text.len() > MAX_STRING_BYTES {
        return Err(invalid(format!("`{}`: the {what} is longer than {MAX_STRING_BYTES} bytes", path(steps))));
    }
    Ok(())
}

/// The length of `resource` as JSON, counted without building the text.
fn encoded_len(resource: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Map` of JSON values to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, resource);
    counter.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!({ "leaf": "x" }), |inner, _| json!({ "n": inner }))
    }

    fn detail(resource: Value) -> String {
        match check(resource.as_object().expect("object")) {
            Err(ScimError::Client { scim_type: Some("invalidValue"), detail, .. }) => detail,
            other => panic!("expected invalidValue, got {other:?}"),
        }
    }

    #[test]
    fn depth_is_bounded_and_named() {
        // The resource is level 1, so an extension object nested 15 levels deep fits exactly.
        assert!(check(json!({ "userName": "a", "urn:x": nested(MAX_DEPTH - 1) }).as_object().expect("object")).is_ok());
        let deep = detail(json!({ "userName": "a", "urn:x": nested(MAX_DEPTH) }));
        assert!(
            deep.starts_with("`urn:x.n.n.n") && deep.ends_with(&format!("nests deeper than {MAX_DEPTH} levels")),
            "{deep}"
        );
        let arrays = detail(json!({ "userName": "a", "a": (0..MAX_DEPTH).fold(json!(1), |v, _| json!([v])) }));
        assert!(arrays.starts_with("`a[0][0]"), "{arrays}");
    }

    #[test]
    fn nul_is_refused_in_values_and_names() {
        assert_eq!(
            detail(json!({ "userName": "a", "emails": [{ "value": "a@b.c" }, { "value": "x\u{0}" }] })),
            "`emails[1].value` must not contain the NUL character (\\u0000)"
        );
        assert!(detail(json!({ "userName": "a", "urn:x": { "k\u{0}": 1 } })).starts_with("`urn:x.k\\u0000`"));
    }

    #[test]
    fn numbers_are_bounded() {
        let huge: Value =
            serde_json::from_str(r#"{"userName":"a","urn:x":{"n":1.7976931348623157e308}}"#).expect("json");
        assert!(detail(huge).starts_with("`urn:x.n` is a number beyond"));
        assert!(check(json!({ "userName": "a", "n": -1e300, "m": 1e-320 }).as_object().expect("object")).is_ok());
    }

    #[test]
    fn sizes_are_bounded() {
        let long = "x".repeat(MAX_STRING_BYTES + 1);
        assert!(detail(json!({ "userName": "a", "title": long })).starts_with("`title`"));
        let many: Vec<Value> = (0..=MAX_ITEMS).map(|i| json!({ "value": i })).collect();
        assert!(detail(json!({ "userName": "a", "emails": many })).starts_with("`emails` has 1001 items"));
        let big: Map<String, Value> =
            (0..20).map(|i| (format!("urn:x{i}"), json!({ "v": "y".repeat(15_000) }))).collect();
        assert!(detail(Value::Object(big)).starts_with("the resource's JSON is"));
    }
}
