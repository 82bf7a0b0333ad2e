//! Filters on the stored JSON resource, for every attribute without an indexed column: custom and
//! extension attributes, sub-attributes, every operator, `pr` and value filters. The SQL helper
//! functions (`scim_get`, `scim_values`, …) are in the migration `filter_functions`. Semantics
//! follow `uapi_scim::eval`: names case-insensitive, any value of a multi-valued attribute may
//! match, a complex value compares by its `value`, a literal of another type never matches.

use serde_json::Value;
use uapi_scim::filter::{AttrPath, CompareOp, Filter};

use super::columns::{fold, ordering, text_op};
use super::{Compiler, Scope, invalid};
use crate::scim::error::ScimResult;
use uapi_scim::eval::dotted;

/// `meta` as a computed value (its dateTimes as served, for `co`/`sw`/`ew` and `pr`; the
/// chronological comparisons use the columns).
pub fn meta(table: &str, resource_type: &str, alias: &str) -> String {
    let at =
        |column: &str| format!("to_char({table}.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    format!(
        "(VALUES (jsonb_build_object('resourceType', '{resource_type}', 'created', {}, 'lastModified', {}, \
         'version', 'W/\"' || {table}.version || '\"'))) AS {alias}({alias})",
        at("created_at"),
        at("updated_at"),
    )
}

/// A FROM item naming, as column `alias`, every value `path` designates, and the path's dotted
/// name. With a sub-attribute, each value of the attribute contributes its sub-attribute's values.
struct Values {
    from: String,
    name: String,
    /// True when the attribute's own values are complex (its `value` is what a comparison without
    /// a sub-attribute looks at).
    multi_valued: bool,
}

impl Compiler<'_> {
    fn values(&mut self, path: &AttrPath, scope: &Scope, alias: &str) -> Values {
        let (parent, base) = match scope {
            Scope::Element { alias, parent } => (Some(parent.as_str()), Some(alias.clone())),
            Scope::Resource => match &path.urn {
                Some(urn) if !self.target.schema.is_core_urn(urn) => {
                    (None, Some(format!("scim_get(resource, {})", self.bind(urn.clone()))))
                }
                _ => (None, None),
            },
        };
        let attr = path.attr.to_ascii_lowercase();
        let computed = matches!((scope, &base), (Scope::Resource, None)).then_some(self.target.computed);
        let top = |c: &mut Self, alias: &str| {
            if let Some(from) = computed.and_then(|computed| computed(&attr, alias)) {
                return from;
            }
            let base = base.clone().unwrap_or_else(|| "resource".into());
            format!("scim_values(scim_get({base}, {})) AS {alias}", c.bind(path.attr.clone()))
        };
        let from = match &path.sub {
            None => top(self, alias),
            Some(sub) => {
                let outer = top(self, "p");
                format!("{outer} CROSS JOIN LATERAL scim_values(scim_get(p, {})) AS {alias}", self.bind(sub.clone()))
            }
        };
        let multi_valued = parent.is_none() && self.target.schema.is_multi_valued(&attr);
        Values { from, name: dotted(parent, path), multi_valued }
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
        let values = self.values(path, scope, "x");
        if literal.is_null() {
            // `eq null` means "unassigned" (RFC 7643 §2.5 treats null and absent alike).
            return Ok(format!("NOT EXISTS (SELECT 1 FROM {} WHERE x <> 'null'::jsonb)", values.from));
        }
        let (value, exact) = match path.sub {
            None => {
                let exact_name =
                    if values.multi_valued { format!("{}.value", values.name) } else { values.name.clone() };
                ("scim_simple(x)", self.target.schema.is_case_exact(&exact_name))
            }
            Some(_) => ("x", self.target.schema.is_case_exact(&values.name)),
        };
        let predicate = match literal {
            Value::String(s) => {
                let (expr, s) = fold(&format!("scim_text({value})"), s, exact);
                text_op(self, &expr, op, s)
            }
            Value::Number(n) => {
                let sql_op = ordering(op).unwrap_or("=");
                format!("scim_number({value}) {sql_op} {}::numeric", self.bind(n.to_string()))
            }
            Value::Bool(b) => format!("scim_bool({value}) = {}::boolean", self.bind(b.to_string())),
            _ => return Err(invalid(format!("{path} {op} {literal}"))),
        };
        Ok(format!("EXISTS (SELECT 1 FROM {} WHERE {predicate})", values.from))
    }

    pub(super) fn present(&mut self, path: &AttrPath, scope: &Scope) -> ScimResult<String> {
        let values = self.values(path, scope, "x");
        Ok(format!("EXISTS (SELECT 1 FROM {} WHERE scim_present(x))", values.from))
    }

    pub(super) fn value_path(&mut self, path: &AttrPath, filter: &Filter, scope: &Scope) -> ScimResult<String> {
        if let Scope::Element { .. } = scope {
            return Err(invalid(format!("{path}[…] inside another value filter")));
        }
        let alias = self.alias();
        let values = self.values(path, scope, &alias);
        let inner = self.node(filter, &Scope::Element { alias: alias.clone(), parent: values.name })?;
        Ok(format!("EXISTS (SELECT 1 FROM {} WHERE jsonb_typeof({alias}) = 'object' AND {inner})", values.from))
    }
}
