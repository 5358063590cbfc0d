//! Topics members follow (`#renewable-energy`). Topics come into being with the posts that tag
//! them; members only follow and unfollow them here.

use crate::ids::TopicId;
use crate::time::Timestamp;

pub use crate::posts::TopicSlug;

/// A topic with its denormalised counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub id: TopicId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub follower_count: i64,
    pub post_count: i64,
    pub created_at: Timestamp,
}
