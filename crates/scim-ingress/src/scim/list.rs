//! List requests and responses: `filter`, 1-based `startIndex`, `count` (RFC 7644 §3.4.2), and the
//! ListResponse with integer `totalResults`, `startIndex`, `itemsPerPage` and a `Resources` array
//! that is present even when empty (Okta's connection test requires it).

use serde_json::{Value, json};

use super::error::{ScimError, ScimResult};

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    /// 1-based; values below 1 count as 1.
    pub start_index: i64,
    /// 0 returns no resources but the real total.
    pub count: i64,
}

impl ListQuery {
    /// Parses the query string (`+` and `%20` both decode to a space, as test tools send both).
    pub fn parse(query: &str, default_count: i64, max_count: i64) -> ScimResult<Self> {
        let mut q = ListQuery {
            filter: None,
            attributes: None,
            excluded_attributes: None,
            start_index: 1,
            count: default_count,
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(v.into_owned()).filter(|f| !f.trim().is_empty()),
                "startindex" => {
                    q.start_index = parse_int("startIndex", &v)?.max(1);
                }
                "count" => {
                    q.count = parse_int("count", &v)?.clamp(0, max_count);
                }
                "attributes" => q.attributes = Some(v.into_owned()),
                "excludedattributes" => q.excluded_attributes = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(q)
    }
}

impl ListQuery {
    /// A `POST /.search` body (RFC 7644 §3.4.3): the same parameters as JSON.
    pub fn from_search(body: &Value, default_count: i64, max_count: i64) -> ScimResult<Self> {
        let text = |k: &str| -> ScimResult<Option<String>> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) if k != "filter" => {
                    Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
                }
                Some(other) => {
                    Err(ScimError::bad_request("invalidValue", format!("`{k}` has the wrong type: {other}")))
                }
            }
        };
        let int = |k: &str| -> ScimResult<Option<i64>> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::bad_request("invalidValue", format!("`{k}` must be an integer, got {v}"))
                }),
            }
        };
        Ok(ListQuery {
            filter: text("filter")?.filter(|f| !f.trim().is_empty()),
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
            start_index: int("startIndex")?.unwrap_or(1).max(1),
            count: int("count")?.unwrap_or(default_count).clamp(0, max_count),
        })
    }

    /// The query of a GET list or read, with the service's `count` default and cap.
    pub fn of_request(req: &actix_web::HttpRequest, state: &crate::state::AppState) -> ScimResult<Self> {
        Self::parse(req.query_string(), state.default_count, state.max_count)
    }

    /// The query of a `POST …/.search` body.
    pub async fn of_search(payload: actix_web::web::Payload, state: &crate::state::AppState) -> ScimResult<Self> {
        let body = super::body::json_object(payload, state.body_limit).await?;
        Self::from_search(&body, state.default_count, state.max_count)
    }

    pub fn projection(&self) -> super::projection::Projection {
        super::projection::Projection::new(self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

fn parse_int(name: &str, v: &str) -> ScimResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::bad_request("invalidValue", format!("`{name}` must be an integer, got {v:?}")))
}

pub fn response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [super::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_query_strings() {
        let q =
            ListQuery::parse("filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100", 100, 200)
                .expect("parses");
        assert_eq!(q.filter.as_deref(), Some("userName eq \"test.user@okta.local\""));
        assert_eq!((q.start_index, q.count), (1, 100));
        let q = ListQuery::parse("filter=userName+eq+%22a%22&startIndex=0&count=-5", 100, 200).expect("parses");
        assert_eq!(q.filter.as_deref(), Some("userName eq \"a\""));
        assert_eq!((q.start_index, q.count), (1, 0));
        assert_eq!(ListQuery::parse("count=100000", 100, 200).expect("parses").count, 200);
        assert!(ListQuery::parse("count=ten", 100, 200).is_err());
    }
}
