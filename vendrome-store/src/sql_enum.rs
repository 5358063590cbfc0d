//! Binding core's SQL-mirrored enums: as the named enum type in PostgreSQL, as TEXT in SQLite
//! (where a CHECK constraint holds the same labels).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use vendrome_core::SqlEnum;

/// A core enum on its way to or from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbEnum<T>(pub T);

fn unknown<T: SqlEnum>(label: &str) -> BoxDynError {
    format!("`{label}` is not a label of {}", T::SQL_TYPE).into()
}

impl<T: SqlEnum> Type<Postgres> for DbEnum<T> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name(T::SQL_TYPE)
    }
}

impl<T: SqlEnum> Encode<'_, Postgres> for DbEnum<T> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Postgres>>::encode_by_ref(&self.0.as_str(), buf)
    }
}

impl<'r, T: SqlEnum> Decode<'r, Postgres> for DbEnum<T> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let label = <&str as Decode<'r, Postgres>>::decode(value)?;
        T::from_label(label)
            .map(DbEnum)
            .ok_or_else(|| unknown::<T>(label))
    }
}

impl<T: SqlEnum> Type<Sqlite> for DbEnum<T> {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q, T: SqlEnum> Encode<'q, Sqlite> for DbEnum<T> {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'q, Sqlite>>::encode(self.0.as_str(), buf)
    }
}

impl<'r, T: SqlEnum> Decode<'r, Sqlite> for DbEnum<T> {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let label = <&str as Decode<'r, Sqlite>>::decode(value)?;
        T::from_label(label)
            .map(DbEnum)
            .ok_or_else(|| unknown::<T>(label))
    }
}
