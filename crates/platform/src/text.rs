//! Text that Postgres can store. Postgres refuses the NUL character in `text` and `jsonb`, so a NUL
//! that reached a query would fail it (a 500, or a whole group-commit batch lost for one bad
//! value). Every request is checked at the door instead: JSON bodies by [`JsonBody`], URLs by
//! [`url_has_nul`].

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::Problem;

/// Where the first NUL character of `value` is, in keys or strings: `""` for the value itself,
/// otherwise a path such as `name.givenName` or `emails[1].value`.
pub fn nul_path(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(String::new()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| nul_path(v).map(|rest| join(&format!("[{i}]"), &rest)))
        }
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(printable(k));
            }
            nul_path(v).map(|rest| join(&printable(k), &rest))
        }),
        _ => None,
    }
}

fn join(head: &str, rest: &str) -> String {
    match rest.chars().next() {
        None => head.to_owned(),
        Some('[') => format!("{head}{rest}"),
        Some(_) => format!("{head}.{rest}"),
    }
}

/// A key as it can be shown in an error: NUL written as `\u0000`.
fn printable(key: &str) -> String {
    key.replace('\0', "\\u0000")
}

/// The detail of the 400 for a NUL at `path`.
pub fn nul_detail(path: &str) -> String {
    if path.is_empty() {
        "the body must not contain the NUL character (\\u0000)".to_owned()
    } else {
        format!("`{path}` must not contain the NUL character (\\u0000)")
    }
}

/// True when the request target encodes a NUL (`%00`, in any case) in its path or query.
pub fn url_has_nul(path_and_query: &str) -> bool {
    path_and_query.as_bytes().windows(3).any(|w| w == b"%00")
}

/// A JSON body of type `T` whose strings and keys hold no NUL. Parsed as [`web::Json`] is (same
/// limit and error shapes from [`crate::problem::json_config`]), then checked, then typed: a NUL
/// is a 400 naming its field, a body of the wrong shape a 422.
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if let Some(path) = nul_path(&value) {
                return Err(Problem::bad_request(nul_detail(&path)).into());
            }
            serde_json::from_value(value).map(JsonBody).map_err(|e| Problem::validation(e.to_string()).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_found_with_its_path() {
        assert_eq!(
            nul_path(&json!({ "a": "ok", "name": { "givenName": "x\u{0}y" } })).as_deref(),
            Some("name.givenName")
        );
        assert_eq!(
            nul_path(&json!({ "emails": [{ "value": "a" }, { "value": "\u{0}" }] })).as_deref(),
            Some("emails[1].value")
        );
        assert_eq!(nul_path(&json!({ "k\u{0}": 1 })).as_deref(), Some("k\\u0000"));
        assert_eq!(nul_path(&json!("\u{0}")).as_deref(), Some(""));
        assert_eq!(nul_path(&json!({ "a": ["x", 1, null, { "b": "\\u0000 is text" }] })), None);
    }

    #[test]
    fn encoded_nul_in_a_url_is_found() {
        assert!(url_has_nul("/api/hris/employees?workEmail=a%00b"));
        assert!(url_has_nul("/scim/v2/Users/%00"));
        assert!(!url_has_nul("/api/hris/employees?workEmail=a%2500b"));
    }
}
