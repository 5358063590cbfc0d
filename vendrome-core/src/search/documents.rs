//! What the index holds, and which documents an outbox event touches.

use serde_json::Value;

use crate::enums::{LookingFor, PostType, PostVisibility, VerificationLevel};
use crate::ids::{PostId, UserId};
use crate::outbox::OutboxEvent;
use crate::time::Timestamp;

/// A live post as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostDoc {
    pub id: PostId,
    pub author_id: UserId,
    pub author_level: VerificationLevel,
    pub post_type: PostType,
    pub visibility: PostVisibility,
    pub body: String,
    /// Slugs.
    pub topics: Vec<String>,
    /// Reactions + 3 × comments + 4 × reposts + 5 × shares (the trending weights).
    pub engagement: i64,
    pub created_at: Timestamp,
}

/// A member who is not disabled, as the index sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDoc {
    pub user_id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub headline: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    pub country_code: Option<String>,
    pub city: Option<String>,
    pub about: Option<String>,
    pub skills: Vec<String>,
    pub looking_for: Vec<LookingFor>,
    pub verification_level: VerificationLevel,
    pub connections: i64,
    pub joined_at: Timestamp,
}

/// A document of the index, by what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKey {
    Post(PostId),
    Profile(UserId),
    /// Every post by this author (their verification level changed, or they were disabled or
    /// enabled).
    PostsBy(UserId),
    /// By slug.
    Topic(String),
}

/// The documents an event may have changed. Indexers re-read them from the database, so this
/// may name more than changed (never less), and replaying an event is harmless.
pub fn keys_for(event: &OutboxEvent) -> Vec<DocKey> {
    let payload = &event.payload;
    let uuid = |field: &str| -> Option<uuid::Uuid> { payload.get(field)?.as_str()?.parse().ok() };
    let user = |field: &str| uuid(field).map(|id| DocKey::Profile(UserId::from_uuid(id)));
    let family = event.event_type.split('.').next().unwrap_or_default();
    let mut keys: Vec<DocKey> = Vec::new();
    match family {
        "post" | "reaction" | "comment" | "repost" | "share" => {
            keys.extend(uuid("post_id").map(|id| DocKey::Post(PostId::from_uuid(id))));
            if let Some(Value::Array(topics)) = payload.get("topics") {
                keys.extend(
                    topics
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|slug| DocKey::Topic(slug.to_owned())),
                );
            }
        }
        "profile" => keys.extend(user("user_id")),
        "user" => {
            keys.extend(user("user_id"));
            keys.extend(user("follower_id"));
            keys.extend(user("followee_id"));
            let touches_posts = matches!(
                event.event_type.as_str(),
                "user.disabled" | "user.enabled" | "user.verification_level_changed"
            );
            if touches_posts {
                keys.extend(uuid("user_id").map(|id| DocKey::PostsBy(UserId::from_uuid(id))));
            }
        }
        "connection"
            if event.event_type == "connection.accepted"
                || event.event_type == "connection.removed" =>
        {
            keys.extend(user("requester_id"));
            keys.extend(user("addressee_id"));
        }
        "topic" => {
            if let Some(slug) = payload.get("slug").and_then(Value::as_str) {
                keys.push(DocKey::Topic(slug.to_owned()));
            }
        }
        _ => {}
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;
    use serde_json::json;

    fn event(event_type: &str, payload: Value) -> OutboxEvent {
        OutboxEvent {
            seq: 1,
            event_id: EventId::new(),
            event_type: event_type.to_owned(),
            aggregate_type: "x".to_owned(),
            aggregate_id: "x".to_owned(),
            payload,
            attempts: 0,
            created_at: crate::time::now(),
        }
    }

    #[test]
    fn events_name_the_documents_they_touch() {
        let post = PostId::new();
        let (a, b) = (UserId::new(), UserId::new());
        let created = event(
            "post.created",
            json!({"post_id": post, "author_id": a, "topics": ["solar"]}),
        );
        assert_eq!(
            keys_for(&created),
            [DocKey::Post(post), DocKey::Topic("solar".into())]
        );
        let reaction = event("reaction.set", json!({"post_id": post, "user_id": a}));
        assert_eq!(keys_for(&reaction), [DocKey::Post(post)]);
        let disabled = event("user.disabled", json!({"user_id": a}));
        assert_eq!(
            keys_for(&disabled),
            [DocKey::Profile(a), DocKey::PostsBy(a)]
        );
        let accepted = event(
            "connection.accepted",
            json!({"requester_id": a, "addressee_id": b}),
        );
        assert_eq!(
            keys_for(&accepted),
            [DocKey::Profile(a), DocKey::Profile(b)]
        );
        assert!(keys_for(&event("message.created", json!({}))).is_empty());
    }
}
