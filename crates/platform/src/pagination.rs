//! Cursor pagination for every list: `cursor` and `limit` in, `{data, meta}` out. Cursors are
//! opaque (base64url of the last id seen); pages walk the primary key, a time-ordered UUIDv7, so
//! paging never repeats a row. A row inserted behind the cursor meanwhile (an employee projected
//! late carries the id its creation gave it) is not in that walk: employee-store's events feed is
//! the reader that sees every change.

use crate::problem::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `meta.next` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: Option<Uuid>,
    pub limit: i64,
}

impl PageQuery {
    pub fn parse(&self) -> Result<Page, Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::bad_request(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| Problem::bad_request("cursor is not valid"))?),
        };
        Ok(Page { after, limit })
    }
}

fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The cursor of the next page (`?cursor=`), absent on the last page.
    pub next: Option<String>,
    /// The cursor this page was read from, absent on the first page.
    pub current: Option<String>,
    /// How many items `data` holds.
    pub items_on_page: usize,
}

/// A page of a list: `{data, meta}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T: Serialize> {
    pub data: Vec<T>,
    pub meta: Meta,
}

/// One item: `{data}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Item<T: Serialize> {
    pub data: T,
}

/// Builds the response from up to `limit + 1` rows fetched after `page.after`: the extra row only
/// tells that a next page exists.
pub fn respond<R, T: Serialize>(
    page: Page,
    mut rows: Vec<R>,
    id_of: impl Fn(&R) -> Uuid,
    view: impl Fn(R) -> T,
) -> ListResponse<T> {
    let has_more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let next = if has_more { rows.last().map(|r| encode_cursor(id_of(r))) } else { None };
    let data: Vec<T> = rows.into_iter().map(view).collect();
    ListResponse { meta: Meta { next, current: page.after.map(encode_cursor), items_on_page: data.len() }, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_out_of_range_are_rejected() {
        for limit in [0, -1, MAX_LIMIT + 1] {
            assert!(PageQuery { cursor: None, limit: Some(limit) }.parse().is_err(), "{limit}");
        }
        assert_eq!(PageQuery { cursor: None, limit: None }.parse().expect("default").limit, DEFAULT_LIMIT);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let id = Uuid::now_v7();
        let page = PageQuery { cursor: Some(encode_cursor(id)), limit: Some(5) }.parse().expect("valid");
        assert_eq!(page.after, Some(id));
        assert!(PageQuery { cursor: Some("!!".into()), limit: None }.parse().is_err());
        assert!(PageQuery { cursor: Some("AAAA".into()), limit: None }.parse().is_err());
    }

    #[test]
    fn next_is_set_only_when_more_rows_exist() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page { after: None, limit: 2 };
        let full = respond(page, ids.clone(), |u| *u, |u| u);
        assert_eq!(full.data, ids[..2]);
        assert_eq!(full.meta.next, Some(encode_cursor(ids[1])));
        let last = respond(page, ids[..2].to_vec(), |u| *u, |u| u);
        assert_eq!(last.meta.next, None);
        assert_eq!(last.meta.items_on_page, 2);
    }
}
