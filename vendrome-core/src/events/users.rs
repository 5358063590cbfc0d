//! Payloads of the account, profile and feature-flag events.

use serde::{Deserialize, Serialize};

use super::{about, Aggregate, EventPayload};
use crate::enums::{DirectMessagePolicy, UserRole, VerificationLevel};
use crate::ids::UserId;

/// `user.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCreated {
    pub user_id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
}

/// Some of a member's fields changed: `user.updated`, `profile.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldsChanged {
    pub user_id: UserId,
    /// Names of the changed fields.
    pub fields: Vec<String>,
}

/// An admin's change to an account: `user.role_changed`, `user.verification_level_changed`,
/// `user.disabled`, `user.enabled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "C: Serialize + serde::de::DeserializeOwned")]
pub struct AccountChange<C> {
    pub user_id: UserId,
    pub change: C,
}

/// The new role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleChange {
    pub role: UserRole,
}

/// The new verification level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelChange {
    pub verification_level: VerificationLevel,
}

/// Whether the account is now disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisabledChange {
    pub disabled: bool,
}

/// `user.messaging_settings_updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagingSettingsUpdated {
    pub user_id: UserId,
    pub direct_messages: DirectMessagePolicy,
}

/// `flag.updated`: the flag's state after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagUpdated {
    pub name: String,
    pub enabled: bool,
    pub rollout_percent: i16,
}

about!("user" by user_id: UserCreated, FieldsChanged, MessagingSettingsUpdated);
about!("flag" by name: FlagUpdated);

impl<C: Serialize + serde::de::DeserializeOwned> EventPayload for AccountChange<C> {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new("user", self.user_id)
    }
}
