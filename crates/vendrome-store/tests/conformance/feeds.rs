//! The feed port: keyset order across timestamp precisions. (A page's statement count is
//! checked by `tests/statements.rs`, alone in its process.)

use vendrome_core::enums::PostVisibility;
use vendrome_core::ids::PostId;
use vendrome_core::posts::feed::{Feed, FeedRepo as _};
use vendrome_core::posts::PostRepo as _;
use vendrome_store::{Db, Store};

use crate::posts::{new_post, payloads, user};

conformance!(orders_entries_across_timestamp_precisions);

async fn orders_entries_across_timestamp_precisions(store: Store) {
    let author = user(&store, "precise").await;
    // Times that print with no fraction, milliseconds and microseconds: their stored text
    // forms differ in length, their order must not.
    let times = [
        "2026-03-01T10:00:00.000001Z",
        "2026-03-01T10:00:00.5Z",
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00.499999Z",
        "2026-03-01T09:59:59.999999Z",
    ];
    let mut expected = Vec::new();
    for at in times {
        let id = store
            .create_post(new_post(
                author,
                payloads()[0].clone(),
                PostVisibility::Public,
            ))
            .await
            .unwrap();
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        let sql = "UPDATE posts SET created_at = $1 WHERE id = $2";
        match store.db() {
            Db::Postgres(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
            Db::Sqlite(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
        }
        expected.push((at, id));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<PostId> = expected.into_iter().map(|(_, id)| id).collect();

    let entries = store
        .feed_entries(&Feed::Author(author), None, None, 10)
        .await
        .unwrap();
    let ids: Vec<PostId> = entries[0].iter().map(|e| e.key.post).collect();
    assert_eq!(ids, expected);

    // One entry a page: each cursor continues exactly after its entry.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let entries = store
            .feed_entries(&Feed::Author(author), None, before, 1)
            .await
            .unwrap();
        let Some(entry) = entries[0].first() else {
            break;
        };
        walked.push(entry.key.post);
        before = Some(entry.key);
    }
    assert_eq!(walked, expected);
}
