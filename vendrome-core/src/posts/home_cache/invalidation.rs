//! What each outbox event drops from the cache (the table in the module above).

use serde_json::Value;

use super::State;
use crate::ids::{PostId, UserId};
use crate::outbox::OutboxEvent;

/// Drops what one event may have changed; whether anything could have been.
pub(super) fn drop_for(state: &mut State, event: &OutboxEvent) -> bool {
    let payload = &event.payload;
    let id = |field: &str| -> Option<uuid::Uuid> { payload.get(field)?.as_str()?.parse().ok() };
    let post = id("post_id").map(PostId::from_uuid);
    let family = event.event_type.split('.').next().unwrap_or_default();
    match event.event_type.as_str() {
        "post.created" | "repost.created" | "repost.removed" => {
            let person = id("author_id")
                .or_else(|| id("user_id"))
                .map(UserId::from_uuid);
            let topics: Vec<&str> = match payload.get("topics") {
                Some(Value::Array(topics)) => topics.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            state.members.retain(|owner, member| {
                let named = person.is_some_and(|p| member.circle.includes(*owner, p));
                !(named || topics.iter().any(|t| member.circle.topics.contains(*t)))
            });
            if let Some(post) = post {
                state.posts.remove(&post);
            }
        }
        "post.updated" => {
            let reshaped = match payload.get("fields") {
                Some(Value::Array(fields)) => fields
                    .iter()
                    .any(|f| matches!(f.as_str(), Some("visibility" | "topics"))),
                _ => true,
            };
            if reshaped {
                state.members.clear();
            }
            if let Some(post) = post {
                state.posts.remove(&post);
            }
        }
        "post.deleted" => {
            if let Some(post) = post {
                state.posts.remove(&post);
                state.members.retain(|_, member| {
                    let timeline = member.timeline.as_ref();
                    timeline.is_none_or(|t| t.entries.iter().all(|e| e.key.post != post))
                });
            }
        }
        _ if matches!(family, "reaction" | "comment" | "share" | "bookmark") => {
            let Some(post) = post else { return false };
            state.posts.remove(&post);
            if let Some(actor) = id("user_id").map(UserId::from_uuid) {
                if let Some(member) = state.members.get_mut(&actor) {
                    member.states.remove(&post);
                }
            }
        }
        // The graph around the members named changed: their timelines and circles.
        "user.followed" | "user.unfollowed" | "user.blocked" | "user.unblocked" => {
            drop_members(state, &people(payload));
        }
        _ if family == "topic" => drop_members(state, &people(payload)),
        // Also their connection counts, on their cards.
        _ if family == "connection" => {
            let people = people(payload);
            drop_members(state, &people);
            for person in &people {
                state.cards.remove(person);
            }
        }
        _ if matches!(family, "user" | "profile") => {
            let Some(person) = id("user_id").map(UserId::from_uuid) else {
                return false;
            };
            // Their name, picture or level may have changed: in the posts they wrote, and in
            // the reposts they made in others' timelines.
            state.posts.retain(|_, post| post.author.id != person);
            state.cards.remove(&person);
            state
                .members
                .retain(|owner, member| !member.circle.includes(*owner, person));
        }
        _ => return false,
    }
    true
}

/// The members an event names.
fn people(payload: &Value) -> Vec<UserId> {
    [
        "user_id",
        "follower_id",
        "followee_id",
        "requester_id",
        "addressee_id",
        "blocker_id",
        "blocked_id",
    ]
    .iter()
    .filter_map(|field| payload.get(*field)?.as_str()?.parse().ok())
    .map(UserId::from_uuid)
    .collect()
}

fn drop_members(state: &mut State, people: &[UserId]) {
    for person in people {
        state.members.remove(person);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::graph::UserSummary;
    use crate::ids::EventId;
    use crate::posts::feed::{Circle, FeedEntry, FeedKey};
    use crate::posts::home_cache::{Member, Timeline};
    use crate::posts::{AuthorSummary, Post, PostCounts, PostPayload, ViewerState};
    use crate::profiles::ProfileCard;

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

    fn post(id: PostId, author: UserId) -> Arc<Post> {
        Arc::new(Post {
            id,
            author: AuthorSummary {
                id: author,
                display_name: "Author".to_owned(),
                handle: None,
                avatar_url: None,
                verification_level: crate::enums::VerificationLevel::Unverified,
            },
            visibility: crate::enums::PostVisibility::Public,
            body: "Body".to_owned(),
            topics: Vec::new(),
            payload: PostPayload::Text,
            media: Vec::new(),
            counts: PostCounts::default(),
            viewer: ViewerState::default(),
            created_at: crate::time::now(),
            updated_at: crate::time::now(),
            edited_at: None,
        })
    }

    /// Reader `follower` follows `author` and the topic `solar` and was shown `shown`;
    /// reader `other` follows nobody; `author`'s post `shown` is cached.
    struct Scene {
        state: State,
        follower: UserId,
        other: UserId,
        author: UserId,
        shown: PostId,
    }

    fn scene() -> Scene {
        let (follower, other, author, shown) =
            (UserId::new(), UserId::new(), UserId::new(), PostId::new());
        let member = |circle: Circle, entries: Vec<PostId>| Member {
            circle: Arc::new(circle),
            timeline: Some(Timeline {
                entries: entries
                    .into_iter()
                    .map(|post| FeedEntry {
                        key: FeedKey {
                            at: crate::time::now(),
                            post,
                        },
                        repost: None,
                    })
                    .collect(),
                more: false,
            }),
            states: HashMap::from([(shown, ViewerState::default())]),
            built: Instant::now(),
        };
        let circle = Circle {
            following: HashSet::from([author]),
            topics: HashSet::from(["solar".to_owned()]),
            ..Circle::default()
        };
        let state = State {
            members: HashMap::from([
                (follower, member(circle, vec![shown])),
                (other, member(Circle::default(), Vec::new())),
            ]),
            posts: HashMap::from([(shown, post(shown, author))]),
            cards: HashMap::new(),
            epoch: 0,
        };
        Scene {
            state,
            follower,
            other,
            author,
            shown,
        }
    }

    /// (follower's timeline kept, other's timeline kept, the shown post kept, follower's state
    /// on it kept (false when their timeline went), whether anything was reported dropped) after
    /// the event.
    fn after(
        event_type: &str,
        payload: impl Fn(&Scene) -> Value,
    ) -> (bool, bool, bool, bool, bool) {
        let mut scene = scene();
        let event = event(event_type, payload(&scene));
        let dropped = drop_for(&mut scene.state, &event);
        let follower = scene.state.members.get(&scene.follower);
        (
            follower.is_some(),
            scene.state.members.contains_key(&scene.other),
            scene.state.posts.contains_key(&scene.shown),
            follower.is_some_and(|m| m.states.contains_key(&scene.shown)),
            dropped,
        )
    }

    fn card(id: UserId) -> Arc<ProfileCard> {
        Arc::new(ProfileCard {
            user: UserSummary {
                id,
                display_name: "Member".to_owned(),
                handle: None,
                avatar_url: None,
                verification_level: crate::enums::VerificationLevel::Unverified,
            },
            headline: None,
            company: None,
            job_title: None,
            industry: None,
            country_code: None,
            city: None,
            connections: 0,
            joined_at: crate::time::now(),
        })
    }

    #[test]
    fn a_card_goes_with_its_member_and_their_connections() {
        let (named, other, stranger) = (UserId::new(), UserId::new(), UserId::new());
        let kept = |event_type: &str, payload: Value| {
            let mut state = State {
                cards: [named, other]
                    .into_iter()
                    .map(|id| (id, card(id)))
                    .collect(),
                ..State::default()
            };
            drop_for(&mut state, &event(event_type, payload));
            (
                state.cards.contains_key(&named),
                state.cards.contains_key(&other),
            )
        };
        // A rename, a new level, an edited profile: that member's card.
        for event_type in ["user.updated", "user.disabled", "profile.updated"] {
            assert_eq!(
                kept(event_type, json!({"user_id": named})),
                (false, true),
                "{event_type}"
            );
        }
        // A connection (its count is on both cards), whoever asked.
        for event_type in ["connection.accepted", "connection.removed"] {
            assert_eq!(
                kept(
                    event_type,
                    json!({"requester_id": stranger, "addressee_id": named})
                ),
                (false, true),
                "{event_type}"
            );
        }
        // Engagement and follows leave cards alone.
        assert_eq!(
            kept(
                "reaction.set",
                json!({"post_id": PostId::new(), "user_id": named})
            ),
            (true, true)
        );
        assert_eq!(
            kept(
                "user.followed",
                json!({"follower_id": named, "followee_id": other})
            ),
            (true, true)
        );
    }

    #[test]
    fn each_event_drops_what_it_may_have_changed() {
        let stranger = UserId::new();
        // A post by someone followed reaches the follower only; a post in a followed topic too.
        assert_eq!(
            after(
                "post.created",
                |s| json!({"post_id": PostId::new(), "author_id": s.author, "topics": []})
            ),
            (false, true, true, false, true)
        );
        assert_eq!(
            after(
                "post.created",
                |_| json!({"post_id": PostId::new(), "author_id": stranger, "topics": ["solar"]})
            ),
            (false, true, true, false, true)
        );
        assert_eq!(
            after(
                "post.created",
                |_| json!({"post_id": PostId::new(), "author_id": stranger, "topics": []})
            ),
            (true, true, true, true, true)
        );
        // A repost by someone followed, of the shown post: the timeline and the post's counts.
        assert_eq!(
            after(
                "repost.created",
                |s| json!({"post_id": s.shown, "user_id": s.author})
            ),
            (false, true, false, false, true)
        );
        // An edit of the text: the post; of the visibility: every timeline.
        assert_eq!(
            after(
                "post.updated",
                |s| json!({"post_id": s.shown, "fields": ["body"]})
            ),
            (true, true, false, true, true)
        );
        assert_eq!(
            after(
                "post.updated",
                |s| json!({"post_id": s.shown, "fields": ["visibility"]})
            ),
            (false, false, false, false, true)
        );
        // A deletion: the post and the timelines that hold it.
        assert_eq!(
            after(
                "post.deleted",
                |s| json!({"post_id": s.shown, "author_id": s.author})
            ),
            (false, true, false, false, true)
        );
        // Engagement: the post's counts, and the actor's own state on it.
        assert_eq!(
            after(
                "reaction.set",
                |s| json!({"post_id": s.shown, "user_id": s.follower})
            ),
            (true, true, false, false, true)
        );
        assert_eq!(
            after(
                "bookmark.set",
                |s| json!({"post_id": s.shown, "user_id": stranger.to_string()})
            ),
            (true, true, false, true, true)
        );
        // The graph: the timelines of the members named.
        assert_eq!(
            after(
                "user.unfollowed",
                |s| json!({"follower_id": s.follower, "followee_id": s.author})
            ),
            (false, true, true, false, true)
        );
        assert_eq!(
            after(
                "connection.removed",
                |s| json!({"requester_id": s.other, "addressee_id": stranger})
            ),
            (true, false, true, true, true)
        );
        assert_eq!(
            after(
                "topic.followed",
                |s| json!({"user_id": s.other, "slug": "solar"})
            ),
            (true, false, true, true, true)
        );
        // A rename: the author's posts and the timelines that show them.
        assert_eq!(
            after(
                "user.updated",
                |s| json!({"user_id": s.author, "fields": ["display_name"]})
            ),
            (false, true, false, false, true)
        );
        // Nothing of the feeds.
        assert_eq!(
            after("message.created", |_| json!({"conversation_id": "x"})),
            (true, true, true, true, false)
        );
    }
}
