//! The page request every list endpoint takes: a bounded `limit` and the previous page's cursor.

use serde::Deserialize;
use utoipa::IntoParams;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::validation::ValidationErrors;

use crate::error::ApiError;

/// A page request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100; 20 when absent.
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    pub cursor: Option<String>,
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
