//! Mentorships: one open mentorship per pair and roles, compare-and-set moves, goals, sessions
//! and notes only while the status carries them, private notes, feedback once per party (the
//! mentee's feeding the mentor's rating), paging, and the directory of mentors ranked by overlap.

use serde_json::json;
use vendrome_core::enums::{
    MentorshipFormat, MentorshipStatus, PostType, PostVisibility, RatingScope,
};
use vendrome_core::events::{DomainEvent, MentorshipActivity, MentorshipChanged};
use vendrome_core::graph::blocks::BlockRepo as _;
use vendrome_core::ids::{
    MentorshipGoalId, MentorshipId, MentorshipNoteId, MentorshipSessionId, UserId,
};
use vendrome_core::mentorship::{
    CreateMentorshipOutcome, Feedback, Goal, MentorFilter, Mentorship, MentorshipMove,
    MentorshipRepo, MentorshipRole, NewMentorship, Note, Session,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::reviews::{Rating, RatingSummary, ReviewRepo as _};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::{with_db, Store};

use crate::graph::user;
use crate::orders::count_events;
use crate::posts::new_post;

conformance!(
    one_open_mentorship_per_pair_and_moves_are_compare_and_set,
    goals_sessions_and_notes_follow_the_status_and_notes_are_private,
    feedback_is_once_per_party_and_the_mentee_rates_the_mentor,
    mentorships_page_by_role_and_status,
    request_posts_and_blocks_are_read,
    mentors_are_filtered_and_ranked_by_overlap
);

fn changed(m: &Mentorship, to: MentorshipStatus) -> NewEvent {
    NewEvent::new(DomainEvent::MentorshipAccepted(MentorshipChanged {
        mentorship_id: m.id,
        mentor_id: m.mentor_id,
        mentee_id: m.mentee_id,
        status: to,
        by: m.mentor_id,
    }))
}

fn activity(m: &Mentorship) -> NewEvent {
    NewEvent::new(DomainEvent::MentorshipGoalAdded(MentorshipActivity {
        mentorship_id: m.id,
        mentor_id: m.mentor_id,
        mentee_id: m.mentee_id,
        item_id: uuid::Uuid::now_v7(),
        by: m.mentee_id,
    }))
}

pub fn new_mentorship(mentor: UserId, mentee: UserId, at: Timestamp) -> NewMentorship {
    NewMentorship {
        id: MentorshipId::new(),
        mentor_id: mentor,
        mentee_id: mentee,
        requested_by: mentee,
        request_post_id: None,
        format: MentorshipFormat::Virtual,
        goals: Some("Raise a seed round\nHire a CTO".into()),
        goal_titles: vec!["Raise a seed round".into(), "Hire a CTO".into()],
        created_at: at,
    }
}

async fn requested(store: &Store, mentor: UserId, mentee: UserId) -> Mentorship {
    let new = new_mentorship(mentor, mentee, time::now());
    let event = NewEvent::new(DomainEvent::MentorshipRequested(MentorshipChanged {
        mentorship_id: new.id,
        mentor_id: mentor,
        mentee_id: mentee,
        status: MentorshipStatus::Requested,
        by: mentee,
    }));
    match store.create_mentorship(&new, event).await.unwrap() {
        CreateMentorshipOutcome::Created(m) => m,
        other => panic!("expected a new mentorship, got {other:?}"),
    }
}

async fn moved(
    store: &Store,
    m: &Mentorship,
    from: MentorshipStatus,
    to: MentorshipStatus,
) -> Option<Mentorship> {
    let change = MentorshipMove {
        id: m.id,
        from,
        to,
        at: time::now(),
    };
    store.move_mentorship(change, changed(m, to)).await.unwrap()
}

async fn active(store: &Store) -> Mentorship {
    let (mentor, mentee) = (user(store).await, user(store).await);
    let m = requested(store, mentor, mentee).await;
    moved(
        store,
        &m,
        MentorshipStatus::Requested,
        MentorshipStatus::Active,
    )
    .await
    .expect("accepted")
}

async fn one_open_mentorship_per_pair_and_moves_are_compare_and_set(store: Store) {
    let (mentor, mentee) = (user(&store).await, user(&store).await);
    let m = requested(&store, mentor, mentee).await;
    assert_eq!(m.status, MentorshipStatus::Requested);
    assert_eq!(
        (m.mentor_id, m.mentee_id, m.requested_by),
        (mentor, mentee, mentee)
    );
    assert_eq!(m.goals.as_deref(), Some("Raise a seed round\nHire a CTO"));
    let again = new_mentorship(mentor, mentee, time::now());
    assert_eq!(
        store
            .create_mentorship(&again, changed(&m, MentorshipStatus::Requested))
            .await
            .unwrap(),
        CreateMentorshipOutcome::Exists
    );
    // The other way round is another pair of roles.
    requested(&store, mentee, mentor).await;

    let accepted = moved(
        &store,
        &m,
        MentorshipStatus::Requested,
        MentorshipStatus::Active,
    )
    .await
    .expect("accepted");
    assert!(accepted.started_at.is_some() && accepted.ended_at.is_none());
    // A racing decline finds it no longer requested.
    assert_eq!(
        moved(
            &store,
            &m,
            MentorshipStatus::Requested,
            MentorshipStatus::Declined
        )
        .await,
        None
    );
    let paused = moved(
        &store,
        &m,
        MentorshipStatus::Active,
        MentorshipStatus::Paused,
    )
    .await
    .unwrap();
    let resumed = moved(
        &store,
        &m,
        MentorshipStatus::Paused,
        MentorshipStatus::Active,
    )
    .await
    .unwrap();
    assert_eq!(
        resumed.started_at, accepted.started_at,
        "the first activation stays"
    );
    assert_eq!(paused.status, MentorshipStatus::Paused);
    let done = moved(
        &store,
        &m,
        MentorshipStatus::Active,
        MentorshipStatus::Completed,
    )
    .await
    .unwrap();
    assert!(done.ended_at.is_some());
    assert_eq!(count_events(&store, "mentorship.requested").await, 2);
    // Ended: the pair may start again.
    requested(&store, mentor, mentee).await;
}

async fn goals_sessions_and_notes_follow_the_status_and_notes_are_private(store: Store) {
    let (mentor, mentee) = (user(&store).await, user(&store).await);
    let m = requested(&store, mentor, mentee).await;
    let now = time::now();
    let goal = |by| Goal {
        id: MentorshipGoalId::new(),
        title: "Close the round".into(),
        added_by: by,
        created_at: now,
        completed_at: None,
    };
    let note = |by, body: &str| Note {
        id: MentorshipNoteId::new(),
        author_id: by,
        body: body.into(),
        created_at: now,
    };
    let session = Session {
        id: MentorshipSessionId::new(),
        starts_at: now + chrono::Duration::days(1),
        ends_at: now + chrono::Duration::days(1) + chrono::Duration::hours(1),
        topic: Some("Pitch deck".into()),
        scheduled_by: mentor,
        created_at: now,
        cancelled_at: None,
    };
    assert!(!store
        .add_goal(m.id, &goal(mentee), activity(&m))
        .await
        .unwrap());
    assert!(!store
        .add_note(m.id, &note(mentor, "early"), activity(&m))
        .await
        .unwrap());
    assert!(!store
        .add_session(m.id, &session, activity(&m))
        .await
        .unwrap());

    moved(
        &store,
        &m,
        MentorshipStatus::Requested,
        MentorshipStatus::Active,
    )
    .await
    .unwrap();
    let added = goal(mentee);
    assert!(store.add_goal(m.id, &added, activity(&m)).await.unwrap());
    assert!(store
        .complete_goal(m.id, added.id, now, activity(&m))
        .await
        .unwrap());
    assert!(!store
        .complete_goal(m.id, added.id, now, activity(&m))
        .await
        .unwrap());
    assert!(!store
        .complete_goal(m.id, MentorshipGoalId::new(), now, activity(&m))
        .await
        .unwrap());
    assert!(store
        .add_session(m.id, &session, activity(&m))
        .await
        .unwrap());
    assert!(store
        .add_note(m.id, &note(mentor, "Mentor's thoughts"), activity(&m))
        .await
        .unwrap());
    assert!(store
        .add_note(m.id, &note(mentee, "Mentee's thoughts"), activity(&m))
        .await
        .unwrap());

    moved(
        &store,
        &m,
        MentorshipStatus::Active,
        MentorshipStatus::Paused,
    )
    .await
    .unwrap();
    assert!(!store
        .add_goal(m.id, &goal(mentor), activity(&m))
        .await
        .unwrap());
    assert!(store
        .add_note(m.id, &note(mentor, "While paused"), activity(&m))
        .await
        .unwrap());

    let seen_by_mentor = store.mentorship_detail(&m, mentor).await.unwrap();
    // The two goals of the request and the one added.
    assert_eq!(seen_by_mentor.goals.len(), 3);
    let done: Vec<_> = seen_by_mentor
        .goals
        .iter()
        .filter(|g| g.completed_at.is_some())
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, added.id);
    assert_eq!(seen_by_mentor.sessions, vec![session]);
    let bodies: Vec<&str> = seen_by_mentor
        .notes
        .iter()
        .map(|n| n.body.as_str())
        .collect();
    assert_eq!(bodies, ["Mentor's thoughts", "While paused"]);
    let seen_by_mentee = store.mentorship_detail(&m, mentee).await.unwrap();
    let bodies: Vec<&str> = seen_by_mentee
        .notes
        .iter()
        .map(|n| n.body.as_str())
        .collect();
    assert_eq!(bodies, ["Mentee's thoughts"]);
}

async fn feedback_is_once_per_party_and_the_mentee_rates_the_mentor(store: Store) {
    let m = active(&store).await;
    let feedback = |by, stars| Feedback {
        author_id: by,
        rating: Rating::parse(stars).unwrap(),
        body: Some("Thank you".into()),
        created_at: time::now(),
    };
    let mentor_rating = |store: Store, who: UserId| async move {
        store
            .rating(RatingScope::Mentor, who.as_uuid())
            .await
            .unwrap()
    };
    assert!(!store
        .give_feedback(
            m.id,
            &feedback(m.mentee_id, 4),
            Some(m.mentor_id),
            activity(&m)
        )
        .await
        .unwrap());
    moved(
        &store,
        &m,
        MentorshipStatus::Active,
        MentorshipStatus::Completed,
    )
    .await
    .unwrap();
    assert!(store
        .give_feedback(
            m.id,
            &feedback(m.mentee_id, 4),
            Some(m.mentor_id),
            activity(&m)
        )
        .await
        .unwrap());
    assert!(!store
        .give_feedback(
            m.id,
            &feedback(m.mentee_id, 1),
            Some(m.mentor_id),
            activity(&m)
        )
        .await
        .unwrap());
    assert!(store
        .give_feedback(m.id, &feedback(m.mentor_id, 5), None, activity(&m))
        .await
        .unwrap());
    let four = RatingSummary::of([Rating::parse(4).unwrap()]);
    assert_eq!(mentor_rating(store.clone(), m.mentor_id).await, four);
    assert_eq!(
        mentor_rating(store.clone(), m.mentee_id).await,
        RatingSummary::default()
    );
    let detail = store.mentorship_detail(&m, m.mentee_id).await.unwrap();
    assert_eq!(detail.feedback.len(), 2);
}

async fn mentorships_page_by_role_and_status(store: Store) {
    let me = user(&store).await;
    let mut as_mentor = Vec::new();
    for _ in 0..3 {
        let other = user(&store).await;
        as_mentor.push(requested(&store, me, other).await);
    }
    let other = user(&store).await;
    let as_mentee = requested(&store, other, me).await;
    moved(
        &store,
        &as_mentor[0],
        MentorshipStatus::Requested,
        MentorshipStatus::Active,
    )
    .await
    .unwrap();

    let walk = |role, status| {
        let store = store.clone();
        async move {
            let mut ids = Vec::new();
            let mut cursor: Option<Cursor> = None;
            loop {
                let (items, next) = store
                    .mentorships_of(me, role, status, cursor.as_ref(), Limit::parse(2).unwrap())
                    .await
                    .unwrap();
                ids.extend(items.into_iter().map(|m| m.id));
                match next {
                    Some(n) => cursor = Some(n),
                    None => return ids,
                }
            }
        }
    };
    let mentor_ids: Vec<_> = as_mentor.iter().rev().map(|m| m.id).collect();
    assert_eq!(walk(Some(MentorshipRole::Mentor), None).await, mentor_ids);
    assert_eq!(
        walk(Some(MentorshipRole::Mentee), None).await,
        vec![as_mentee.id]
    );
    let mut all = vec![as_mentee.id];
    all.extend(mentor_ids);
    assert_eq!(walk(None, None).await, all);
    assert_eq!(
        walk(None, Some(MentorshipStatus::Active)).await,
        vec![as_mentor[0].id]
    );
}

async fn request_posts_and_blocks_are_read(store: Store) {
    let (mentee, mentor) = (user(&store).await, user(&store).await);
    let fields = json!({"area": "Fundraising", "format": "hybrid", "duration_weeks": 8});
    let payload = PostPayload::parse(PostType::MentorshipRequest, Some(&fields)).unwrap();
    let post = store
        .create_post(new_post(mentee, payload, PostVisibility::Public))
        .await
        .unwrap();
    let request = store.request_post(post).await.unwrap().expect("a request");
    assert_eq!(
        (request.author_id, request.format),
        (mentee, MentorshipFormat::Hybrid)
    );
    assert_eq!(request.area, "Fundraising");
    let text = store
        .create_post(new_post(
            mentee,
            PostPayload::parse(PostType::Text, None).unwrap(),
            PostVisibility::Public,
        ))
        .await
        .unwrap();
    assert_eq!(store.request_post(text).await.unwrap(), None);

    assert_eq!(
        store.blocked_between(mentor, mentee).await.unwrap(),
        Some(false)
    );
    assert_eq!(
        store.blocked_between(mentor, UserId::new()).await.unwrap(),
        None
    );
    store.block(mentee, mentor).await.unwrap();
    assert_eq!(
        store.blocked_between(mentor, mentee).await.unwrap(),
        Some(true)
    );
}

/// Makes `who` open to mentoring (or not) with `skills` and `industry`, following `topics`.
pub async fn profile(
    store: &Store,
    who: UserId,
    mentoring: bool,
    industry: &str,
    skills: &[&str],
    topics: &[&str],
) {
    let now = time::now();
    let id = who.as_uuid();
    with_db!(store.db(), pool => {
        sqlx::query(
            "INSERT INTO business_profiles (user_id, industry, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (user_id) DO UPDATE SET industry = excluded.industry",
        )
        .bind(id)
        .bind(industry)
        .bind(now)
        .execute(pool)
        .await?;
        if mentoring {
            sqlx::query("INSERT INTO business_profile_looking_for (user_id, looking_for) VALUES ($1, 'mentees')")
                .bind(id)
                .execute(pool)
                .await?;
        }
        for skill in skills {
            sqlx::query("INSERT INTO business_profile_skills (user_id, skill) VALUES ($1, $2)")
                .bind(id)
                .bind(*skill)
                .execute(pool)
                .await?;
        }
        for slug in topics {
            sqlx::query(
                "INSERT INTO topics (id, slug, name, created_at) VALUES ($1, $2, $2, $3) ON CONFLICT (slug) DO NOTHING",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(*slug)
            .bind(now)
            .execute(pool)
            .await?;
            sqlx::query(
                "INSERT INTO user_topic_follows (user_id, topic_id, created_at) \
                 SELECT $1, id, $3 FROM topics WHERE slug = $2",
            )
            .bind(id)
            .bind(*slug)
            .bind(now)
            .execute(pool)
            .await?;
        }
        Ok::<_, sqlx::Error>(())
    })
    .unwrap();
}

async fn mentors_are_filtered_and_ranked_by_overlap(store: Store) {
    let me = user(&store).await;
    profile(
        &store,
        me,
        false,
        "fintech",
        &["rust", "sales", "design"],
        &["solar", "agritech"],
    )
    .await;
    let (a, b, c, d, blocked, closed) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    // a shares three (two skills, one topic), b two topics, c nothing, d one skill.
    profile(&store, a, true, "fintech", &["rust", "sales"], &["solar"]).await;
    profile(
        &store,
        b,
        true,
        "agritech",
        &["farming"],
        &["solar", "agritech"],
    )
    .await;
    profile(&store, c, true, "fintech", &[], &[]).await;
    profile(&store, d, true, "retail", &["design"], &[]).await;
    profile(
        &store,
        blocked,
        true,
        "fintech",
        &["rust", "sales", "design"],
        &[],
    )
    .await;
    profile(&store, closed, false, "fintech", &["rust"], &[]).await;
    store.block(blocked, me).await.unwrap();
    store
        .set_mentor_formats(d, &[MentorshipFormat::InPerson])
        .await
        .unwrap();

    let list = |filter: MentorFilter, size: u32| {
        let store = store.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<Cursor> = None;
            loop {
                let (cards, next) = store
                    .mentors(me, &filter, cursor.as_ref(), Limit::parse(size).unwrap())
                    .await
                    .unwrap();
                seen.extend(cards);
                match next {
                    Some(n) => cursor = Some(n),
                    None => return seen,
                }
            }
        }
    };
    for size in [1, 2, 10] {
        let all = list(MentorFilter::default(), size).await;
        let ids: Vec<UserId> = all.iter().map(|c| c.user_id).collect();
        assert_eq!(&ids[..2], &[a, b], "{size}");
        assert_eq!(ids[2], d);
        assert_eq!(ids[3], c);
        assert_eq!(ids.len(), 4);
        let overlaps: Vec<i64> = all.iter().map(|c| c.overlap).collect();
        assert_eq!(overlaps, [3, 2, 1, 0]);
    }
    let fintech = list(
        MentorFilter {
            industry: Some("fintech".into()),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(
        fintech.iter().map(|c| c.user_id).collect::<Vec<_>>(),
        [a, c]
    );
    let rust = list(
        MentorFilter {
            skill: Some("rust".into()),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(rust.iter().map(|c| c.user_id).collect::<Vec<_>>(), [a]);
    assert_eq!(rust[0].skills, ["rust", "sales"]);
    // d offers in person only; the others state no format, so offer any.
    let virtual_only = list(
        MentorFilter {
            format: Some(MentorshipFormat::Virtual),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(
        virtual_only.iter().map(|c| c.user_id).collect::<Vec<_>>(),
        [a, b, c]
    );
    let in_person = list(
        MentorFilter {
            format: Some(MentorshipFormat::InPerson),
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(in_person.len(), 4);
    assert_eq!(in_person[2].formats, [MentorshipFormat::InPerson]);
}
