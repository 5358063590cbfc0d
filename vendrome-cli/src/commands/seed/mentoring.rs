//! `fixtures/mentoring.json`: reviews of completed product orders (with the sellers' replies),
//! members open to mentoring, and mentorships in every status with goals, sessions, notes and
//! feedback, loaded through the services the API uses. Posts are named by their `social.json`
//! key and people by email.
//!
//! Orders are placed through `OrderService` with the review's key as their `Idempotency-Key`
//! (a rerun finds the same order) and taken to `completed` by the orders loader's paid path
//! (`orders::complete`): paid with the sandbox through the webhook pipeline, so the ledger holds
//! their postings, then shipped and confirmed. A review already
//! written, a mentorship already open or ended between the pair, and feedback already given are
//! left alone, so a second run creates nothing.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::enums::{LookingFor, MentorshipFormat, MentorshipStatus};
use vendrome_core::ids::PostId;
use vendrome_core::mentorship::{
    MentorshipAction, MentorshipRole, MentorshipService, NewSession, RequestMentorship,
};
use vendrome_core::orders::{LineRequest, PlaceOrder};
use vendrome_core::page::Limit;
use vendrome_core::profiles::{ProfileChanges, ProfileService, Skill};
use vendrome_core::reviews::{ReviewService, ReviewTarget, WriteReview};
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_core::Error;
use vendrome_server::commerce::{Commerce, CommerceOptions};
use vendrome_store::{with_db, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mentoring {
    #[serde(default)]
    reviews: Vec<ReviewFixture>,
    #[serde(default)]
    mentors: Vec<MentorFixture>,
    #[serde(default)]
    mentorships: Vec<MentorshipFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewFixture {
    key: String,
    buyer: String,
    /// A product post's `social.json` key.
    product: String,
    rating: i64,
    body: Option<String>,
    reply: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MentorFixture {
    member: String,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    formats: Vec<MentorshipFormat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MentorshipFixture {
    mentor: String,
    /// The mentee of a direct request; an offer's mentee is its post's author.
    mentee: Option<String>,
    /// A mentorship-request post's `social.json` key: the mentor offers on it.
    offer_on: Option<String>,
    format: Option<MentorshipFormat>,
    #[serde(default)]
    goals: Vec<String>,
    status: MentorshipStatus,
    #[serde(default)]
    completed_goals: usize,
    #[serde(default)]
    sessions: Vec<SessionFixture>,
    #[serde(default)]
    notes: Vec<NoteFixture>,
    #[serde(default)]
    feedback: Vec<FeedbackFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFixture {
    starts_at: chrono::DateTime<chrono::Utc>,
    ends_at: chrono::DateTime<chrono::Utc>,
    topic: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Party {
    Mentor,
    Mentee,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteFixture {
    by: Party,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackFixture {
    by: Party,
    rating: i64,
    body: Option<String>,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct MentoringSummary {
    pub reviews_created: usize,
    pub mentorships_created: usize,
}

impl Mentoring {
    pub fn items(&self) -> usize {
        self.reviews.len() + self.mentors.len() + self.mentorships.len()
    }
}

/// The moves from `requested` that reach `status`.
fn path_to(status: MentorshipStatus) -> &'static [MentorshipAction] {
    use MentorshipAction as A;
    match status {
        MentorshipStatus::Requested => &[],
        MentorshipStatus::Active => &[A::Accept],
        MentorshipStatus::Paused => &[A::Accept, A::Pause],
        MentorshipStatus::Completed => &[A::Accept, A::Complete],
        MentorshipStatus::Declined => &[A::Decline],
        MentorshipStatus::Cancelled => &[A::Cancel],
    }
}

/// The author of a post.
async fn posts_author(store: &Store, post: PostId) -> anyhow::Result<vendrome_core::ids::UserId> {
    let author: uuid::Uuid = with_db!(store.db(), pool => {
        sqlx::query_scalar("SELECT author_id FROM posts WHERE id = $1")
            .bind(post.as_uuid())
            .fetch_one(pool)
            .await
    })?;
    Ok(vendrome_core::ids::UserId::from_uuid(author))
}

/// Loads `mentoring`; `posts` maps `social.json` keys to (author email, body).
pub async fn load(
    store: &Store,
    mentoring: Mentoring,
    posts: &HashMap<String, (String, String)>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<MentoringSummary> {
    let shared = Arc::new(store.clone());
    let commerce = Commerce::new(&shared, CommerceOptions::default());
    let reviews = ReviewService::new(shared.clone());
    let mentorship = MentorshipService::new(shared.clone());
    let profiles = ProfileService::new(shared);
    let mut summary = MentoringSummary::default();
    let caller = async |email: &str| -> anyhow::Result<Caller> {
        let parsed = Email::parse(email).map_err(|e| anyhow!("mentoring.json {email}: {e}"))?;
        let user = store
            .user_by_email(&parsed)
            .await?
            .with_context(|| format!("mentoring.json names {email}, who is not in users.json"))?;
        Ok(Caller {
            user_id: user.id,
            role: user.role,
        })
    };
    let post = async |key: &str| -> anyhow::Result<PostId> {
        let (author, body) = posts
            .get(key)
            .with_context(|| format!("mentoring.json names no social.json post `{key}`"))?;
        let author = caller(author).await?.user_id;
        let id: Option<uuid::Uuid> = with_db!(store.db(), pool => {
            sqlx::query_scalar("SELECT id FROM posts WHERE author_id = $1 AND body = $2 AND deleted_at IS NULL")
                .bind(author.as_uuid())
                .bind(body)
                .fetch_optional(pool)
                .await
        })?;
        id.map(PostId::from_uuid)
            .with_context(|| format!("post `{key}` is not loaded"))
    };

    for fixture in mentoring.reviews {
        let buyer = caller(&fixture.buyer).await?;
        let product = post(&fixture.product).await?;
        let place = PlaceOrder {
            lines: vec![LineRequest {
                post_id: product,
                quantity: 1,
            }],
            idempotency_key: fixture.key.clone(),
            shipping_address: None,
            note: None,
        };
        let now = vendrome_core::time::now();
        let order = commerce.orders.place(&buyer, place, now).await?;
        let seller = Caller {
            user_id: order.seller_id,
            role: vendrome_core::enums::UserRole::Member,
        };
        // Paid through the sandbox and the webhook pipeline, so the ledger holds its posting.
        let current = super::orders::complete(&commerce, &buyer, &seller, &fixture.key, order)
            .await
            .with_context(|| format!("review {}: completing its order", fixture.key))?;
        let write = WriteReview {
            target: ReviewTarget::Order(current.id),
            rating: fixture.rating,
            body: fixture.body,
        };
        match reviews.write(&buyer, write, now).await {
            Ok(review) => {
                summary.reviews_created += 1;
                if let Some(reply) = fixture.reply {
                    reviews.reply(&seller, review.id, reply, now).await?;
                }
            }
            Err(Error::Conflict {
                code: "already_reviewed",
                ..
            }) => {}
            Err(e) => return Err(anyhow!("review {}: {e}", fixture.key)),
        }
        bar.inc(1);
    }

    for fixture in mentoring.mentors {
        let member = caller(&fixture.member).await?;
        let skills = fixture
            .skills
            .iter()
            .map(|s| Skill::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("mentoring.json mentor {}: skills {e}", fixture.member))?;
        let current = profiles.find(&member.user_id.to_string()).await?;
        let mut looking_for = current.looking_for.clone();
        let open = looking_for.contains(&LookingFor::Mentees);
        if !open {
            looking_for.push(LookingFor::Mentees);
        }
        let has_skills = skills
            .iter()
            .all(|s| current.skills.iter().any(|c| c.as_str() == s.as_str()));
        // Changed only when it differs, so a rerun writes no `profile.updated`.
        if !open || !has_skills {
            let changes = ProfileChanges {
                skills: (!skills.is_empty()).then_some(skills),
                looking_for: Some(looking_for),
                ..ProfileChanges::default()
            };
            profiles.update_own(&member, changes).await?;
        }
        mentorship.set_formats(&member, &fixture.formats).await?;
        bar.inc(1);
    }

    for (i, fixture) in mentoring.mentorships.into_iter().enumerate() {
        let what = format!("mentoring.json mentorship {i}");
        let mentor = caller(&fixture.mentor).await?;
        let now = vendrome_core::time::now();
        let mentee_of_fixture = match (&fixture.offer_on, &fixture.mentee) {
            (Some(key), None) => {
                let request = post(key).await?;
                posts_author(store, request).await?
            }
            (None, Some(mentee)) => caller(mentee).await?.user_id,
            _ => return Err(anyhow!("{what}: name either `mentee` or `offer_on`")),
        };
        // One mentorship per pair in the fixtures: a pair that has one (in any status) was
        // loaded by an earlier run.
        let theirs = mentorship
            .list(
                &mentor,
                Some(MentorshipRole::Mentor),
                None,
                None,
                Limit::parse(Limit::MAX).map_err(|e| anyhow!("{e}"))?,
            )
            .await?;
        if theirs
            .items
            .iter()
            .any(|m| m.mentee_id == mentee_of_fixture)
        {
            bar.inc(1);
            continue;
        }
        let created = match (&fixture.offer_on, &fixture.mentee) {
            (Some(key), None) => mentorship.offer(&mentor, post(key).await?, now).await,
            (None, Some(mentee)) => {
                let mentee = caller(mentee).await?;
                let request = RequestMentorship {
                    mentor_id: mentor.user_id,
                    goals: fixture.goals.clone(),
                    format: fixture.format.unwrap_or(MentorshipFormat::Virtual),
                };
                mentorship.request(&mentee, request, now).await
            }
            _ => return Err(anyhow!("{what}: name either `mentee` or `offer_on`")),
        };
        let m = match created {
            Ok(m) => m,
            // Open already: a previous run made it.
            Err(Error::Conflict {
                code: "mentorship_exists",
                ..
            }) => {
                bar.inc(1);
                continue;
            }
            Err(e) => return Err(anyhow!("{what}: {e}")),
        };
        summary.mentorships_created += 1;
        let mentee = Caller {
            user_id: m.mentee_id,
            role: vendrome_core::enums::UserRole::Member,
        };
        let (asker, asked) = if m.requested_by == m.mentor_id {
            (mentor, mentee)
        } else {
            (mentee, mentor)
        };
        let party = |p: Party| if p == Party::Mentor { mentor } else { mentee };
        let moves = path_to(fixture.status);
        for (n, action) in moves.iter().enumerate() {
            let who = match action {
                MentorshipAction::Accept | MentorshipAction::Decline => asked,
                _ => asker,
            };
            mentorship.act(&who, m.id, *action, now).await?;
            // Goals, sessions and notes are added while the mentorship is active.
            if n == 0 && *action == MentorshipAction::Accept {
                let detail = mentorship.get(&mentor, m.id).await?;
                for goal in detail.goals.iter().take(fixture.completed_goals) {
                    mentorship
                        .complete_goal(&mentor, m.id, goal.id, now)
                        .await?;
                }
                for s in &fixture.sessions {
                    let session = NewSession {
                        starts_at: s.starts_at,
                        ends_at: s.ends_at,
                        topic: s.topic.clone(),
                    };
                    mentorship.schedule(&mentor, m.id, session, now).await?;
                }
                for note in &fixture.notes {
                    mentorship
                        .add_note(&party(note.by), m.id, &note.body, now)
                        .await?;
                }
            }
        }
        for feedback in &fixture.feedback {
            mentorship
                .feedback(
                    &party(feedback.by),
                    m.id,
                    feedback.rating,
                    feedback.body.clone(),
                    now,
                )
                .await?;
        }
        bar.inc(1);
    }
    Ok(summary)
}
