//! [`PostRepo`] in memory, with the visibility rule every read path keeps: public posts to
//! anyone, connections-only posts to the author and their connections, nothing across a block
//! or by a disabled author, nothing deleted.

use async_trait::async_trait;

use super::{InMemory, World};
use crate::enums::PostVisibility;
use crate::graph::Topic;
use crate::ids::{PostId, TopicId, UserId};
use crate::posts::{AuthorSummary, NewPost, Post, PostCounts, PostRepo, PostUpdate, ViewerState};
use crate::time;
use crate::{Error, Result};

impl World {
    fn may_see(&self, viewer: Option<UserId>, post: &Post) -> bool {
        let author = post.author.id;
        if self.user(author).is_none_or(|u| u.is_disabled()) {
            return false;
        }
        match viewer {
            None => post.visibility == PostVisibility::Public,
            Some(v) => {
                !self.blocked(v, author)
                    && (post.visibility == PostVisibility::Public
                        || v == author
                        || self.connected(v, author))
            }
        }
    }

    fn live(&self, id: PostId) -> Option<&Post> {
        self.posts
            .iter()
            .find(|(p, deleted)| p.id == id && !deleted)
            .map(|(p, _)| p)
    }

    /// The topics' slugs, each made on first use.
    fn topic_slugs(&mut self, slugs: &[crate::posts::TopicSlug]) -> Vec<String> {
        let now = time::now();
        for slug in slugs {
            if !self.topics.iter().any(|t| t.slug == slug.as_str()) {
                self.topics.push(Topic {
                    id: TopicId::new(),
                    slug: slug.as_str().to_owned(),
                    name: slug.as_str().to_owned(),
                    description: String::new(),
                    follower_count: 0,
                    post_count: 0,
                    created_at: now,
                });
            }
            if let Some(t) = self.topics.iter_mut().find(|t| t.slug == slug.as_str()) {
                t.post_count += 1;
            }
        }
        slugs.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

#[async_trait]
impl PostRepo for InMemory {
    async fn create_post(&self, new: NewPost) -> Result<PostId> {
        let mut world = self.world();
        let author = world
            .user(new.author_id)
            .map(|u| AuthorSummary {
                id: u.id,
                display_name: u.display_name.as_str().to_owned(),
                handle: u.handle.as_ref().map(|h| h.as_str().to_owned()),
                avatar_url: u.avatar_url.clone(),
                verification_level: u.verification_level,
            })
            .ok_or_else(|| anyhow::anyhow!("no user {} to write a post", new.author_id))?;
        let topics = world.topic_slugs(&new.topics);
        let now = time::now();
        let post = Post {
            id: PostId::new(),
            author,
            visibility: new.visibility,
            body: new.body.as_str().to_owned(),
            topics,
            payload: new.payload,
            media: new.media.into_items(),
            counts: PostCounts::default(),
            viewer: ViewerState::default(),
            created_at: now,
            updated_at: now,
            edited_at: None,
        };
        let id = post.id;
        world.posts.push((post, false));
        world.announce("post.created");
        Ok(id)
    }

    async fn posts_by_ids(&self, ids: &[PostId], viewer: Option<UserId>) -> Result<Vec<Post>> {
        let world = self.world();
        Ok(ids
            .iter()
            .filter_map(|id| world.live(*id))
            .filter(|p| world.may_see(viewer, p))
            .cloned()
            .collect())
    }

    async fn posts_by_ids_unchecked(
        &self,
        ids: &[PostId],
        _viewer: Option<UserId>,
    ) -> Result<Vec<Post>> {
        // Engagement is not kept here: the viewer's state is always empty.
        let world = self.world();
        Ok(ids
            .iter()
            .filter_map(|id| world.live(*id))
            .cloned()
            .collect())
    }

    async fn viewer_states(
        &self,
        _viewer: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, ViewerState)>> {
        // Engagement is not kept here: every state is empty.
        let world = self.world();
        Ok(ids
            .iter()
            .filter(|id| world.live(**id).is_some())
            .map(|id| (*id, ViewerState::default()))
            .collect())
    }

    async fn post_by_id_unchecked(&self, id: PostId) -> Result<Option<Post>> {
        Ok(self.world().live(id).cloned())
    }

    async fn update_post(&self, id: PostId, update: PostUpdate, _by: UserId) -> Result<()> {
        let mut world = self.world();
        let topics = update.topics.as_ref().map(|t| world.topic_slugs(t));
        let (post, _) = world
            .posts
            .iter_mut()
            .find(|(p, deleted)| p.id == id && !deleted)
            .ok_or(Error::not_found("post"))?;
        let now = time::now();
        if let Some(body) = update.body {
            post.body = body.as_str().to_owned();
        }
        if let Some(visibility) = update.visibility {
            post.visibility = visibility;
        }
        if let Some(topics) = topics {
            post.topics = topics;
        }
        if let Some(payload) = update.payload {
            post.payload = payload;
        }
        if let Some(media) = update.media {
            post.media = media.into_items();
        }
        post.updated_at = now;
        post.edited_at = Some(now);
        world.announce("post.updated");
        Ok(())
    }

    async fn delete_post(&self, id: PostId, _by: UserId) -> Result<()> {
        let mut world = self.world();
        let (_, deleted) = world
            .posts
            .iter_mut()
            .find(|(p, deleted)| p.id == id && !deleted)
            .ok_or(Error::not_found("post"))?;
        *deleted = true;
        world.announce("post.deleted");
        Ok(())
    }
}
