//! [`MessagingRepo`] and [`GroupRepo`] in memory. Messages are ordered by when they were
//! stored (their place in the list), as the real store orders them by their UUIDv7 ids.

use async_trait::async_trait;

use super::{page_of, Conversation, InMemory, Participant, World};
use crate::enums::{ConversationKind, DirectMessagePolicy, ParticipantRole};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::messaging::groups::{Added, GroupRepo, GroupTitle};
use crate::messaging::{
    ClientMessageId, HistoryFrom, InboxEntry, Message, MessageBody, MessageContent, MessagingRepo,
};
use crate::page::{Cursor, Limit, Page};
use crate::time;
use crate::{Error, Result};

impl World {
    fn conversation(&self, id: ConversationId) -> Option<&Conversation> {
        self.conversations.iter().find(|c| c.id == id)
    }

    fn conversation_mut(&mut self, id: ConversationId) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| c.id == id)
    }

    /// A current member of a conversation.
    fn member_mut(&mut self, id: ConversationId, user: UserId) -> Option<&mut Participant> {
        self.conversation_mut(id)?
            .participants
            .iter_mut()
            .find(|p| p.user == user && p.present)
    }

    fn present(&self, id: ConversationId) -> Vec<UserId> {
        self.conversation(id)
            .map(|c| {
                c.participants
                    .iter()
                    .filter(|p| p.present)
                    .map(|p| p.user)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Live messages of a conversation, oldest first, with their place in the store.
    fn live_messages(&self, id: ConversationId) -> impl Iterator<Item = (usize, &Message)> {
        self.messages
            .iter()
            .enumerate()
            .filter(move |(_, (m, deleted, _))| m.conversation_id == id && !deleted)
            .map(|(i, (m, _, _))| (i, m))
    }

    fn place(&self, id: MessageId) -> Option<usize> {
        self.messages.iter().position(|(m, _, _)| m.id == id)
    }

    fn new_conversation(
        &mut self,
        kind: ConversationKind,
        title: Option<String>,
        members: &[(UserId, ParticipantRole)],
    ) -> ConversationId {
        let id = ConversationId::new();
        self.conversations.push(Conversation {
            id,
            kind,
            title,
            created_at: time::now(),
            participants: members
                .iter()
                .map(|&(user, role)| Participant {
                    user,
                    role,
                    present: true,
                    last_read: None,
                })
                .collect(),
        });
        self.announce("conversation.created");
        id
    }
}

fn message_not_found() -> Error {
    Error::not_found("message")
}

#[async_trait]
impl MessagingRepo for InMemory {
    async fn direct_conversation(&self, a: UserId, b: UserId) -> Result<(ConversationId, bool)> {
        let mut world = self.world();
        if let Some(id) = direct(&world, a, b) {
            return Ok((id, false));
        }
        let members = [(a, ParticipantRole::Member), (b, ParticipantRole::Member)];
        Ok((
            world.new_conversation(ConversationKind::Direct, None, &members),
            true,
        ))
    }

    async fn existing_direct(&self, a: UserId, b: UserId) -> Result<Option<ConversationId>> {
        Ok(direct(&self.world(), a, b))
    }

    async fn direct_message_policy(&self, user: UserId) -> Result<DirectMessagePolicy> {
        let world = self.world();
        world.user(user).ok_or(Error::not_found("user"))?;
        Ok(world
            .policies
            .iter()
            .find(|(u, _)| *u == user)
            .map_or(DirectMessagePolicy::Anyone, |(_, p)| *p))
    }

    async fn set_direct_message_policy(
        &self,
        user: UserId,
        policy: DirectMessagePolicy,
    ) -> Result<()> {
        let mut world = self.world();
        world.user(user).ok_or(Error::not_found("user"))?;
        world.policies.retain(|(u, _)| *u != user);
        world.policies.push((user, policy));
        world.announce("user.messaging_settings_updated");
        Ok(())
    }

    async fn participants(&self, conversation: ConversationId) -> Result<Vec<UserId>> {
        Ok(self.world().present(conversation))
    }

    async fn send_message(
        &self,
        conversation: ConversationId,
        sender: UserId,
        content: MessageContent,
        client_id: Option<ClientMessageId>,
    ) -> Result<Message> {
        let mut world = self.world();
        let client_id = client_id.map(|c| c.as_str().to_owned());
        if let Some(client_id) = &client_id {
            let sent = world
                .messages
                .iter()
                .find(|(m, _, c)| m.sender_id == Some(sender) && c.as_ref() == Some(client_id));
            if let Some((message, _, _)) = sent {
                return Ok(message.clone());
            }
        }
        let message = Message {
            id: MessageId::new(),
            conversation_id: conversation,
            sender_id: Some(sender),
            body: content.body().to_owned(),
            attachments: content.attachments().to_vec(),
            created_at: time::now(),
            edited_at: None,
        };
        world.messages.push((message.clone(), false, client_id));
        world.announce("message.created");
        Ok(message)
    }

    async fn message_by_id(&self, id: MessageId) -> Result<Option<Message>> {
        let world = self.world();
        Ok(world
            .messages
            .iter()
            .find(|(m, deleted, _)| m.id == id && !deleted)
            .map(|(m, _, _)| m.clone()))
    }

    async fn edit_message(&self, id: MessageId, body: MessageBody) -> Result<Message> {
        let mut world = self.world();
        let (message, _, _) = world
            .messages
            .iter_mut()
            .find(|(m, deleted, _)| m.id == id && !deleted)
            .ok_or_else(message_not_found)?;
        message.body = body.as_str().to_owned();
        message.edited_at = Some(time::now());
        let message = message.clone();
        world.announce("message.updated");
        Ok(message)
    }

    async fn delete_message(&self, id: MessageId) -> Result<()> {
        let mut world = self.world();
        let (_, deleted, _) = world
            .messages
            .iter_mut()
            .find(|(m, deleted, _)| m.id == id && !deleted)
            .ok_or_else(message_not_found)?;
        *deleted = true;
        world.announce("message.deleted");
        Ok(())
    }

    async fn messages(
        &self,
        conversation: ConversationId,
        from: HistoryFrom,
        fetch: i64,
    ) -> Result<Vec<Message>> {
        let world = self.world();
        let fetch = usize::try_from(fetch).unwrap_or(0);
        let live: Vec<(usize, &Message)> = world.live_messages(conversation).collect();
        let anchor = |id: MessageId| world.place(id).unwrap_or(usize::MAX);
        let picked: Vec<&Message> = match from {
            HistoryFrom::Latest => live.iter().rev().take(fetch).map(|(_, m)| *m).collect(),
            HistoryFrom::Before(id) => {
                let at = anchor(id);
                live.iter()
                    .rev()
                    .filter(|(i, _)| *i < at)
                    .take(fetch)
                    .map(|(_, m)| *m)
                    .collect()
            }
            HistoryFrom::After(id) => {
                let at = world.place(id).map_or(0, |i| i + 1);
                live.iter()
                    .filter(|(i, _)| *i >= at)
                    .take(fetch)
                    .map(|(_, m)| *m)
                    .collect()
            }
        };
        Ok(picked.into_iter().cloned().collect())
    }

    async fn mark_read(
        &self,
        conversation: ConversationId,
        user: UserId,
        message: MessageId,
    ) -> Result<bool> {
        let mut world = self.world();
        let place = world
            .live_messages(conversation)
            .find(|(_, m)| m.id == message)
            .map(|(i, _)| i)
            .ok_or_else(message_not_found)?;
        let current = {
            let c = world
                .conversation(conversation)
                .ok_or_else(message_not_found)?;
            c.participants
                .iter()
                .find(|p| p.user == user)
                .and_then(|p| p.last_read)
                .and_then(|id| world.place(id))
        };
        if current.is_some_and(|at| at >= place) {
            return Ok(false);
        }
        let c = world
            .conversation_mut(conversation)
            .ok_or_else(message_not_found)?;
        let Some(participant) = c.participants.iter_mut().find(|p| p.user == user) else {
            return Ok(false);
        };
        participant.last_read = Some(message);
        world.announce("message.read");
        Ok(true)
    }

    async fn messages_since(
        &self,
        user: UserId,
        after: MessageId,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let world = self.world();
        let from = world.place(after).map_or(0, |i| i + 1);
        Ok(world
            .messages
            .iter()
            .skip(from)
            .filter(|(m, deleted, _)| !deleted && world.present(m.conversation_id).contains(&user))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(m, _, _)| m.clone())
            .collect())
    }

    async fn unblocked_others(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Vec<UserId>> {
        let world = self.world();
        Ok(world
            .present(conversation)
            .into_iter()
            .filter(|other| *other != user && !world.blocked(user, *other))
            .collect())
    }

    async fn partners(&self, user: UserId, limit: i64) -> Result<Vec<UserId>> {
        let world = self.world();
        let mut partners = Vec::new();
        for c in world.conversations.iter().rev() {
            let others = world.present(c.id);
            if others.contains(&user) {
                for other in others {
                    if other != user && !partners.contains(&other) && !world.blocked(user, other) {
                        partners.push(other);
                    }
                }
            }
        }
        partners.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(partners)
    }

    async fn inbox(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<InboxEntry>> {
        let world = self.world();
        let mut entries: Vec<(usize, InboxEntry)> = world
            .conversations
            .iter()
            .filter(|c| world.present(c.id).contains(&user))
            .map(|c| {
                let live: Vec<(usize, &Message)> = world.live_messages(c.id).collect();
                let read = c
                    .participants
                    .iter()
                    .find(|p| p.user == user)
                    .and_then(|p| p.last_read)
                    .and_then(|id| world.place(id));
                let unread = live
                    .iter()
                    .filter(|(i, m)| m.sender_id != Some(user) && read.is_none_or(|r| *i > r))
                    .count() as i64;
                let last = live.last();
                let entry = InboxEntry {
                    conversation_id: c.id,
                    kind: c.kind,
                    title: c.title.clone(),
                    others: world
                        .present(c.id)
                        .into_iter()
                        .filter(|p| *p != user)
                        .collect(),
                    last_message: last.map(|(_, m)| (*m).clone()),
                    unread,
                    last_activity: last.map_or(c.created_at, |(_, m)| m.created_at),
                };
                (last.map_or(0, |(i, _)| *i + 1), entry)
            })
            .collect();
        entries.sort_by_key(|(place, e)| std::cmp::Reverse((*place, e.last_activity)));
        page_of(entries.into_iter().map(|(_, e)| e).collect(), after, limit)
    }
}

fn direct(world: &World, a: UserId, b: UserId) -> Option<ConversationId> {
    world
        .conversations
        .iter()
        .find(|c| {
            c.kind == ConversationKind::Direct
                && c.participants.iter().any(|p| p.user == a)
                && c.participants.iter().any(|p| p.user == b)
        })
        .map(|c| c.id)
}

#[async_trait]
impl GroupRepo for InMemory {
    async fn create_group(
        &self,
        creator: UserId,
        title: GroupTitle,
        members: &[UserId],
    ) -> Result<ConversationId> {
        let mut world = self.world();
        let mut all = vec![(creator, ParticipantRole::Owner)];
        all.extend(
            members
                .iter()
                .filter(|m| **m != creator)
                .map(|m| (*m, ParticipantRole::Member)),
        );
        Ok(world.new_conversation(
            ConversationKind::Group,
            Some(title.as_str().to_owned()),
            &all,
        ))
    }

    async fn is_group(&self, conversation: ConversationId) -> Result<Option<bool>> {
        Ok(self
            .world()
            .conversation(conversation)
            .map(|c| c.kind == ConversationKind::Group))
    }

    async fn role(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<ParticipantRole>> {
        Ok(self.world().conversation(conversation).and_then(|c| {
            c.participants
                .iter()
                .find(|p| p.user == user && p.present)
                .map(|p| p.role)
        }))
    }

    async fn add_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        _by: UserId,
        limit: usize,
    ) -> Result<Added> {
        let mut world = self.world();
        let Some(c) = world.conversation_mut(conversation) else {
            return Ok(Added::AlreadyIn);
        };
        let present = c.participants.iter().filter(|p| p.present).count();
        match c.participants.iter().position(|p| p.user == user) {
            Some(i) if c.participants[i].present => return Ok(Added::AlreadyIn),
            _ if present >= limit => return Ok(Added::Full),
            Some(i) => {
                c.participants[i].present = true;
                c.participants[i].role = ParticipantRole::Member;
            }
            None => c.participants.push(Participant {
                user,
                role: ParticipantRole::Member,
                present: true,
                last_read: None,
            }),
        }
        world.announce("conversation.member_added");
        Ok(Added::Added)
    }

    async fn transfer_ownership(
        &self,
        conversation: ConversationId,
        from: UserId,
        to: UserId,
    ) -> Result<bool> {
        let mut world = self.world();
        let Some(c) = world.conversation_mut(conversation) else {
            return Ok(false);
        };
        let is = |p: &Participant, who: UserId, role: Option<ParticipantRole>| {
            p.user == who && p.present && role.is_none_or(|r| p.role == r)
        };
        let owner_ok = c
            .participants
            .iter()
            .any(|p| is(p, from, Some(ParticipantRole::Owner)));
        let heir_ok = c.participants.iter().any(|p| is(p, to, None));
        if !owner_ok || !heir_ok || from == to {
            return Ok(false);
        }
        for p in c.participants.iter_mut() {
            if p.user == from {
                p.role = ParticipantRole::Admin;
            } else if p.user == to {
                p.role = ParticipantRole::Owner;
            }
        }
        world.announce("conversation.member_role_changed");
        Ok(true)
    }

    async fn rename_group(
        &self,
        conversation: ConversationId,
        title: GroupTitle,
        _by: UserId,
    ) -> Result<()> {
        let mut world = self.world();
        if let Some(c) = world.conversation_mut(conversation) {
            c.title = Some(title.as_str().to_owned());
            world.announce("conversation.updated");
        }
        Ok(())
    }

    async fn set_role(
        &self,
        conversation: ConversationId,
        user: UserId,
        role: ParticipantRole,
        _by: UserId,
    ) -> Result<bool> {
        let mut world = self.world();
        let Some(p) = world.member_mut(conversation, user) else {
            return Ok(false);
        };
        if p.role == role {
            return Ok(false);
        }
        p.role = role;
        world.announce("conversation.member_role_changed");
        Ok(true)
    }

    async fn members(
        &self,
        conversation: ConversationId,
    ) -> Result<(Option<String>, Vec<(UserId, ParticipantRole)>)> {
        let world = self.world();
        let Some(c) = world.conversation(conversation) else {
            return Ok((None, Vec::new()));
        };
        let rank = |role: ParticipantRole| match role {
            ParticipantRole::Owner => 0,
            ParticipantRole::Admin => 1,
            ParticipantRole::Member => 2,
        };
        let mut members: Vec<(UserId, ParticipantRole)> = c
            .participants
            .iter()
            .filter(|p| p.present)
            .map(|p| (p.user, p.role))
            .collect();
        members.sort_by_key(|(_, role)| rank(*role));
        Ok((c.title.clone(), members))
    }

    async fn remove_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        _by: UserId,
    ) -> Result<bool> {
        let mut world = self.world();
        let Some(p) = world.member_mut(conversation, user) else {
            return Ok(false);
        };
        p.present = false;
        world.announce("conversation.member_removed");
        Ok(true)
    }
}
