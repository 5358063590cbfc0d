//! [`MentorshipService`]: who may ask, answer, move and add to a mentorship, over
//! [`MentorshipRepo`] only.

use std::sync::Arc;

use super::{
    transition, CreateMentorshipOutcome, Feedback, Goal, MentorCard, MentorFilter, Mentorship,
    MentorshipAction, MentorshipActor, MentorshipDetail, MentorshipMove, MentorshipRepo,
    MentorshipRole, NewMentorship, Note, Session, SessionMove,
};
use crate::access::Caller;
use crate::enums::{MentorshipFormat, MentorshipStatus};
use crate::events::{DomainEvent, MentorshipActivity, MentorshipChanged};
use crate::ids::{
    MentorshipGoalId, MentorshipId, MentorshipNoteId, MentorshipSessionId, PostId, UserId,
};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit, Page};
use crate::reviews::Rating;
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

/// How many goals a request may name.
pub const GOALS_MAX: usize = 10;

/// The longest goal, note, topic or feedback, in characters.
pub const TEXT_MAX: usize = 2_000;

/// The longest session: a day.
const SESSION_MAX: chrono::Duration = chrono::Duration::hours(24);

/// A mentee's direct request (`POST /v1/mentorships`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMentorship {
    pub mentor_id: UserId,
    pub goals: Vec<String>,
    pub format: MentorshipFormat,
}

/// A session to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub topic: Option<String>,
}

/// See the module docs.
#[derive(Clone)]
pub struct MentorshipService {
    repo: Arc<dyn MentorshipRepo>,
}

/// Trimmed text of 1 to [`TEXT_MAX`] characters.
fn required(raw: &str) -> Result<String, ValidationErrors> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid("required", "must not be empty"));
    }
    if raw.chars().count() > TEXT_MAX {
        return Err(invalid(
            "too_long",
            format!("at most {TEXT_MAX} characters"),
        ));
    }
    Ok(text.to_owned())
}

fn optional(raw: Option<String>) -> Result<Option<String>, ValidationErrors> {
    match raw {
        Some(raw) if !raw.trim().is_empty() => required(&raw).map(Some),
        _ => Ok(None),
    }
}

/// `result` with its errors named `field`.
fn field<T>(field: &str, result: Result<T, ValidationErrors>) -> Result<T, Error> {
    let mut errors = ValidationErrors::new();
    let value = errors.check(field, result);
    errors.into_result()?;
    value.ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a checked value is missing")))
}

fn changed(
    m: &Mentorship,
    to: MentorshipStatus,
    by: UserId,
    action: Option<MentorshipAction>,
) -> NewEvent {
    let payload = MentorshipChanged {
        mentorship_id: m.id,
        mentor_id: m.mentor_id,
        mentee_id: m.mentee_id,
        status: to,
        by,
    };
    NewEvent::new(match action {
        None => DomainEvent::MentorshipRequested(payload),
        Some(MentorshipAction::Accept) => DomainEvent::MentorshipAccepted(payload),
        Some(MentorshipAction::Decline) => DomainEvent::MentorshipDeclined(payload),
        Some(MentorshipAction::Cancel) => DomainEvent::MentorshipCancelled(payload),
        Some(MentorshipAction::Pause) => DomainEvent::MentorshipPaused(payload),
        Some(MentorshipAction::Resume) => DomainEvent::MentorshipResumed(payload),
        Some(MentorshipAction::Complete) => DomainEvent::MentorshipCompleted(payload),
    })
}

fn activity(
    m: &Mentorship,
    item: uuid::Uuid,
    by: UserId,
    wrap: fn(MentorshipActivity) -> DomainEvent,
) -> NewEvent {
    NewEvent::new(wrap(MentorshipActivity {
        mentorship_id: m.id,
        mentor_id: m.mentor_id,
        mentee_id: m.mentee_id,
        item_id: item,
        by,
    }))
}

/// A session ends after it starts, within [`SESSION_MAX`].
fn check_times(errors: &mut ValidationErrors, starts_at: Timestamp, ends_at: Timestamp) {
    if ends_at <= starts_at || ends_at - starts_at > SESSION_MAX {
        errors.add(
            "ends_at",
            "invalid_range",
            "ends after it starts, within a day",
        );
    }
}

fn not_active(what: &str) -> Error {
    Error::conflict(
        "mentorship_not_active",
        format!("{what} belong to an active mentorship"),
    )
}

impl MentorshipService {
    pub fn new(repo: Arc<dyn MentorshipRepo>) -> Self {
        Self { repo }
    }

    /// A mentee asks a mentor directly.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for goals that are empty, too many or too long; [`Error::Unprocessable`]
    /// `own_request` when the caller names themselves; [`Error::NotFound`] `user` for no such
    /// member; [`Error::Forbidden`] `blocked`; [`Error::Conflict`] `mentorship_exists`.
    pub async fn request(
        &self,
        caller: &Caller,
        input: RequestMentorship,
        now: Timestamp,
    ) -> Result<Mentorship> {
        let mut errors = ValidationErrors::new();
        if input.goals.is_empty() || input.goals.len() > GOALS_MAX {
            errors.add(
                "goals",
                "out_of_range",
                format!("name 1 to {GOALS_MAX} goals"),
            );
        }
        let mut goals = Vec::new();
        for (n, goal) in input.goals.iter().enumerate() {
            if let Some(goal) = errors.check(&format!("goals.{n}"), required(goal)) {
                goals.push(goal);
            }
        }
        errors.into_result()?;
        if input.mentor_id == caller.user_id {
            return Err(Error::unprocessable(
                "own_request",
                "a member cannot be their own mentor",
            ));
        }
        self.check_unblocked(caller.user_id, input.mentor_id)
            .await?;
        let new = NewMentorship {
            id: MentorshipId::new(),
            mentor_id: input.mentor_id,
            mentee_id: caller.user_id,
            requested_by: caller.user_id,
            request_post_id: None,
            format: input.format,
            goals: Some(goals.join("\n")),
            goal_titles: goals,
            created_at: now,
        };
        self.create(new, caller.user_id).await
    }

    /// A prospective mentor offers on a mentee's mentorship-request post.
    ///
    /// # Errors
    ///
    /// [`Error::Unprocessable`] `not_a_mentorship_request` and `own_request`;
    /// [`Error::Forbidden`] `blocked`; [`Error::Conflict`] `mentorship_exists`.
    pub async fn offer(&self, caller: &Caller, post: PostId, now: Timestamp) -> Result<Mentorship> {
        let Some(request) = self.repo.request_post(post).await? else {
            return Err(Error::unprocessable(
                "not_a_mentorship_request",
                "offers are made on live mentorship-request posts",
            ));
        };
        if request.author_id == caller.user_id {
            return Err(Error::unprocessable(
                "own_request",
                "a member cannot offer on their own request",
            ));
        }
        self.check_unblocked(caller.user_id, request.author_id)
            .await?;
        let new = NewMentorship {
            id: MentorshipId::new(),
            mentor_id: caller.user_id,
            mentee_id: request.author_id,
            requested_by: caller.user_id,
            request_post_id: Some(post),
            format: request.format,
            goals: Some(request.area),
            goal_titles: Vec::new(),
            created_at: now,
        };
        self.create(new, caller.user_id).await
    }

    async fn check_unblocked(&self, caller: UserId, other: UserId) -> Result<()> {
        match self.repo.blocked_between(caller, other).await? {
            None => Err(Error::not_found("user")),
            Some(true) => Err(Error::forbidden(
                "blocked",
                "a block stands between you and this member",
            )),
            Some(false) => Ok(()),
        }
    }

    async fn create(&self, new: NewMentorship, by: UserId) -> Result<Mentorship> {
        let payload = MentorshipChanged {
            mentorship_id: new.id,
            mentor_id: new.mentor_id,
            mentee_id: new.mentee_id,
            status: MentorshipStatus::Requested,
            by,
        };
        let event = NewEvent::new(DomainEvent::MentorshipRequested(payload));
        match self.repo.create_mentorship(&new, event).await? {
            CreateMentorshipOutcome::Created(m) => Ok(m),
            CreateMentorshipOutcome::Exists => Err(Error::conflict(
                "mentorship_exists",
                "the two of you already have a requested, active or paused mentorship",
            )),
        }
    }

    /// A party's move: accept, decline, cancel, pause, resume, complete.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship` for anyone but its parties; [`Error::Forbidden`]
    /// `not_mentorship_party_action` and [`Error::Conflict`] `invalid_mentorship_transition`
    /// from [`transition`] (also when another move came first).
    pub async fn act(
        &self,
        caller: &Caller,
        id: MentorshipId,
        action: MentorshipAction,
        now: Timestamp,
    ) -> Result<Mentorship> {
        let m = self.load(caller, id).await?;
        let actor = if caller.user_id == m.requested_by {
            MentorshipActor::Requester
        } else {
            MentorshipActor::Recipient
        };
        let to = transition(m.status, action, actor)?;
        let change = MentorshipMove {
            id,
            from: m.status,
            to,
            at: now,
        };
        self.repo
            .move_mentorship(change, changed(&m, to, caller.user_id, Some(action)))
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_mentorship_transition",
                    "the mentorship changed meanwhile; read it again",
                )
            })
    }

    /// The mentorship with its goals, sessions, the caller's own notes and the feedback.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship` for anyone but its parties.
    pub async fn get(&self, caller: &Caller, id: MentorshipId) -> Result<MentorshipDetail> {
        let m = self.load(caller, id).await?;
        self.repo.mentorship_detail(&m, caller.user_id).await
    }

    /// The caller's mentorships, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn list(
        &self,
        caller: &Caller,
        role: Option<MentorshipRole>,
        status: Option<MentorshipStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Mentorship>> {
        let (items, next_cursor) = self
            .repo
            .mentorships_of(caller.user_id, role, status, after, limit)
            .await?;
        Ok(Page { items, next_cursor })
    }

    /// Either party adds a goal to an active mentorship.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`; [`Error::Invalid`] for an empty or too long title;
    /// [`Error::Conflict`] `mentorship_not_active`.
    pub async fn add_goal(
        &self,
        caller: &Caller,
        id: MentorshipId,
        title: &str,
        now: Timestamp,
    ) -> Result<Goal> {
        let m = self.load(caller, id).await?;
        let title = field("title", required(title))?;
        let goal = Goal {
            id: MentorshipGoalId::new(),
            title,
            added_by: caller.user_id,
            created_at: now,
            completed_at: None,
        };
        let event = activity(
            &m,
            goal.id.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipGoalAdded,
        );
        if self.repo.add_goal(id, &goal, event).await? {
            Ok(goal)
        } else {
            Err(not_active("goals"))
        }
    }

    /// Either party marks a goal of an active mentorship completed.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship` or `goal`; [`Error::Conflict`] `mentorship_not_active`.
    pub async fn complete_goal(
        &self,
        caller: &Caller,
        id: MentorshipId,
        goal: MentorshipGoalId,
        now: Timestamp,
    ) -> Result<MentorshipDetail> {
        let m = self.load(caller, id).await?;
        if m.status != MentorshipStatus::Active {
            return Err(not_active("goals"));
        }
        let event = activity(
            &m,
            goal.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipGoalCompleted,
        );
        if !self.repo.complete_goal(id, goal, now, event).await? {
            return Err(Error::not_found("goal"));
        }
        self.repo.mentorship_detail(&m, caller.user_id).await
    }

    /// Either party schedules a session of an active mentorship.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`; [`Error::Invalid`] for an end not after the start, a
    /// session over a day, or a topic too long; [`Error::Conflict`] `mentorship_not_active`.
    pub async fn schedule(
        &self,
        caller: &Caller,
        id: MentorshipId,
        input: NewSession,
        now: Timestamp,
    ) -> Result<Session> {
        let m = self.load(caller, id).await?;
        let mut errors = ValidationErrors::new();
        check_times(&mut errors, input.starts_at, input.ends_at);
        let topic = errors.check("topic", optional(input.topic));
        errors.into_result()?;
        let session = Session {
            id: MentorshipSessionId::new(),
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            topic: topic.flatten(),
            scheduled_by: caller.user_id,
            created_at: now,
            cancelled_at: None,
        };
        let event = activity(
            &m,
            session.id.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipSessionScheduled,
        );
        if self.repo.add_session(id, &session, event).await? {
            Ok(session)
        } else {
            Err(not_active("sessions"))
        }
    }

    /// Either party moves a session of an active mentorship to other times; both parties'
    /// calendar events move with it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`, `session` (none of this mentorship, or cancelled);
    /// [`Error::Invalid`] as [`Self::schedule`]; [`Error::Conflict`] `mentorship_not_active`.
    pub async fn reschedule_session(
        &self,
        caller: &Caller,
        id: MentorshipId,
        session: MentorshipSessionId,
        starts_at: Timestamp,
        ends_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let m = self.load(caller, id).await?;
        let mut errors = ValidationErrors::new();
        check_times(&mut errors, starts_at, ends_at);
        errors.into_result()?;
        if m.status != MentorshipStatus::Active {
            return Err(not_active("sessions"));
        }
        let change = SessionMove {
            mentorship: id,
            session,
            starts_at,
            ends_at,
            at: now,
        };
        let event = activity(
            &m,
            session.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipSessionRescheduled,
        );
        if self.repo.reschedule_session(change, event).await? {
            Ok(())
        } else {
            Err(Error::not_found("session"))
        }
    }

    /// Either party cancels a session (whatever the mentorship's status); both parties'
    /// calendar events are cancelled with it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`, `session` (none of this mentorship, or cancelled
    /// already).
    pub async fn cancel_session(
        &self,
        caller: &Caller,
        id: MentorshipId,
        session: MentorshipSessionId,
        now: Timestamp,
    ) -> Result<()> {
        let m = self.load(caller, id).await?;
        let event = activity(
            &m,
            session.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipSessionCancelled,
        );
        if self.repo.cancel_session(id, session, now, event).await? {
            Ok(())
        } else {
            Err(Error::not_found("session"))
        }
    }

    /// A party writes a private note (active or paused mentorship); only they will read it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`; [`Error::Invalid`] for an empty or too long note;
    /// [`Error::Conflict`] `mentorship_not_active`.
    pub async fn add_note(
        &self,
        caller: &Caller,
        id: MentorshipId,
        body: &str,
        now: Timestamp,
    ) -> Result<Note> {
        let m = self.load(caller, id).await?;
        let note = Note {
            id: MentorshipNoteId::new(),
            author_id: caller.user_id,
            body: field("body", required(body))?,
            created_at: now,
        };
        let event = activity(
            &m,
            note.id.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipNoteAdded,
        );
        if self.repo.add_note(id, &note, event).await? {
            Ok(note)
        } else {
            Err(not_active("notes"))
        }
    }

    /// A party's feedback on a completed mentorship, once; the mentee's rating joins the
    /// mentor's rating.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `mentorship`; [`Error::Invalid`] for a rating out of 1–5 or a text
    /// too long; [`Error::Conflict`] `invalid_mentorship_transition` before completion, and
    /// `feedback_given`.
    pub async fn feedback(
        &self,
        caller: &Caller,
        id: MentorshipId,
        rating: i64,
        body: Option<String>,
        now: Timestamp,
    ) -> Result<MentorshipDetail> {
        let m = self.load(caller, id).await?;
        let mut errors = ValidationErrors::new();
        let rating = errors.check("rating", Rating::parse(rating));
        let body = errors.check("body", optional(body));
        errors.into_result()?;
        let (Some(rating), Some(body)) = (rating, body) else {
            unreachable!("checked above")
        };
        if m.status != MentorshipStatus::Completed {
            return Err(Error::conflict(
                "invalid_mentorship_transition",
                "feedback is given once the mentorship is completed",
            ));
        }
        let feedback = Feedback {
            author_id: caller.user_id,
            rating,
            body,
            created_at: now,
        };
        let mentor = (caller.user_id == m.mentee_id).then_some(m.mentor_id);
        let event = activity(
            &m,
            caller.user_id.as_uuid(),
            caller.user_id,
            DomainEvent::MentorshipFeedbackGiven,
        );
        if !self
            .repo
            .give_feedback(id, &feedback, mentor, event)
            .await?
        {
            return Err(Error::conflict(
                "feedback_given",
                "you have given feedback on this mentorship already",
            ));
        }
        self.repo.mentorship_detail(&m, caller.user_id).await
    }

    /// Members open to mentoring, ranked by what they share with the caller.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn mentors(
        &self,
        caller: &Caller,
        filter: &MentorFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<MentorCard>> {
        let (items, next_cursor) = self
            .repo
            .mentors(caller.user_id, filter, after, limit)
            .await?;
        Ok(Page { items, next_cursor })
    }

    /// The caller states the formats they offer as a mentor (none: any).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn set_formats(&self, caller: &Caller, formats: &[MentorshipFormat]) -> Result<()> {
        let mut formats = formats.to_vec();
        formats.sort();
        formats.dedup();
        self.repo.set_mentor_formats(caller.user_id, &formats).await
    }

    /// The mentorship, for its parties; not found for anyone else.
    async fn load(&self, caller: &Caller, id: MentorshipId) -> Result<Mentorship> {
        match self.repo.mentorship(id).await? {
            Some(m) if m.is_party(caller.user_id) => Ok(m),
            _ => Err(Error::not_found("mentorship")),
        }
    }
}
