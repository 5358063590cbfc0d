//! [`MentorshipRepo`] on both databases: mentorships, their goals, sessions, notes and feedback
//! (the mentors' directory is in `mentors.rs`).
//!
//! A request is one insert (`ON CONFLICT DO NOTHING` on the one-open-mentorship index); a move is
//! a compare-and-set on the status; goals, sessions and notes are inserted only while the
//! mentorship is in a status that carries them (`INSERT … SELECT … WHERE EXISTS`), so a move
//! racing an addition cannot leave a goal on an ended mentorship; feedback and the mentor's
//! rating it feeds are written in one transaction.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{MentorshipFormat, MentorshipStatus, RatingScope};
use vendrome_core::ids::{
    MentorshipGoalId, MentorshipId, MentorshipNoteId, MentorshipSessionId, PostId, UserId,
};
use vendrome_core::mentorship::{
    CreateMentorshipOutcome, Feedback, Goal, MentorCard, MentorFilter, Mentorship,
    MentorshipDetail, MentorshipMove, MentorshipRepo, MentorshipRole, NewMentorship, Note,
    RequestPost, Session, SessionMove,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::reviews::Rating;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::calendar_mirror::MirrorWrites as _;
use crate::error::SqlxResultExt as _;
use crate::ratings::{RatingDelta, RatingWrites as _};
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::{commit_if_changed, TxWrites as _};
use crate::{with_db, Store};

const COLUMNS: &str = "m.id, m.mentor_id, m.mentee_id, COALESCE(m.requested_by, m.mentee_id) AS requested_by, \
    m.request_post_id, m.status, m.format, m.goals, m.created_at, m.updated_at, m.started_at, m.ended_at";

#[derive(sqlx::FromRow)]
struct MentorshipRow {
    id: Uuid,
    mentor_id: Uuid,
    mentee_id: Uuid,
    requested_by: Uuid,
    request_post_id: Option<Uuid>,
    status: DbEnum<MentorshipStatus>,
    format: DbEnum<MentorshipFormat>,
    goals: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
}

impl From<MentorshipRow> for Mentorship {
    fn from(r: MentorshipRow) -> Self {
        Self {
            id: MentorshipId::from_uuid(r.id),
            mentor_id: UserId::from_uuid(r.mentor_id),
            mentee_id: UserId::from_uuid(r.mentee_id),
            requested_by: UserId::from_uuid(r.requested_by),
            request_post_id: r.request_post_id.map(PostId::from_uuid),
            status: r.status.0,
            format: r.format.0,
            goals: r.goals,
            created_at: r.created_at,
            updated_at: r.updated_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
        }
    }
}

type GoalRow = (Uuid, String, Uuid, Timestamp, Option<Timestamp>);
type SessionRow = (
    Uuid,
    Timestamp,
    Timestamp,
    Option<String>,
    Uuid,
    Timestamp,
    Option<Timestamp>,
);
type NoteRow = (Uuid, Uuid, String, Timestamp);
type FeedbackRow = (Uuid, i32, Option<String>, Timestamp);

/// The statement of a move to `to`: a compare-and-set on the status that stamps the first
/// activation and the end.
fn move_sql(to: MentorshipStatus) -> &'static str {
    match to {
        MentorshipStatus::Active => "UPDATE mentorship_relationships SET status = $2, updated_at = $4, \
            started_at = COALESCE(started_at, $4) WHERE id = $1 AND status = $3",
        MentorshipStatus::Completed | MentorshipStatus::Declined | MentorshipStatus::Cancelled => {
            "UPDATE mentorship_relationships SET status = $2, updated_at = $4, ended_at = $4 \
             WHERE id = $1 AND status = $3"
        }
        MentorshipStatus::Requested | MentorshipStatus::Paused => {
            "UPDATE mentorship_relationships SET status = $2, updated_at = $4 WHERE id = $1 AND status = $3"
        }
    }
}

fn stored_rating(n: i32) -> Result<Rating> {
    Rating::parse(i64::from(n))
        .map_err(|_| Error::Unexpected(anyhow::anyhow!("stored rating {n} is not 1 to 5")))
}

#[async_trait]
impl MentorshipRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn request_post(&self, post: PostId) -> Result<Option<RequestPost>> {
        let row: Option<(Uuid, String, DbEnum<MentorshipFormat>)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT p.author_id, r.area, r.format FROM posts p \
                 JOIN post_mentorship_requests r ON r.post_id = p.id \
                 WHERE p.id = $1 AND p.deleted_at IS NULL",
            )
            .bind(post.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(row.map(|(author, area, format)| RequestPost {
            post_id: post,
            author_id: UserId::from_uuid(author),
            area,
            format: format.0,
        }))
    }

    #[tracing::instrument(skip(self))]
    async fn blocked_between(&self, a: UserId, b: UserId) -> Result<Option<bool>> {
        with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM user_blocks k WHERE (k.blocker_id = $1 AND k.blocked_id = $2) \
                 OR (k.blocker_id = $2 AND k.blocked_id = $1)) FROM users u WHERE u.id = $2 AND u.disabled_at IS NULL",
            )
            .bind(a.as_uuid())
            .bind(b.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip_all, fields(mentorship = %m.id))]
    async fn create_mentorship(
        &self,
        m: &NewMentorship,
        event: NewEvent,
    ) -> Result<CreateMentorshipOutcome> {
        let created = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO mentorship_relationships (id, mentor_id, mentee_id, request_post_id, status, format, \
                 goals, requested_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(m.id.as_uuid())
            .bind(m.mentor_id.as_uuid())
            .bind(m.mentee_id.as_uuid())
            .bind(m.request_post_id.map(|p| p.as_uuid()))
            .bind(DbEnum(MentorshipStatus::Requested))
            .bind(DbEnum(m.format))
            .bind(&m.goals)
            .bind(m.requested_by.as_uuid())
            .bind(m.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                return Ok(false);
            }
            for title in &m.goal_titles {
                sqlx::query(
                    "INSERT INTO mentorship_goals (id, mentorship_id, title, added_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(MentorshipGoalId::new().as_uuid())
                .bind(m.id.as_uuid())
                .bind(title)
                .bind(m.requested_by.as_uuid())
                .bind(m.created_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.append_event(&event, m.created_at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()?;
        if !created {
            return Ok(CreateMentorshipOutcome::Exists);
        }
        self.mentorship(m.id)
            .await?
            .map(CreateMentorshipOutcome::Created)
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a mentorship just made is missing")))
    }

    #[tracing::instrument(skip(self))]
    async fn mentorship(&self, id: MentorshipId) -> Result<Option<Mentorship>> {
        let sql = format!("SELECT {COLUMNS} FROM mentorship_relationships m WHERE m.id = $1");
        let row: Option<MentorshipRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Mentorship::from))
    }

    #[tracing::instrument(skip(self, event))]
    async fn move_mentorship(
        &self,
        change: MentorshipMove,
        event: NewEvent,
    ) -> Result<Option<Mentorship>> {
        let moved = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(move_sql(change.to))
                .bind(change.id.as_uuid())
                .bind(DbEnum(change.to))
                .bind(DbEnum(change.from))
                .bind(change.at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if moved && change.to == MentorshipStatus::Cancelled {
                // Its sessions still to come are cancelled with it, and their events.
                let upcoming: Vec<Uuid> = sqlx::query_scalar(
                    "UPDATE mentorship_sessions SET cancelled_at = $2 WHERE mentorship_id = $1 \
                     AND cancelled_at IS NULL AND starts_at > $2 RETURNING id",
                )
                .bind(change.id.as_uuid())
                .bind(change.at)
                .fetch_all(&mut *tx)
                .await?;
                for session in upcoming {
                    tx.mirror_session(MentorshipSessionId::from_uuid(session), change.at)
                        .await?;
                }
            }
            commit_if_changed(tx, moved, &event, change.at).await
        })
        .or_unexpected()?;
        if !moved {
            return Ok(None);
        }
        self.mentorship(change.id).await
    }

    #[tracing::instrument(skip(self))]
    async fn mentorships_of(
        &self,
        user: UserId,
        role: Option<MentorshipRole>,
        status: Option<MentorshipStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Mentorship>, Option<Cursor>)> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {COLUMNS} FROM mentorship_relationships m WHERE "),
        );
        match role {
            Some(MentorshipRole::Mentor) => {
                sql.push("m.mentor_id = ").uuid(user.as_uuid());
            }
            Some(MentorshipRole::Mentee) => {
                sql.push("m.mentee_id = ").uuid(user.as_uuid());
            }
            None => {
                sql.push("(m.mentor_id = ").uuid(user.as_uuid());
                sql.push(" OR m.mentee_id = ")
                    .uuid(user.as_uuid())
                    .push(")");
            }
        }
        if let Some(status) = status {
            sql.push(" AND m.status = ").enum_value(status);
        }
        if let Some(cursor) = after {
            let (at, id): (Timestamp, Uuid) = cursor.decode()?;
            sql.push(" AND (m.created_at, m.id) < (");
            sql.bind(Arg::At(at)).push(", ").uuid(id).push(")");
        }
        sql.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ");
        sql.bind(Arg::Int(limit.probe()));
        let rows: Vec<MentorshipRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, MentorshipRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let items: Vec<Mentorship> = rows.into_iter().map(Mentorship::from).collect();
        let page = Page::from_probe(items, limit, |m| (m.created_at, m.id.as_uuid()));
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self, mentorship))]
    async fn mentorship_detail(
        &self,
        mentorship: &Mentorship,
        viewer: UserId,
    ) -> Result<MentorshipDetail> {
        let id = mentorship.id.as_uuid();
        let goals: Vec<GoalRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, title, added_by, created_at, completed_at FROM mentorship_goals \
                 WHERE mentorship_id = $1 ORDER BY created_at, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        let sessions: Vec<SessionRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, starts_at, ends_at, topic, scheduled_by, created_at, cancelled_at FROM mentorship_sessions \
                 WHERE mentorship_id = $1 ORDER BY starts_at, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        let notes: Vec<NoteRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, author_id, body, created_at FROM mentorship_notes \
                 WHERE mentorship_id = $1 AND author_id = $2 ORDER BY created_at, id",
            )
            .bind(id)
            .bind(viewer.as_uuid())
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        let feedback: Vec<FeedbackRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT author_id, CAST(rating AS integer), body, created_at FROM mentorship_feedback \
                 WHERE mentorship_id = $1 ORDER BY created_at, author_id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(MentorshipDetail {
            mentorship: mentorship.clone(),
            goals: goals
                .into_iter()
                .map(|(id, title, by, at, done)| Goal {
                    id: MentorshipGoalId::from_uuid(id),
                    title,
                    added_by: UserId::from_uuid(by),
                    created_at: at,
                    completed_at: done,
                })
                .collect(),
            sessions: sessions
                .into_iter()
                .map(
                    |(id, starts_at, ends_at, topic, by, at, cancelled_at)| Session {
                        id: MentorshipSessionId::from_uuid(id),
                        starts_at,
                        ends_at,
                        topic,
                        scheduled_by: UserId::from_uuid(by),
                        created_at: at,
                        cancelled_at,
                    },
                )
                .collect(),
            notes: notes
                .into_iter()
                .map(|(id, author, body, at)| Note {
                    id: MentorshipNoteId::from_uuid(id),
                    author_id: UserId::from_uuid(author),
                    body,
                    created_at: at,
                })
                .collect(),
            feedback: feedback
                .into_iter()
                .map(|(author, rating, body, at)| {
                    Ok(Feedback {
                        author_id: UserId::from_uuid(author),
                        rating: stored_rating(rating)?,
                        body,
                        created_at: at,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    #[tracing::instrument(skip(self, goal, event))]
    async fn add_goal(
        &self,
        mentorship: MentorshipId,
        goal: &Goal,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let added = sqlx::query(
                "INSERT INTO mentorship_goals (id, mentorship_id, title, added_by, created_at) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
                 (SELECT 1 FROM mentorship_relationships WHERE id = $2 AND status = 'active')",
            )
            .bind(goal.id.as_uuid())
            .bind(mentorship.as_uuid())
            .bind(&goal.title)
            .bind(goal.added_by.as_uuid())
            .bind(goal.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, added, &event, goal.created_at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, event))]
    async fn complete_goal(
        &self,
        mentorship: MentorshipId,
        goal: MentorshipGoalId,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE mentorship_goals SET completed_at = $3 WHERE id = $2 AND mentorship_id = $1 \
                 AND completed_at IS NULL AND EXISTS \
                 (SELECT 1 FROM mentorship_relationships WHERE id = $1 AND status = 'active')",
            )
            .bind(mentorship.as_uuid())
            .bind(goal.as_uuid())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, done, &event, at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, session, event))]
    async fn add_session(
        &self,
        mentorship: MentorshipId,
        session: &Session,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let added = sqlx::query(
                "INSERT INTO mentorship_sessions (id, mentorship_id, starts_at, ends_at, topic, scheduled_by, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS \
                 (SELECT 1 FROM mentorship_relationships WHERE id = $2 AND status = 'active')",
            )
            .bind(session.id.as_uuid())
            .bind(mentorship.as_uuid())
            .bind(session.starts_at)
            .bind(session.ends_at)
            .bind(&session.topic)
            .bind(session.scheduled_by.as_uuid())
            .bind(session.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if added {
                tx.mirror_session(session.id, session.created_at).await?;
            }
            commit_if_changed(tx, added, &event, session.created_at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, event))]
    async fn reschedule_session(&self, change: SessionMove, event: NewEvent) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE mentorship_sessions SET starts_at = $3, ends_at = $4 \
                 WHERE id = $2 AND mentorship_id = $1 AND cancelled_at IS NULL AND EXISTS \
                 (SELECT 1 FROM mentorship_relationships WHERE id = $1 AND status = 'active')",
            )
            .bind(change.mentorship.as_uuid())
            .bind(change.session.as_uuid())
            .bind(change.starts_at)
            .bind(change.ends_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if moved {
                tx.mirror_session(change.session, change.at).await?;
            }
            commit_if_changed(tx, moved, &event, change.at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, event))]
    async fn cancel_session(
        &self,
        mentorship: MentorshipId,
        session: MentorshipSessionId,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let cancelled = sqlx::query(
                "UPDATE mentorship_sessions SET cancelled_at = $3 \
                 WHERE id = $2 AND mentorship_id = $1 AND cancelled_at IS NULL",
            )
            .bind(mentorship.as_uuid())
            .bind(session.as_uuid())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if cancelled {
                tx.mirror_session(session, at).await?;
            }
            commit_if_changed(tx, cancelled, &event, at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, note, event))]
    async fn add_note(
        &self,
        mentorship: MentorshipId,
        note: &Note,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let added = sqlx::query(
                "INSERT INTO mentorship_notes (id, mentorship_id, author_id, body, created_at) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM mentorship_relationships \
                 WHERE id = $2 AND (status = 'active' OR status = 'paused'))",
            )
            .bind(note.id.as_uuid())
            .bind(mentorship.as_uuid())
            .bind(note.author_id.as_uuid())
            .bind(&note.body)
            .bind(note.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, added, &event, note.created_at).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, feedback, event))]
    async fn give_feedback(
        &self,
        mentorship: MentorshipId,
        feedback: &Feedback,
        mentor: Option<UserId>,
        event: NewEvent,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let given = sqlx::query(
                "INSERT INTO mentorship_feedback (mentorship_id, author_id, rating, body, created_at) \
                 SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
                 (SELECT 1 FROM mentorship_relationships WHERE id = $1 AND status = 'completed') \
                 ON CONFLICT DO NOTHING",
            )
            .bind(mentorship.as_uuid())
            .bind(feedback.author_id.as_uuid())
            .bind(i16::from(feedback.rating.get()))
            .bind(&feedback.body)
            .bind(feedback.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !given {
                return Ok(false);
            }
            if let Some(mentor) = mentor {
                tx.shift_rating(RatingScope::Mentor, mentor.as_uuid(), RatingDelta::added(feedback.rating))
                    .await?;
            }
            tx.append_event(&event, feedback.created_at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()
    }

    async fn mentors(
        &self,
        viewer: UserId,
        filter: &MentorFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<MentorCard>, Option<Cursor>)> {
        crate::mentors::mentors(self, viewer, filter, after, limit).await
    }

    #[tracing::instrument(skip(self))]
    async fn set_mentor_formats(&self, user: UserId, formats: &[MentorshipFormat]) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM mentor_formats WHERE user_id = $1")
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await?;
            for format in formats {
                sqlx::query("INSERT INTO mentor_formats (user_id, format) VALUES ($1, $2)")
                    .bind(user.as_uuid())
                    .bind(DbEnum(*format))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
        .or_unexpected()
    }
}
