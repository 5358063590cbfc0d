//! The directory of members: filters, orders, and how each member relates to the viewer.

use crate::enums::{LookingFor, VerificationLevel};
use crate::validation::ValidationErrors;

use super::{ProfileCard, Skill};

/// The orders of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectorySort {
    /// Latest to join first.
    #[default]
    Newest,
    /// Most connections first.
    MostConnected,
}

impl DirectorySort {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        match raw {
            "newest" => Ok(Self::Newest),
            "connected" => Ok(Self::MostConnected),
            _ => Err(crate::validation::invalid(
                "invalid_value",
                "must be newest or connected",
            )),
        }
    }
}

/// Which members the directory lists: every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryFilter {
    pub industry: Option<String>,
    pub country_code: Option<String>,
    /// Compared without regard to case.
    pub city: Option<String>,
    pub skill: Option<Skill>,
    /// This level or a higher one.
    pub min_verification: Option<VerificationLevel>,
    pub looking_for: Option<LookingFor>,
    /// Only these members (to read search hits as directory entries).
    pub only: Option<Vec<crate::ids::UserId>>,
    pub sort: DirectorySort,
}

/// How a listed member relates to the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The viewer themselves.
    Myself,
    Connected,
    /// The viewer asked to connect; no answer yet.
    RequestSent,
    /// They asked the viewer to connect.
    RequestReceived,
    /// None of these (also for an anonymous viewer).
    None,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Myself => "self",
            Self::Connected => "connected",
            Self::RequestSent => "request_sent",
            Self::RequestReceived => "request_received",
            Self::None => "none",
        }
    }
}

/// One member in the directory, and how they relate to the viewer.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    pub card: ProfileCard,
    pub relation: Relation,
}

/// The verification levels at or above `min`, in SQL's order.
pub fn levels_from(min: VerificationLevel) -> Vec<VerificationLevel> {
    use crate::SqlEnum as _;
    VerificationLevel::ALL
        .iter()
        .copied()
        .filter(|level| *level >= min)
        .collect()
}
