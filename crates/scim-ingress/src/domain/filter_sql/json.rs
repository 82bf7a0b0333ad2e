//! Filters on the stored JSON resource, for every attribute without an indexed column: custom and
//! extension attributes, sub-attributes, every operator, `pr` and value filters. They read
//! `search`, the resource with keys and strings lower-cased, with the helper functions
//! (`scim_values`, `scim_text`, …) of the migration `filter_functions`. Semantics follow
//! `uapi_scim::eval`: names case-insensitive, any value of a multi-valued attribute may match, a
//! complex value compares by its `value`, a literal of another type never matches.

use serde_json::Value;
use uapi_scim::eval::dotted;
use uapi_scim::filter::{AttrPath, CompareOp, Filter};

use super::columns::{ordering, text_op};
use super::{Compiler, Scope, invalid};
use crate::scim::error::ScimResult;

/// `meta` as a computed value, lower-cased like `search` (its dateTimes as served, for
/// `co`/`sw`/`ew` and `pr`; the chronological comparisons use the columns).
pub fn meta(table: &str, resource_type: &str, alias: &str) -> String {
    let at = |column: &str| format!(r#"to_char({table}.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"t"HH24:MI:SS.MS"z"')"#);
    format!(
        r#"(VALUES (jsonb_build_object('resourcetype', '{resource_type}', 'created', {}, 'lastmodified', {}, 'version', 'w/"' || {table}.version || '"'))) AS {alias}({alias})"#,
        at("created_at"),
        at("updated_at"),
    )
}

/// Where the values of an attribute path come from.
enum Source {
    /// A JSON expression (`search -> $2`, `e1 -> $3`) and the bound sub-attribute name, if any.
    Json { top: String, sub: Option<String> },
    /// A computed attribute: builds the FROM item naming each value as the given alias.
    Rows(Box<dyn Fn(&str) -> String>),
}

/// An attribute path resolved: its values, its dotted name, and whether its own values are complex
/// (their `value` is what a comparison without a sub-attribute looks at).
struct Values {
    source: Source,
    name: String,
    multi_valued: bool,
}

impl Values {
    /// SQL that is true when `pred` holds for any value. A value that is not an array is tested
    /// directly, without a subquery: most attributes are single-valued, and a subquery per row is
    /// what made the scan slow.
    fn any(&self, pred: impl Fn(&str) -> String) -> String {
        match &self.source {
            Source::Rows(from) => format!("EXISTS (SELECT 1 FROM {} WHERE {})", from("x"), pred("x")),
            Source::Json { top, sub: None } => Self::any_of(top, &pred),
            Source::Json { top, sub: Some(sub) } => format!(
                "CASE WHEN jsonb_typeof({top}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({top}) AS p \
                 CROSS JOIN LATERAL scim_values(p -> {sub}) AS x WHERE {}) ELSE {} END",
                pred("x"),
                Self::any_of(&format!("({top} -> {sub})"), &pred),
            ),
        }
    }

    fn any_of(value: &str, pred: &impl Fn(&str) -> String) -> String {
        format!(
            "CASE WHEN jsonb_typeof({value}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({value}) AS x \
             WHERE {}) ELSE COALESCE({}, FALSE) END",
            pred("x"),
            pred(value),
        )
    }

    /// A FROM item naming each value as `alias`.
    fn from(&self, alias: &str) -> String {
        match &self.source {
            Source::Rows(from) => from(alias),
            Source::Json { top, sub: None } => format!("scim_values({top}) AS {alias}"),
            Source::Json { top, sub: Some(sub) } => {
                format!("scim_values({top}) AS p CROSS JOIN LATERAL scim_values(p -> {sub}) AS {alias}")
            }
        }
    }
}

impl Compiler<'_> {
    fn values(&mut self, path: &AttrPath, scope: &Scope) -> Values {
        self.scans = true;
        let attr = path.attr.to_ascii_lowercase();
        let (parent, base) = match scope {
            Scope::Element { alias, parent } => (Some(parent.as_str()), alias.clone()),
            Scope::Resource => match &path.urn {
                Some(urn) if !self.target.schema.is_core_urn(urn) => {
                    (None, format!("(search -> {})", self.bind(urn.to_lowercase())))
                }
                _ => {
                    let computed = self.target.computed;
                    if computed(&attr, "x").is_some() {
                        return self.computed(path, attr);
                    }
                    (None, "search".to_owned())
                }
            },
        };
        let top = format!("({base} -> {})", self.bind(attr.clone()));
        let sub = path.sub.as_ref().map(|sub| self.bind(sub.to_lowercase()));
        let multi_valued = parent.is_none() && self.target.schema.is_multi_valued(&attr);
        Values { source: Source::Json { top, sub }, name: dotted(parent, path), multi_valued }
    }

    /// A computed top-level attribute (`id`, `meta`, a user's `groups`, a group's `members`).
    fn computed(&mut self, path: &AttrPath, attr: String) -> Values {
        let computed = self.target.computed;
        let sub = path.sub.as_ref().map(|sub| self.bind(sub.to_lowercase()));
        let name = dotted(None, path);
        let multi_valued = self.target.schema.is_multi_valued(&attr);
        let from = move |alias: &str| {
            let top = |alias: &str| computed(&attr, alias).unwrap_or_default();
            match &sub {
                None => top(alias),
                Some(sub) => format!("{} CROSS JOIN LATERAL scim_values(p -> {sub}) AS {alias}", top("p")),
            }
        };
        Values { source: Source::Rows(Box::new(from)), name, multi_valued }
    }

    pub(super) fn compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        literal: &Value,
        scope: &Scope,
    ) -> ScimResult<String> {
        let string_op = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        match literal {
            Value::Bool(_) if ordering(op).is_some_and(|o| o != "=") => {
                // RFC 7644 §3.4.2.2: gt/ge/lt/le on a Boolean "SHALL cause a failed response".
                return Err(invalid(format!("{path} {op} {literal}: booleans are only compared with eq or ne")));
            }
            Value::String(_) => {}
            Value::Null if op == CompareOp::Eq => {}
            Value::Null => return Err(invalid(format!("{path} {op} null: null is only compared with eq or ne"))),
            _ if string_op => return Err(invalid(format!("{path} {op} {literal}: {op} compares strings"))),
            _ => {}
        }
        let values = self.values(path, scope);
        if literal.is_null() {
            // `eq null` means "unassigned" (RFC 7643 §2.5 treats null and absent alike).
            return Ok(format!("NOT {}", values.any(|v| format!("{v} <> 'null'::jsonb"))));
        }
        let exact_name = match (&path.sub, values.multi_valued) {
            (None, true) => format!("{}.value", values.name),
            _ => values.name.clone(),
        };
        let exact = self.target.schema.is_case_exact(&exact_name);
        let simple = path.sub.is_none();
        let value = move |v: &str| if simple { format!("scim_simple({v})") } else { v.to_owned() };
        Ok(match literal {
            // `search` and the computed values hold non-case-exact strings lower-cased already.
            Value::String(s) => {
                let text = text_op(self, op, s, !exact);
                values.any(|v| text(&format!("scim_text({})", value(v))))
            }
            Value::Number(n) => {
                let (sql_op, bound) = (ordering(op).unwrap_or("="), self.bind(n.to_string()));
                values.any(|v| format!("scim_number({}) {sql_op} {bound}::numeric", value(v)))
            }
            Value::Bool(b) => {
                let bound = self.bind(b.to_string());
                values.any(|v| format!("scim_bool({}) = {bound}::boolean", value(v)))
            }
            _ => return Err(invalid(format!("{path} {op} {literal}"))),
        })
    }

    pub(super) fn present(&mut self, path: &AttrPath, scope: &Scope) -> ScimResult<String> {
        Ok(self.values(path, scope).any(|v| format!("scim_present({v})")))
    }

    pub(super) fn value_path(&mut self, path: &AttrPath, filter: &Filter, scope: &Scope) -> ScimResult<String> {
        if let Scope::Element { .. } = scope {
            return Err(invalid(format!("{path}[…] inside another value filter")));
        }
        let alias = self.alias();
        let values = self.values(path, scope);
        let from = values.from(&alias);
        let inner = self.node(filter, &Scope::Element { alias: alias.clone(), parent: values.name })?;
        Ok(format!("EXISTS (SELECT 1 FROM {from} WHERE jsonb_typeof({alias}) = 'object' AND {inner})"))
    }
}
