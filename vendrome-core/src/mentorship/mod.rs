//! Mentorships: a mentee asks a mentor directly, or a prospective mentor offers on a mentee's
//! mentorship-request post; the party who was asked accepts or declines ([`transition`]).
//! An active mentorship carries goals and scheduled sessions (both parties see them), private
//! notes (only their writer sees them), and at completion one feedback from each party; the
//! mentee's rating joins the mentor's rating (`rating_stats`, scope `mentor`) in the same
//! transaction. [`MentorFilter`] finds members open to mentoring.

mod service;
mod status;

use async_trait::async_trait;

pub use self::service::{MentorshipService, NewSession, RequestMentorship, GOALS_MAX, TEXT_MAX};
pub use self::status::{transition, MentorshipAction, MentorshipActor};
use crate::enums::{MentorshipFormat, MentorshipStatus};
use crate::ids::{
    MentorshipGoalId, MentorshipId, MentorshipNoteId, MentorshipSessionId, PostId, UserId,
};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::reviews::{Rating, RatingSummary};
use crate::time::Timestamp;
use crate::Result;

/// A stored mentorship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentorship {
    pub id: MentorshipId,
    pub mentor_id: UserId,
    pub mentee_id: UserId,
    /// Who asked: the mentee (direct request) or the mentor (offer on a request post).
    pub requested_by: UserId,
    pub request_post_id: Option<PostId>,
    pub status: MentorshipStatus,
    pub format: MentorshipFormat,
    /// What the asker wrote about the goals when asking.
    pub goals: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

impl Mentorship {
    pub fn is_party(&self, user: UserId) -> bool {
        user == self.mentor_id || user == self.mentee_id
    }
}

/// A mentorship as the store is asked to create it, `requested`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMentorship {
    pub id: MentorshipId,
    pub mentor_id: UserId,
    pub mentee_id: UserId,
    pub requested_by: UserId,
    pub request_post_id: Option<PostId>,
    pub format: MentorshipFormat,
    pub goals: Option<String>,
    /// Goals stored as rows at once, added by the asker.
    pub goal_titles: Vec<String>,
    pub created_at: Timestamp,
}

/// A goal of a mentorship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub id: MentorshipGoalId,
    pub title: String,
    pub added_by: UserId,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// A scheduled session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: MentorshipSessionId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub topic: Option<String>,
    pub scheduled_by: UserId,
    pub created_at: Timestamp,
    /// When either party cancelled it; its calendar events were cancelled with it.
    pub cancelled_at: Option<Timestamp>,
}

/// A move of a session to another time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionMove {
    pub mentorship: MentorshipId,
    pub session: MentorshipSessionId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub at: Timestamp,
}

/// A private note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: MentorshipNoteId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: Timestamp,
}

/// One party's feedback at completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub author_id: UserId,
    pub rating: Rating,
    pub body: Option<String>,
    pub created_at: Timestamp,
}

/// A mentorship with what it carries, as one party sees it (their own notes only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentorshipDetail {
    pub mentorship: Mentorship,
    pub goals: Vec<Goal>,
    pub sessions: Vec<Session>,
    pub notes: Vec<Note>,
    pub feedback: Vec<Feedback>,
}

/// A live mentorship-request post, as an offer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPost {
    pub post_id: PostId,
    /// The prospective mentee.
    pub author_id: UserId,
    pub area: String,
    pub format: MentorshipFormat,
}

/// What creating a mentorship did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateMentorshipOutcome {
    Created(Mentorship),
    /// The two already have a requested, active or paused mentorship with these roles.
    Exists,
}

/// Which of a member's mentorships a list returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentorshipRole {
    Mentor,
    Mentee,
}

/// A move of a mentorship's status, applied only if it is still in `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MentorshipMove {
    pub id: MentorshipId,
    pub from: MentorshipStatus,
    pub to: MentorshipStatus,
    pub at: Timestamp,
}

/// What a mentor list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentorFilter {
    /// A profile industry slug.
    pub industry: Option<String>,
    /// A lower-case skill.
    pub skill: Option<String>,
    /// A format the mentor offers (one who states none offers any).
    pub format: Option<MentorshipFormat>,
}

/// A member open to mentoring, as the directory of mentors shows them to one viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentorCard {
    pub user_id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub headline: Option<String>,
    pub industry: Option<String>,
    pub skills: Vec<String>,
    pub formats: Vec<MentorshipFormat>,
    /// Skills and followed topics the mentor shares with the viewer: the rank.
    pub overlap: i64,
    pub rating: RatingSummary,
}

/// Storage of mentorships and what they carry.
#[async_trait]
pub trait MentorshipRepo: Send + Sync {
    /// The live mentorship-request post; `None` when `post` is not one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn request_post(&self, post: PostId) -> Result<Option<RequestPost>>;

    /// Whether a block stands between `a` and `b` either way; `None` when `b` is no enabled
    /// member.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn blocked_between(&self, a: UserId, b: UserId) -> Result<Option<bool>>;

    /// Stores the mentorship `requested`, with its goals, and `event`, unless the two already
    /// have an open one with these roles ([`CreateMentorshipOutcome::Exists`]).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_mentorship(
        &self,
        mentorship: &NewMentorship,
        event: NewEvent,
    ) -> Result<CreateMentorshipOutcome>;

    /// The mentorship; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mentorship(&self, id: MentorshipId) -> Result<Option<Mentorship>>;

    /// Applies `change` if the mentorship is still in `change.from` (stamping `started_at` on
    /// its first activation and `ended_at` when it ends), with `event`; `None` when it was not.
    /// A move to `cancelled` also cancels its sessions that start after `change.at`, with their
    /// calendar events, in the same transaction.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn move_mentorship(
        &self,
        change: MentorshipMove,
        event: NewEvent,
    ) -> Result<Option<Mentorship>>;

    /// A member's mentorships as mentor, mentee or either, newest first, optionally of one
    /// status.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mentorships_of(
        &self,
        user: UserId,
        role: Option<MentorshipRole>,
        status: Option<MentorshipStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Mentorship>, Option<Cursor>)>;

    /// The mentorship's goals and sessions, `viewer`'s own notes, and the feedback given.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mentorship_detail(
        &self,
        mentorship: &Mentorship,
        viewer: UserId,
    ) -> Result<MentorshipDetail>;

    /// Adds a goal if the mentorship is `active`, with `event`; `false` when it is not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn add_goal(
        &self,
        mentorship: MentorshipId,
        goal: &Goal,
        event: NewEvent,
    ) -> Result<bool>;

    /// Marks the goal completed if it is the mentorship's, not completed yet, and the
    /// mentorship is `active`, with `event`; `false` otherwise.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn complete_goal(
        &self,
        mentorship: MentorshipId,
        goal: MentorshipGoalId,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<bool>;

    /// Adds a session if the mentorship is `active`, with `event`, and the session's calendar
    /// event for each party in the same transaction; `false` when it is not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn add_session(
        &self,
        mentorship: MentorshipId,
        session: &Session,
        event: NewEvent,
    ) -> Result<bool>;

    /// Moves the session of `change.mentorship` to its new times if the session is not
    /// cancelled and the mentorship is `active`, with `event`, and moves the session's calendar
    /// events (both parties', one more `sequence`) in the same transaction; `false` when not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reschedule_session(&self, change: SessionMove, event: NewEvent) -> Result<bool>;

    /// Cancels the session of `mentorship` if it is not cancelled yet, with `event`, and
    /// cancels its calendar events in the same transaction; `false` when there is no such
    /// session or it was cancelled already.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn cancel_session(
        &self,
        mentorship: MentorshipId,
        session: MentorshipSessionId,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<bool>;

    /// Adds a note if the mentorship is `active` or `paused`, with `event`; `false` when not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn add_note(
        &self,
        mentorship: MentorshipId,
        note: &Note,
        event: NewEvent,
    ) -> Result<bool>;

    /// Stores one party's feedback on a `completed` mentorship, and, when `mentor` is given
    /// (the mentee's feedback), adds its rating to that member's `mentor` rating, with `event`,
    /// in one transaction; `false` when this party gave feedback already.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn give_feedback(
        &self,
        mentorship: MentorshipId,
        feedback: &Feedback,
        mentor: Option<UserId>,
        event: NewEvent,
    ) -> Result<bool>;

    /// Enabled members open to mentoring (their profile looks for `mentees`), other than the
    /// viewer and anyone a block stands between them and, matching `filter`; ranked by overlap
    /// with the viewer (shared skills plus shared followed topics), then newest id first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mentors(
        &self,
        viewer: UserId,
        filter: &MentorFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<MentorCard>, Option<Cursor>)>;

    /// Replaces the formats the member offers as a mentor.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_mentor_formats(&self, user: UserId, formats: &[MentorshipFormat]) -> Result<()>;
}
