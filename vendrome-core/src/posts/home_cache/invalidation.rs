//! What each outbox event drops from the cache (the table in the module above).

use super::State;
use crate::events::DomainEvent;
use crate::ids::{PostId, UserId};

/// Drops what one event may have changed; whether anything could have been.
pub(super) fn drop_for(state: &mut State, event: &DomainEvent) -> bool {
    use DomainEvent as E;
    match event {
        E::PostCreated(e) => {
            state.sources.drop_author(e.author_id);
            e.topics.iter().for_each(|t| state.sources.drop_topic(t));
            new_in_timelines(state, e.post_id, e.author_id, &e.topics);
        }
        E::RepostCreated(e) => {
            state.sources.drop_reposter(e.user_id);
            new_in_timelines(state, e.post_id, e.user_id, &[]);
        }
        E::RepostRemoved(e) => {
            state.sources.drop_reposter(e.user_id);
            new_in_timelines(state, e.post_id, e.user_id, &[]);
        }
        E::PostUpdated(e) => {
            let reshaped = e
                .fields
                .iter()
                .any(|f| matches!(f.as_str(), "visibility" | "topics"));
            if reshaped {
                state.members.clear();
                state.sources.clear();
            }
            state.posts.remove(&e.post_id);
        }
        E::PostDeleted(e) => {
            let post = e.post_id;
            state.posts.remove(&post);
            state.sources.drop_post(post);
            state.members.retain(|_, member| {
                let timeline = member.timeline.as_ref();
                timeline.is_none_or(|t| t.entries.iter().all(|e| e.key.post != post))
            });
        }
        // Engagement: the post's counts, and the actor's own state on it.
        E::ReactionSet(e) => engaged(state, e.post_id, Some(e.user_id)),
        E::ReactionRemoved(e) => engaged(state, e.post_id, Some(e.user_id)),
        E::ShareCreated(e) => engaged(state, e.post_id, Some(e.user_id)),
        E::BookmarkSet(e) | E::BookmarkRemoved(e) => engaged(state, e.post_id, Some(e.user_id)),
        // A comment is in the counts, not in the viewer's state.
        E::CommentCreated(e) => engaged(state, e.post_id, None),
        E::CommentUpdated(e) => engaged(state, e.post_id, None),
        E::CommentDeleted(e) => engaged(state, e.post_id, None),
        // The graph around the members named changed: their timelines and circles.
        E::UserFollowed(e) | E::UserUnfollowed(e) => {
            drop_members(state, &[e.follower_id, e.followee_id]);
        }
        E::UserBlocked(e) => drop_members(state, &[e.blocker_id, e.blocked_id]),
        E::UserUnblocked(e) => drop_members(state, &[e.blocker_id, e.blocked_id]),
        E::TopicFollowed(e) | E::TopicUnfollowed(e) => drop_members(state, &[e.user_id]),
        // Also their connection counts, on their cards.
        E::ConnectionRequested(e) => connection(state, &[e.requester_id, e.addressee_id]),
        E::ConnectionAccepted(e)
        | E::ConnectionDeclined(e)
        | E::ConnectionWithdrawn(e)
        | E::ConnectionRemoved(e) => connection(state, &[e.requester_id, e.addressee_id]),
        // Their name, picture or level may have changed.
        E::UserCreated(e) => member_changed(state, e.user_id),
        E::UserUpdated(e) | E::ProfileUpdated(e) => member_changed(state, e.user_id),
        E::UserRoleChanged(e) => member_changed(state, e.user_id),
        E::UserVerificationLevelChanged(e) => member_changed(state, e.user_id),
        // Their posts and reposts leave every source, or come back.
        E::UserDisabled(e) | E::UserEnabled(e) => {
            state.sources.clear();
            member_changed(state, e.user_id);
        }
        E::UserMessagingSettingsUpdated(e) => member_changed(state, e.user_id),
        // Nothing of the feeds.
        E::FlagUpdated(_)
        | E::ConversationCreated(_)
        | E::ConversationUpdated(_)
        | E::ConversationMemberAdded(_)
        | E::ConversationMemberRemoved(_)
        | E::ConversationMemberRoleChanged(_)
        | E::MessageCreated(_)
        | E::MessageUpdated(_)
        | E::MessageDeleted(_)
        | E::MessageRead(_)
        | E::OrderCreated(_)
        | E::OrderPaid(_)
        | E::OrderCancelled(_)
        | E::OrderFulfilled(_)
        | E::OrderCompleted(_)
        | E::OrderRefunded(_)
        | E::PaymentSucceeded(_)
        | E::PaymentFailed(_)
        | E::PaymentRefunded(_)
        | E::BookingRequested(_)
        | E::BookingConfirmed(_)
        | E::BookingDeclined(_)
        | E::BookingCancelled(_)
        | E::BookingCompleted(_)
        | E::BookingNoShow(_)
        | E::BookingRescheduled(_)
        | E::ReviewCreated(_)
        | E::ReviewUpdated(_)
        | E::ReviewReplied(_)
        | E::ReviewDeleted(_)
        | E::MentorshipRequested(_)
        | E::MentorshipAccepted(_)
        | E::MentorshipDeclined(_)
        | E::MentorshipCancelled(_)
        | E::MentorshipPaused(_)
        | E::MentorshipResumed(_)
        | E::MentorshipCompleted(_)
        | E::MentorshipGoalAdded(_)
        | E::MentorshipGoalCompleted(_)
        | E::MentorshipSessionScheduled(_)
        | E::MentorshipSessionRescheduled(_)
        | E::MentorshipSessionCancelled(_)
        | E::MentorshipNoteAdded(_)
        | E::MentorshipFeedbackGiven(_)
        | E::CampaignCreated(_)
        | E::CampaignUpdated(_)
        | E::CampaignStatusChanged(_) => return false,
    }
    true
}

/// A post (or repost) by `person`, in `topics`, reaches the timelines of those who follow
/// either; the post's own entry goes too (its counts).
fn new_in_timelines(state: &mut State, post: PostId, person: UserId, topics: &[String]) {
    state.members.retain(|owner, member| {
        let named = member.circle.includes(*owner, person);
        !(named || topics.iter().any(|t| member.circle.topics.contains(t)))
    });
    state.posts.remove(&post);
}

fn engaged(state: &mut State, post: PostId, actor: Option<UserId>) {
    state.posts.remove(&post);
    if let Some(member) = actor.and_then(|actor| state.members.get_mut(&actor)) {
        member.states.remove(&post);
    }
}

fn connection(state: &mut State, people: &[UserId]) {
    drop_members(state, people);
    for person in people {
        state.cards.remove(person);
    }
}

/// In the posts they wrote, and in the reposts they made in others' timelines.
fn member_changed(state: &mut State, person: UserId) {
    state.sources.drop_reposter(person);
    state.posts.retain(|_, post| post.author.id != person);
    state.cards.remove(&person);
    state
        .members
        .retain(|owner, member| !member.circle.includes(*owner, person));
}

fn drop_members(state: &mut State, people: &[UserId]) {
    for person in people {
        state.members.remove(person);
        state.circles.remove(*person);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;
    use std::time::Instant;

    use serde_json::{json, Value};

    use super::*;
    use crate::graph::UserSummary;
    use crate::posts::feed::{Circle, FeedEntry, FeedKey};
    use crate::posts::home_cache::{Member, Timeline};
    use crate::posts::{AuthorSummary, Post, PostCounts, PostPayload, ViewerState};
    use crate::profiles::ProfileCard;

    /// The event of that type, read from `payload` with the fields it leaves out filled in
    /// (ids of nobody in the scene).
    fn event(event_type: &str, payload: Value) -> DomainEvent {
        let mut full = json!({
            "type": "text", "visibility": "public", "topics": [], "fields": [], "kind": "like",
            "display_name": "Someone", "direct_messages": "anyone", "note": null, "quote": null,
            "previous_kind": null, "channel": "link", "parent_id": null, "slug": "x",
            "participant_ids": [], "title": "x", "role": "member", "name": "x", "enabled": true,
            "rollout_percent": 0, "follows_ended": 0, "connection_ended": false,
            "requests_cancelled": 0, "change": {"disabled": true},
        });
        for field in [
            "post_id",
            "author_id",
            "user_id",
            "updated_by",
            "deleted_by",
            "comment_id",
            "share_id",
            "follower_id",
            "followee_id",
            "blocker_id",
            "blocked_id",
            "topic_id",
            "connection_id",
            "requester_id",
            "addressee_id",
            "actor_id",
            "conversation_id",
            "message_id",
            "by",
            "sender_id",
        ] {
            full[field] = json!(uuid::Uuid::now_v7());
        }
        for (field, value) in payload.as_object().expect("an object") {
            full[field.as_str()] = value.clone();
        }
        DomainEvent::parse(event_type, &full).expect("a readable event")
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
            sources: super::super::Sources::default(),
            circles: super::super::Circles::default(),
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

    /// The sources' windows missing after the event (as `"author"`, `"topic"`, `"reposter"`,
    /// `"other author"`), from a state holding the author's window (with the shown post), the
    /// topic `solar`'s (with it too), the follower's reposts (of it) and another author's.
    fn windows_dropped(event_type: &str, payload: impl Fn(&Scene) -> Value) -> Vec<&'static str> {
        use crate::posts::feed::FeedKey;
        use crate::posts::home_cache::sources::{
            PostMark, RepostMark, ReposterMarks, Windows, WindowsWanted,
        };
        let mut scene = scene();
        let other_author = UserId::new();
        let mark = PostMark {
            key: FeedKey {
                at: crate::time::now(),
                post: scene.shown,
            },
            author: scene.author,
            visibility: crate::enums::PostVisibility::Public,
        };
        let reposts = ReposterMarks {
            by: None,
            disabled: false,
            reposts: vec![RepostMark {
                key: mark.key,
                author: scene.author,
                visibility: mark.visibility,
                quote: None,
            }],
        };
        let wanted = WindowsWanted {
            authors: vec![scene.author, other_author],
            topics: vec!["solar".to_owned()],
            reposters: vec![scene.follower],
        };
        let got = Windows {
            authors: HashMap::from([(scene.author, vec![mark])]),
            topics: HashMap::from([("solar".to_owned(), vec![mark])]),
            reposters: HashMap::from([(scene.follower, reposts)]),
        };
        let sources = &mut scene.state.sources;
        sources.take(wanted, got, &mut Default::default(), true, 1_000);
        let event = event(event_type, payload(&scene));
        drop_for(&mut scene.state, &event);
        let people = [scene.author, other_author];
        let topics = ["solar".to_owned()];
        let (_, missing) = scene.state.sources.draw(&people, &topics);
        let mut dropped = Vec::new();
        if missing.authors.contains(&scene.author) {
            dropped.push("author");
        }
        if missing.authors.contains(&other_author) {
            dropped.push("other author");
        }
        if !missing.topics.is_empty() {
            dropped.push("topic");
        }
        let (_, missing) = scene.state.sources.draw(&[scene.follower], &[]);
        if missing.reposters.contains(&scene.follower) {
            dropped.push("reposter");
        }
        dropped
    }

    #[test]
    fn each_event_drops_the_source_windows_it_may_have_changed() {
        let stranger = UserId::new();
        let none: Vec<&str> = Vec::new();
        let created =
            |s: &Scene| json!({"post_id": PostId::new(), "author_id": s.author, "topics": []});
        assert_eq!(windows_dropped("post.created", created), ["author"]);
        let in_topic = |_: &Scene| json!({"post_id": PostId::new(), "author_id": stranger, "topics": ["solar"]});
        assert_eq!(windows_dropped("post.created", in_topic), ["topic"]);
        let repost = |s: &Scene| json!({"post_id": s.shown, "user_id": s.follower});
        assert_eq!(windows_dropped("repost.created", repost), ["reposter"]);
        assert_eq!(windows_dropped("repost.removed", repost), ["reposter"]);
        let deleted = |s: &Scene| json!({"post_id": s.shown, "author_id": s.author});
        assert_eq!(
            windows_dropped("post.deleted", deleted),
            ["author", "topic", "reposter"]
        );
        let body = |s: &Scene| json!({"post_id": s.shown, "fields": ["body"]});
        assert_eq!(windows_dropped("post.updated", body), none);
        let visibility = |s: &Scene| json!({"post_id": s.shown, "fields": ["visibility"]});
        assert_eq!(
            windows_dropped("post.updated", visibility),
            ["author", "other author", "topic", "reposter"]
        );
        let member = |_: &Scene| json!({"user_id": stranger});
        assert_eq!(
            windows_dropped("user.disabled", member),
            ["author", "other author", "topic", "reposter"]
        );
        assert_eq!(
            windows_dropped("user.enabled", member),
            ["author", "other author", "topic", "reposter"]
        );
        let renamed = |s: &Scene| json!({"user_id": s.follower});
        assert_eq!(windows_dropped("profile.updated", renamed), ["reposter"]);
        let reaction = |s: &Scene| json!({"post_id": s.shown, "user_id": s.follower});
        assert_eq!(windows_dropped("reaction.set", reaction), none);
        let follow = |s: &Scene| json!({"follower_id": s.follower, "followee_id": s.author});
        assert_eq!(windows_dropped("user.followed", follow), none);
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
            after("message.created", |_| json!({})),
            (true, true, true, true, false)
        );
    }
}
