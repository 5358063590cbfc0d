//! The `sql_enums!` macro: one declaration per enum that exists both as a SQL type and in Rust.
//!
//! Every enum the database knows (a PostgreSQL `CREATE TYPE … AS ENUM`, a SQLite `CHECK (… IN …)`)
//! is declared here once, with its SQL type name and the exact SQL labels. The macro derives the
//! Rust enum, its serde form (the SQL label), `Display`/`FromStr`, and registers it in
//! [`SQL_ENUMS`](crate::enums::SQL_ENUMS), which the store's drift test compares against both
//! databases.

/// An enum mirrored 1:1 by a SQL enum type.
pub trait SqlEnum: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// The SQL type name (`user_role`).
    const SQL_TYPE: &'static str;
    /// Every label, in declaration order (the order PostgreSQL sorts them in).
    const LABELS: &'static [&'static str];
    /// Every variant, in the same order as [`Self::LABELS`].
    const ALL: &'static [Self];
    /// The SQL label of this variant.
    fn as_str(self) -> &'static str;
    /// The variant with this SQL label, if any.
    fn from_label(label: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == label)
    }
}

/// A label that names no variant of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{label}` is not a {sql_type} (expected one of: {expected})")]
pub struct UnknownLabel {
    pub sql_type: &'static str,
    pub label: String,
    pub expected: String,
}

/// Declares SQL-mirrored enums and the registry of all of them.
///
/// ```ignore
/// sql_enums! {
///     /// A member's role.
///     UserRole = "user_role" {
///         /// Everybody.
///         Member = "member",
///         Admin = "admin",
///     }
/// }
/// ```
#[macro_export]
macro_rules! sql_enums {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $sql:literal {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $label:literal ),+ $(,)?
        }
    )+) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
            pub enum $name {
                $( $(#[doc = $vdoc])* #[serde(rename = $label)] $variant, )+
            }

            impl $crate::sql_enum::SqlEnum for $name {
                const SQL_TYPE: &'static str = $sql;
                const LABELS: &'static [&'static str] = &[$($label),+];
                const ALL: &'static [Self] = &[$(Self::$variant),+];
                fn as_str(self) -> &'static str {
                    match self { $(Self::$variant => $label,)+ }
                }
            }

            // Written by hand rather than derived: the schema must list the SQL labels, which a
            // derive cannot see through this macro's `$label` fragments.
            #[cfg(feature = "openapi")]
            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .enum_values(Some([$($label),+]))
                        .description(Some(concat!($($doc),*).trim()))
                        .into()
                }
            }

            #[cfg(feature = "openapi")]
            impl utoipa::ToSchema for $name {
                fn name() -> std::borrow::Cow<'static, str> {
                    std::borrow::Cow::Borrowed(stringify!($name))
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str($crate::sql_enum::SqlEnum::as_str(*self))
                }
            }

            impl std::str::FromStr for $name {
                type Err = $crate::sql_enum::UnknownLabel;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    <Self as $crate::sql_enum::SqlEnum>::from_label(s).ok_or_else(|| {
                        $crate::sql_enum::UnknownLabel {
                            sql_type: $sql,
                            label: s.to_owned(),
                            expected: [$($label),+].join(", "),
                        }
                    })
                }
            }
        )+

        /// Every SQL enum as `(sql type name, labels)`: the list the drift test checks both
        /// databases against.
        pub const SQL_ENUMS: &[(&str, &[&str])] = &[
            $( ($sql, &[$($label),+]), )+
        ];
    };
}
