//! Raw SQL that Postgres prepares once per connection. diesel's `sql_query` is never put in the
//! statement cache, so every call of a hot query would be parsed and planned again; a
//! [`Prepared`] statement is cached under its SQL text like any query the DSL builds.
//!
//! The SQL names its parameters `$1`, `$2`, … each exactly once and in order; [`Prepared::bind`]
//! supplies them in that order (a value needed twice is bound twice).

use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::{Error, QueryResult};
use diesel::sql_types::Untyped;

type Bind<'a> = Box<dyn QueryFragment<Pg> + Send + 'a>;

/// A statement and its parameters; run it with diesel-async's `RunQueryDsl` (`load`, `execute`).
pub struct Prepared<'a> {
    sql: &'static str,
    binds: Vec<Bind<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str) -> Self {
        Self { sql, binds: Vec::new() }
    }

    /// The next parameter, as SQL type `ST`.
    pub fn bind<ST, T>(mut self, value: T) -> Self
    where
        T: AsExpression<ST>,
        T::Expression: QueryFragment<Pg> + Send + 'a,
        ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

/// Splits `sql` at its placeholders `$1` … `$n`, which must appear once each and in order.
fn segments(sql: &str, n: usize) -> Result<Vec<&str>, String> {
    let mut out = Vec::with_capacity(n + 1);
    let mut rest = sql;
    for i in 1..=n {
        let marker = format!("${i}");
        let at = rest
            .match_indices(&marker)
            .map(|(at, _)| at)
            .find(|&at| !rest[at + marker.len()..].starts_with(|c: char| c.is_ascii_digit()))
            .ok_or_else(|| format!("placeholder {marker} missing or out of order"))?;
        out.push(&rest[..at]);
        rest = &rest[at + marker.len()..];
    }
    if rest.split('$').skip(1).any(|s| s.starts_with(|c: char| c.is_ascii_digit())) {
        return Err(format!("more placeholders than the {n} values bound"));
    }
    out.push(rest);
    Ok(out)
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let parts = segments(self.sql, self.binds.len()).map_err(|e| Error::QueryBuilderError(e.into()))?;
        for (part, bind) in parts.iter().zip(&self.binds) {
            out.push_sql(part);
            bind.walk_ast(out.reborrow())?;
        }
        out.push_sql(parts.last().copied().unwrap_or_default());
        Ok(())
    }
}

/// No static id: the statement cache keys it by its SQL text (safe, since that text is static).
impl QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::segments;

    #[test]
    fn placeholders_split_in_order_and_ten_is_not_one() {
        let sql = "a $1 b $2 c $3 d $4 e $5 f $6 g $7 h $8 i $9 j $10 k";
        let parts = segments(sql, 10).expect("splits");
        assert_eq!(parts.len(), 11);
        assert_eq!((parts[0], parts[9], parts[10]), ("a ", " j ", " k"));
    }

    #[test]
    fn missing_extra_or_reordered_placeholders_are_errors() {
        assert!(segments("a $2 b $1", 2).is_err());
        assert!(segments("a $1", 2).is_err());
        assert!(segments("a $1 b $2", 1).is_err());
        assert!(segments("price in $ and $1", 1).is_ok());
    }
}
