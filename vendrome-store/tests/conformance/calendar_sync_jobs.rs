//! The calendar sync queue: one live job per integration and kind, leases that exclude other
//! workers until they run out, backoff back to `pending`, the dead letters after the last attempt
//! or at once when retrying cannot help, and concurrent claimers each taking a job once; the
//! periodic sync queued once per integration and period (never for a revoked one, also when
//! two instances queue at once), and the job of one integration claimed whatever its backoff.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Duration as Span;
use vendrome_core::calendar::integrations::{
    IntegrationRepo, NewIntegration, SealedCredentials, SyncOutcome,
};
use vendrome_core::calendar::sync_jobs::SyncJobRepo;
use vendrome_core::enums::{CalendarProvider, CalendarSyncJobKind, CalendarSyncJobStatus};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::time;
use vendrome_store::Store;

use crate::graph::user;

conformance!(
    calendar_sync_jobs_lease_back_off_and_die,
    calendar_sync_jobs_are_claimed_once_by_racing_workers,
    calendar_sync_jobs_are_queued_once_per_period,
    calendar_sync_jobs_of_one_integration_are_claimed_at_once
);

const LEASE: Duration = Duration::from_secs(60);
const DELTA: CalendarSyncJobKind = CalendarSyncJobKind::DeltaSync;

async fn integration(store: &Store) -> CalendarIntegrationId {
    let me = user(store).await;
    let id = CalendarIntegrationId::new();
    store
        .create_integration(&NewIntegration {
            id,
            user_id: me,
            provider: CalendarProvider::Caldav,
            provider_account_id: "alice".into(),
            account_email: None,
            external_calendar_id: format!("https://dav/{}/", id.as_uuid().simple()),
            credentials: SealedCredentials {
                key_id: "k1".into(),
                access: vec![1],
                refresh: None,
            },
            token_expires_at: None,
            now: time::now(),
        })
        .await
        .unwrap();
    id
}

async fn calendar_sync_jobs_lease_back_off_and_die(store: Store) {
    let id = integration(&store).await;
    let t0 = time::now();
    assert!(store.schedule_sync_job(id, DELTA, 3, t0).await.unwrap());
    // A second schedule of a live job is a no-op; another kind is its own job.
    assert!(!store.schedule_sync_job(id, DELTA, 3, t0).await.unwrap());
    assert_eq!(store.sync_queue_status().await.unwrap().pending, 1);

    // Not due yet.
    let early = t0 - Span::seconds(1);
    assert_eq!(store.claim_sync_job("a", early, LEASE).await.unwrap(), None);
    let job = store.claim_sync_job("a", t0, LEASE).await.unwrap().unwrap();
    assert_eq!((job.integration_id, job.kind), (id, DELTA));
    assert_eq!(job.status, CalendarSyncJobStatus::Running);
    assert_eq!((job.attempts, job.lease_owner.as_deref()), (1, Some("a")));
    // Leased: nobody else gets it, and it is still live for scheduling.
    assert_eq!(store.claim_sync_job("b", t0, LEASE).await.unwrap(), None);
    assert!(!store.schedule_sync_job(id, DELTA, 3, t0).await.unwrap());
    assert_eq!(store.sync_queue_status().await.unwrap().running, 1);

    // Worker `a` dies; its lease runs out and `b` takes the job over, a second attempt.
    let later = t0 + Span::seconds(61);
    let job = store
        .claim_sync_job("b", later, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.attempts, job.lease_owner.as_deref()), (2, Some("b")));
    // `a` can no longer settle it.
    assert!(!store.complete_sync_job(job.id, "a", later).await.unwrap());
    assert_eq!(
        store
            .fail_sync_job(job.id, "a", "late", None, later)
            .await
            .unwrap(),
        None
    );

    // `b` fails: back to pending until the backoff's time.
    let retry_at = later + Span::seconds(30);
    assert_eq!(
        store
            .fail_sync_job(job.id, "b", "503 from server", Some(retry_at), later)
            .await
            .unwrap(),
        Some(CalendarSyncJobStatus::Pending)
    );
    let status = store.sync_queue_status().await.unwrap();
    let stored = store.sync_jobs_of(id, 10).await.unwrap();
    assert_eq!((status.pending, status.retrying, status.running), (1, 1, 0));
    assert_eq!(status.oldest_pending, Some(stored[0].available_at));
    assert_eq!(stored[0].last_error.as_deref(), Some("503 from server"));
    assert_eq!(stored[0].lease_owner, None);
    let before = retry_at - Span::seconds(1);
    assert_eq!(
        store.claim_sync_job("c", before, LEASE).await.unwrap(),
        None
    );

    // The third and last attempt fails: a dead letter, whatever the backoff says.
    let job = store
        .claim_sync_job("c", retry_at, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 3);
    let never = retry_at + Span::seconds(60);
    assert_eq!(
        store
            .fail_sync_job(job.id, "c", "503 again", Some(never), retry_at)
            .await
            .unwrap(),
        Some(CalendarSyncJobStatus::Dead)
    );
    assert_eq!(store.claim_sync_job("c", never, LEASE).await.unwrap(), None);
    let status = store.sync_queue_status().await.unwrap();
    assert_eq!(
        (status.pending, status.dead, status.oldest_pending),
        (0, 1, None)
    );

    // A dead job is not live: the integration can be scheduled again. Without a retry time
    // (a rejected credential) a failure is dead at its first attempt.
    assert!(store.schedule_sync_job(id, DELTA, 3, never).await.unwrap());
    let job = store
        .claim_sync_job("d", never, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
    assert_eq!(
        store
            .fail_sync_job(job.id, "d", "401 Unauthorized", None, never)
            .await
            .unwrap(),
        Some(CalendarSyncJobStatus::Dead)
    );
    assert_eq!(store.sync_queue_status().await.unwrap().dead, 2);

    // A success settles the job once.
    assert!(store.schedule_sync_job(id, DELTA, 3, never).await.unwrap());
    let job = store
        .claim_sync_job("e", never, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(store.complete_sync_job(job.id, "e", never).await.unwrap());
    assert!(!store.complete_sync_job(job.id, "e", never).await.unwrap());
    let jobs = store.sync_jobs_of(id, 10).await.unwrap();
    assert_eq!(jobs[0].status, CalendarSyncJobStatus::Succeeded);
    assert_eq!(jobs.len(), 3);

    // Jobs go with their integration.
    assert!(store.delete_integration(id).await.unwrap());
    assert_eq!(store.sync_queue_status().await.unwrap().dead, 0);
}

async fn calendar_sync_jobs_are_claimed_once_by_racing_workers(store: Store) {
    const JOBS: usize = 24;
    let now = time::now();
    for _ in 0..JOBS {
        let id = integration(&store).await;
        assert!(store.schedule_sync_job(id, DELTA, 5, now).await.unwrap());
    }
    // Two workers claim as fast as they can, each from its own connection of the pool.
    let workers = ["left", "right"].map(|owner| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut taken = Vec::new();
            while let Some(job) = store.claim_sync_job(owner, now, LEASE).await.unwrap() {
                assert_eq!(job.lease_owner.as_deref(), Some(owner));
                taken.push(job.id);
            }
            taken
        })
    });
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS, "every job claimed exactly once: {all:?}");
    assert_eq!(distinct.len(), JOBS);
    assert_eq!(
        store.sync_queue_status().await.unwrap().running as usize,
        JOBS
    );
}

async fn calendar_sync_jobs_are_queued_once_per_period(store: Store) {
    let period = Span::minutes(15);
    let (a, b, revoked) = (
        integration(&store).await,
        integration(&store).await,
        integration(&store).await,
    );
    let rejected = SyncOutcome::Rejected {
        error: "401".into(),
    };
    store
        .record_sync(revoked, &rejected, time::now())
        .await
        .unwrap();
    // Other tests' integrations share a PostgreSQL database: count only these.
    let ours = |store: Store| async move {
        let mut n = 0;
        for id in [a, b, revoked] {
            n += store.sync_jobs_of(id, 10).await.unwrap().len();
        }
        n
    };

    // Two instances queue at once: one job per integration that can sync.
    let t0 = time::now();
    let racers = [0, 1].map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .schedule_periodic_sync_jobs(DELTA, 4, t0 - period, t0)
                .await
                .unwrap()
        })
    });
    for racer in racers {
        racer.await.unwrap();
    }
    assert_eq!(ours(store.clone()).await, 2);
    assert!(store.sync_jobs_of(revoked, 10).await.unwrap().is_empty());
    let job = store.sync_jobs_of(a, 10).await.unwrap().remove(0);
    assert_eq!((job.max_attempts, job.available_at), (4, t0));

    // Done within the period: not queued again until the period has passed since.
    while let Some(job) = store.claim_sync_job("w", t0, LEASE).await.unwrap() {
        assert!(store.complete_sync_job(job.id, "w", t0).await.unwrap());
    }
    let t1 = t0 + Span::minutes(14);
    store
        .schedule_periodic_sync_jobs(DELTA, 4, t1 - period, t1)
        .await
        .unwrap();
    assert_eq!(ours(store.clone()).await, 2);
    let t2 = t0 + Span::minutes(16);
    store
        .schedule_periodic_sync_jobs(DELTA, 4, t2 - period, t2)
        .await
        .unwrap();
    assert_eq!(ours(store.clone()).await, 4);
    assert_eq!(store.sync_jobs_of(b, 10).await.unwrap()[0].available_at, t2);

    // A reconnected integration is queued again.
    let fresh = SealedCredentials {
        key_id: "k1".into(),
        access: vec![2],
        refresh: None,
    };
    assert!(store.reconnect(revoked, &fresh, t2).await.unwrap());
    store
        .schedule_periodic_sync_jobs(DELTA, 4, t2 - period, t2)
        .await
        .unwrap();
    assert_eq!(store.sync_jobs_of(revoked, 10).await.unwrap().len(), 1);
    assert_eq!(ours(store.clone()).await, 5);
}

async fn calendar_sync_jobs_of_one_integration_are_claimed_at_once(store: Store) {
    let (id, other) = (integration(&store).await, integration(&store).await);
    let now = time::now();
    let later = now + Span::hours(1);
    assert!(store.schedule_sync_job(id, DELTA, 3, later).await.unwrap());
    assert!(store.schedule_sync_job(other, DELTA, 3, now).await.unwrap());
    // Not due, but asked for by its member: claimed now.
    let job = store
        .claim_sync_job_of(id, DELTA, "me", now, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.integration_id, job.attempts), (id, 1));
    // Held: nobody else takes it, not even through the same call.
    assert_eq!(
        store
            .claim_sync_job_of(id, DELTA, "you", now, LEASE)
            .await
            .unwrap(),
        None
    );
    let full = CalendarSyncJobKind::FullSync;
    assert_eq!(
        store
            .claim_sync_job_of(id, full, "you", now, LEASE)
            .await
            .unwrap(),
        None
    );
    // Its lease ran out: taken over.
    let expired = now + Span::seconds(61);
    let again = store
        .claim_sync_job_of(id, DELTA, "you", expired, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
    // The other integration's job was left alone.
    assert_eq!(
        store.sync_jobs_of(other, 10).await.unwrap()[0].status,
        CalendarSyncJobStatus::Pending
    );
}
