//! [`SqlText`]: a statement assembled from pieces, with its arguments kept beside it, so code
//! that composes SQL (feeds, listings) is written once and bound to either driver at the end.
//! Placeholders are `$1`, `$2`, … which both PostgreSQL and SQLite accept.

use std::fmt::Write as _;

use uuid::Uuid;
use vendrome_core::time::Timestamp;
use vendrome_core::SqlEnum;

use crate::db::Dialect;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Uuid),
    At(Timestamp),
    Int(i64),
    Text(String),
    Bool(bool),
    Date(chrono::NaiveDate),
}

/// A statement and its arguments, in placeholder order.
#[derive(Debug)]
pub(crate) struct SqlText {
    pub dialect: Dialect,
    pub text: String,
    pub args: Vec<Arg>,
}

impl SqlText {
    pub fn new(dialect: Dialect, text: &str) -> Self {
        Self {
            dialect,
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        write!(self.text, "${}", self.args.len()).expect("writing to a String cannot fail");
        self
    }

    pub fn uuid(&mut self, value: Uuid) -> &mut Self {
        self.bind(Arg::Uuid(value))
    }

    /// A SQL enum value: its label, cast to the enum type on PostgreSQL.
    pub fn enum_value<E: SqlEnum>(&mut self, value: E) -> &mut Self {
        self.bind(Arg::Text(value.as_str().to_owned()));
        if self.dialect == Dialect::Postgres {
            write!(self.text, "::{}", E::SQL_TYPE).expect("writing to a String cannot fail");
        }
        self
    }
}

/// Binds every argument of `$sql` to `$query` (a `sqlx::query`, `query_as` or `query_scalar`)
/// and evaluates to the bound query.
macro_rules! bind_args {
    ($query:expr, $sql:expr) => {{
        let mut query = $query;
        for arg in &$sql.args {
            query = match arg {
                $crate::sql_text::Arg::Uuid(v) => query.bind(*v),
                $crate::sql_text::Arg::At(v) => query.bind(*v),
                $crate::sql_text::Arg::Int(v) => query.bind(*v),
                $crate::sql_text::Arg::Text(v) => query.bind(v.clone()),
                $crate::sql_text::Arg::Bool(v) => query.bind(*v),
                $crate::sql_text::Arg::Date(v) => query.bind(*v),
            };
        }
        query
    }};
}
pub(crate) use bind_args;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order() {
        let mut sql = SqlText::new(Dialect::Postgres, "SELECT 1 WHERE a = ");
        sql.uuid(Uuid::nil()).push(" AND b < ").bind(Arg::Int(3));
        sql.push(" AND t = ")
            .enum_value(vendrome_core::enums::PostType::Product);
        assert_eq!(
            sql.text,
            "SELECT 1 WHERE a = $1 AND b < $2 AND t = $3::post_type"
        );
        assert_eq!(sql.args.len(), 3);
    }
}
