//! Who is calling, and what their role lets them do. Services check rights here, in core, so
//! that every adapter (HTTP, CLI, an embedding program) enforces the same rules.

use crate::enums::UserRole;
use crate::ids::UserId;
use crate::{Error, Result};

/// An authenticated user, as established by the adapter (a verified access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: UserRole,
}

impl Caller {
    /// MUST return [`Error::Forbidden`] with code `admin_only` unless the caller is an admin.
    pub fn require_admin(&self) -> Result<()> {
        if self.role == UserRole::Admin {
            Ok(())
        } else {
            Err(Error::forbidden(
                "admin_only",
                "only an administrator may do this",
            ))
        }
    }
}

impl UserRole {
    /// How much the role may do: member < moderator < admin. A change to a lower rank takes
    /// rights away (and ends the member's sessions).
    pub fn rank(self) -> u8 {
        match self {
            UserRole::Member => 0,
            UserRole::Moderator => 1,
            UserRole::Admin => 2,
        }
    }

    /// Whether the role has rights beyond a member's, so that a request acting with it must
    /// read the role from the store rather than trust an access token's copy.
    pub fn is_privileged(self) -> bool {
        self.rank() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_pass_require_admin() {
        let caller = |role| Caller {
            user_id: UserId::new(),
            role,
        };
        assert!(caller(UserRole::Admin).require_admin().is_ok());
        for role in [UserRole::Member, UserRole::Moderator] {
            assert!(matches!(
                caller(role).require_admin(),
                Err(Error::Forbidden {
                    code: "admin_only",
                    ..
                })
            ));
        }
    }
}
