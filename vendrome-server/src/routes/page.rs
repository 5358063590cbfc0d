//! The page request every list endpoint takes: a bounded `limit` and the previous page's cursor.

use serde::Deserialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::IntoParams;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::validation::ValidationErrors;

use crate::error::ApiError;

/// A page request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

/// The documented schema of a text parameter that takes one of `values` (the handler checks
/// it, naming the field it rejects). A parameter with its own schema loses its doc comment in
/// the document, so `description` goes on the schema.
pub(crate) fn one_of<const N: usize>(description: &str, values: [&'static str; N]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .build()
}

impl PageQuery {
    pub(crate) fn parse(&self) -> Result<(Option<Cursor>, Limit), ApiError> {
        let mut errors = ValidationErrors::new();
        let limit = match self.limit {
            None => Some(Limit::DEFAULT),
            Some(n) => errors.check("limit", Limit::parse(n)),
        };
        errors.into_result()?;
        Ok((
            self.cursor.clone().map(Cursor::from_string),
            limit.unwrap_or_default(),
        ))
    }
}

/// Reads an empty query value (`?cursor=`) as an absent one, as browsers and form encoders send
/// unset fields.
pub(crate) fn empty_as_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_empty()))
}
