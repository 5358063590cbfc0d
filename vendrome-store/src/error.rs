//! Translating driver errors into the domain errors the ports promise.

use vendrome_core::Error;

/// The name of the unique constraint (or, on SQLite, the `table.column` list) a write broke.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<String> {
    let db = error.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    // PostgreSQL names the constraint; SQLite names the columns in its message
    // ("UNIQUE constraint failed: users.email").
    Some(
        db.constraint()
            .map(str::to_owned)
            .unwrap_or_else(|| db.message().to_owned()),
    )
}

/// Any driver error the caller could not have caused.
pub(crate) fn unexpected(error: sqlx::Error) -> Error {
    Error::Unexpected(anyhow::Error::new(error))
}

/// `?` on sqlx results inside port methods: everything unexpected unless mapped first.
pub(crate) trait SqlxResultExt<T> {
    fn or_unexpected(self) -> Result<T, Error>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn or_unexpected(self) -> Result<T, Error> {
        self.map_err(unexpected)
    }
}
