//! `fixtures/social.json`: posts of every type, comments, reactions, reposts, bookmarks,
//! connections, follows and direct messages among the fixture users, loaded through the same
//! services as the API (so counters and outbox events are what real activity makes).
//!
//! Idempotent: a post is known by its author and body, a comment by its post, author and body;
//! reactions, reposts, bookmarks and follows are set operations; a connection in the listed state
//! (or further along) is left alone; a pair has one direct conversation, and a message is sent
//! with its fixture key as the client's message id, so sending it again stores nothing.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vendrome_core::access::Caller;
use vendrome_core::enums::{ConnectionStatus, PostType, PostVisibility, ReactionKind};
use vendrome_core::graph::connection::ConnectionNote;
use vendrome_core::graph::{ConnectionAction, GraphService};
use vendrome_core::ids::{CommentId, PostId};
use vendrome_core::messaging::{ClientMessageId, MessageBody, MessagingService};
use vendrome_core::posts::engagement::{CommentBody, EngagementService};
use vendrome_core::posts::{
    parse_topics, Media, MediaItem, PostBody, PostPayload, PostService, TopicSlug,
};
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_core::validation::ValidationErrors;
use vendrome_store::{Db, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Social {
    #[serde(default)]
    posts: Vec<PostFixture>,
    #[serde(default)]
    comments: Vec<CommentFixture>,
    #[serde(default)]
    reactions: Vec<ReactionFixture>,
    #[serde(default)]
    reposts: Vec<RepostFixture>,
    #[serde(default)]
    bookmarks: Vec<BookmarkFixture>,
    #[serde(default)]
    connections: Vec<ConnectionFixture>,
    #[serde(default)]
    follows: Vec<FollowFixture>,
    #[serde(default)]
    topic_follows: Vec<TopicFollowFixture>,
    #[serde(default)]
    messages: Vec<MessageFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFixture {
    key: String,
    from: String,
    to: String,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostFixture {
    key: String,
    author: String,
    #[serde(rename = "type")]
    post_type: PostType,
    body: String,
    #[serde(default)]
    visibility: Option<PostVisibility>,
    #[serde(default)]
    topics: Vec<String>,
    payload: Option<serde_json::Value>,
    #[serde(default)]
    media: Vec<MediaItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentFixture {
    key: String,
    post: String,
    author: String,
    body: String,
    reply_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReactionFixture {
    post: String,
    user: String,
    kind: ReactionKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepostFixture {
    post: String,
    user: String,
    quote: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookmarkFixture {
    post: String,
    user: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionFixture {
    from: String,
    to: String,
    status: ConnectionStatus,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowFixture {
    follower: String,
    followee: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFollowFixture {
    user: String,
    topic: String,
}

impl Social {
    /// Each post's key with its author's email and its body, by which a loaded post is found.
    pub fn post_keys(&self) -> HashMap<String, (String, String)> {
        self.posts
            .iter()
            .map(|p| (p.key.clone(), (p.author.clone(), p.body.clone())))
            .collect()
    }
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct SocialSummary {
    pub posts_created: usize,
    pub posts_present: usize,
    pub comments_created: usize,
    pub connections_changed: usize,
}

fn invalid(what: &str, errors: ValidationErrors) -> anyhow::Error {
    anyhow!("social.json {what}: {errors}")
}

/// Runs a lookup by some ids and a text that answers one optional id, on either database.
async fn lookup(
    store: &Store,
    sql: &str,
    ids: &[Uuid],
    text: &str,
) -> anyhow::Result<Option<Uuid>> {
    macro_rules! run {
        ($pool:expr) => {{
            let mut query = sqlx::query_scalar(sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.bind(text).fetch_optional($pool).await?
        }};
    }
    Ok(match store.db() {
        Db::Postgres(pool) => run!(pool),
        Db::Sqlite(pool) => run!(pool),
    })
}

/// Loads `social`; what it did, and the posts by their fixture key (for `orders.json`).
pub async fn load(
    store: &Store,
    social: Social,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<(SocialSummary, HashMap<String, PostId>)> {
    let shared = Arc::new(store.clone());
    let posts = PostService::new(shared.clone());
    let engagement = EngagementService::new(shared.clone(), posts.clone());
    let graph = GraphService::new(shared.clone(), shared.clone());
    let messaging = MessagingService::new(shared.clone(), shared.clone(), shared);
    let mut summary = SocialSummary::default();
    let mut callers: HashMap<String, Caller> = HashMap::new();
    let mut caller = async |email: &str| -> anyhow::Result<Caller> {
        if let Some(c) = callers.get(email) {
            return Ok(*c);
        }
        let parsed = Email::parse(email).map_err(|e| invalid(email, e))?;
        let user = store
            .user_by_email(&parsed)
            .await?
            .with_context(|| format!("social.json names {email}, who is not in users.json"))?;
        let c = Caller {
            user_id: user.id,
            role: user.role,
        };
        callers.insert(email.to_owned(), c);
        Ok(c)
    };

    let mut post_ids: HashMap<String, PostId> = HashMap::new();
    for fixture in social.posts {
        let author = caller(&fixture.author).await?;
        let what = format!("post {}", fixture.key);
        let body = PostBody::parse(&fixture.body).map_err(|e| invalid(&what, e))?;
        let existing = lookup(
            store,
            "SELECT id FROM posts WHERE author_id = $1 AND body = $2 AND deleted_at IS NULL",
            &[author.user_id.as_uuid()],
            body.as_str(),
        )
        .await?;
        let id = match existing {
            Some(id) => {
                summary.posts_present += 1;
                PostId::from_uuid(id)
            }
            None => {
                let mut errors = ValidationErrors::new();
                let topics: Vec<TopicSlug> = parse_topics(&fixture.topics, "topics", &mut errors);
                errors.into_result().map_err(|e| invalid(&what, e))?;
                let payload =
                    PostPayload::parse_fields(fixture.post_type, fixture.payload.as_ref())
                        .map_err(|e| invalid(&what, e))?;
                let media = Media::parse(fixture.media).map_err(|e| invalid(&what, e))?;
                let visibility = fixture.visibility.unwrap_or(PostVisibility::Public);
                let post = posts
                    .create(&author, body, visibility, topics, payload, media)
                    .await?;
                summary.posts_created += 1;
                post.id
            }
        };
        post_ids.insert(fixture.key, id);
        bar.inc(1);
    }
    let post = |key: &str| -> anyhow::Result<PostId> {
        post_ids
            .get(key)
            .copied()
            .with_context(|| format!("social.json names no post `{key}`"))
    };

    let mut comment_ids: HashMap<String, CommentId> = HashMap::new();
    for fixture in social.comments {
        let author = caller(&fixture.author).await?;
        let on = post(&fixture.post)?;
        let body = CommentBody::parse(&fixture.body).map_err(|e| invalid(&fixture.key, e))?;
        let existing = lookup(
            store,
            "SELECT id FROM post_comments WHERE post_id = $1 AND author_id = $2 AND body = $3 AND deleted_at IS NULL",
            &[on.as_uuid(), author.user_id.as_uuid()],
            body.as_str(),
        )
        .await?;
        let id = match existing {
            Some(id) => CommentId::from_uuid(id),
            None => {
                let parent = match &fixture.reply_to {
                    Some(key) => Some(*comment_ids.get(key).with_context(|| {
                        format!("comment {} answers unknown `{key}`", fixture.key)
                    })?),
                    None => None,
                };
                summary.comments_created += 1;
                engagement.comment(&author, on, parent, body).await?.id
            }
        };
        comment_ids.insert(fixture.key, id);
        bar.inc(1);
    }
    for r in social.reactions {
        engagement
            .react(&caller(&r.user).await?, post(&r.post)?, r.kind)
            .await?;
        bar.inc(1);
    }
    for r in social.reposts {
        engagement
            .repost(&caller(&r.user).await?, post(&r.post)?, r.quote)
            .await?;
        bar.inc(1);
    }
    for b in social.bookmarks {
        engagement
            .bookmark(&caller(&b.user).await?, post(&b.post)?)
            .await?;
        bar.inc(1);
    }
    for c in social.connections {
        let from = caller(&c.from).await?;
        let to = caller(&c.to).await?;
        let note = ConnectionNote::parse(c.note.as_deref().unwrap_or(""))
            .map_err(|e| invalid("connection note", e))?;
        let open = match graph.request(&from, to.user_id, note).await {
            Ok(requested) => {
                summary.connections_changed += 1;
                Some(requested.connection)
            }
            Err(vendrome_core::Error::Conflict {
                code: "connection_exists",
                ..
            }) => None,
            Err(e) => return Err(e.into()),
        };
        if let (Some(open), ConnectionStatus::Accepted) = (open, c.status) {
            if open.status == ConnectionStatus::Pending {
                graph.act(&to, open.id, ConnectionAction::Accept).await?;
            }
        }
        bar.inc(1);
    }
    for f in social.follows {
        graph
            .follow(
                &caller(&f.follower).await?,
                caller(&f.followee).await?.user_id,
            )
            .await?;
        bar.inc(1);
    }
    for t in social.topic_follows {
        let slug = TopicSlug::parse(&t.topic).map_err(|e| invalid("topic", e))?;
        graph.follow_topic(&caller(&t.user).await?, &slug).await?;
        bar.inc(1);
    }
    for m in social.messages {
        let from = caller(&m.from).await?;
        let to = caller(&m.to).await?;
        let what = format!("message {}", m.key);
        let body = MessageBody::parse(&m.body).map_err(|e| invalid(&what, e))?;
        let client_id =
            ClientMessageId::parse(&format!("fixture:{}", m.key)).map_err(|e| invalid(&what, e))?;
        let (conversation, _) = messaging.start_direct(&from, to.user_id).await?;
        messaging
            .send(&from, conversation, body, Some(client_id))
            .await?;
        bar.inc(1);
    }
    Ok((summary, post_ids))
}

impl Social {
    pub fn items(&self) -> usize {
        self.posts.len()
            + self.comments.len()
            + self.reactions.len()
            + self.reposts.len()
            + self.bookmarks.len()
            + self.connections.len()
            + self.follows.len()
            + self.topic_follows.len()
            + self.messages.len()
    }
}
