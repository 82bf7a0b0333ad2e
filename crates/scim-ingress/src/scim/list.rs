//! List requests and responses: `filter`, 1-based `startIndex`, `count` (RFC 7644 §3.4.2), and the
//! ListResponse with integer `totalResults`, `startIndex`, `itemsPerPage` and a `Resources` array
//! that is present even when empty (Okta's connection test requires it).

use serde_json::{Value, json};

use super::error::{ScimError, ScimResult};

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<String>,
    /// 1-based; values below 1 count as 1.
    pub start_index: i64,
    /// 0 returns no resources but the real total.
    pub count: i64,
}

impl ListQuery {
    /// Parses the query string (`+` and `%20` both decode to a space, as test tools send both).
    pub fn parse(query: &str, default_count: i64, max_count: i64) -> ScimResult<Self> {
        let mut q = ListQuery { filter: None, start_index: 1, count: default_count };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(v.into_owned()).filter(|f| !f.trim().is_empty()),
                "startindex" => {
                    q.start_index = parse_int("startIndex", &v)?.max(1);
                }
                "count" => {
                    q.count = parse_int("count", &v)?.clamp(0, max_count);
                }
                // Accepted and ignored: we always return every attribute (issue-level limitation).
                _ => {}
            }
        }
        Ok(q)
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
