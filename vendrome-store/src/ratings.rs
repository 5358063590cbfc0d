//! Rating aggregates (`rating_stats`) moved inside the transaction of the review or feedback
//! that changes them. A row is made (all zeros) when first needed, then moved by one `UPDATE`
//! of deltas, which on PostgreSQL locks the row until the transaction ends, so concurrent
//! reviews of one seller add up exactly; the table's checks keep count, sum and histogram
//! consistent. Callers move rows in one global order (listings by id, then the member) so two
//! transactions never wait on each other in a cycle.

use futures::future::BoxFuture;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vendrome_core::enums::RatingScope;
use vendrome_core::reviews::{Rating, RatingSummary};

use crate::sql_enum::DbEnum;

/// A change of aggregates: what to add to each column (negative to take away).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RatingDelta {
    count: i64,
    sum: i64,
    histogram: [i64; 5],
}

impl RatingDelta {
    pub fn added(r: Rating) -> Self {
        let mut histogram = [0; 5];
        histogram[usize::from(r.get() - 1)] = 1;
        Self {
            count: 1,
            sum: i64::from(r.get()),
            histogram,
        }
    }

    pub fn removed(r: Rating) -> Self {
        let a = Self::added(r);
        Self {
            count: -a.count,
            sum: -a.sum,
            histogram: a.histogram.map(|n| -n),
        }
    }

    pub fn changed(from: Rating, to: Rating) -> Self {
        let (a, b) = (Self::removed(from), Self::added(to));
        let mut histogram = a.histogram;
        for (h, n) in histogram.iter_mut().zip(b.histogram) {
            *h += n;
        }
        Self {
            count: a.count + b.count,
            sum: a.sum + b.sum,
            histogram,
        }
    }
}

const ENSURE: &str =
    "INSERT INTO rating_stats (scope, subject_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

const SHIFT: &str = "UPDATE rating_stats SET rating_count = rating_count + $3, rating_sum = rating_sum + $4, \
    count_1 = count_1 + $5, count_2 = count_2 + $6, count_3 = count_3 + $7, count_4 = count_4 + $8, \
    count_5 = count_5 + $9 WHERE scope = $1 AND subject_id = $2";

pub(crate) const READ: &str =
    "SELECT rating_count, rating_sum, count_1, count_2, count_3, count_4, count_5 \
    FROM rating_stats WHERE scope = $1 AND subject_id = $2";

/// A `rating_stats` row as read.
pub(crate) type StatsRow = (i64, i64, i64, i64, i64, i64, i64);

pub(crate) fn summary(row: Option<StatsRow>) -> RatingSummary {
    row.map_or_else(RatingSummary::default, |(count, sum, a, b, c, d, e)| {
        RatingSummary {
            count,
            sum,
            histogram: [a, b, c, d, e],
        }
    })
}

/// Moves aggregates inside an open transaction.
pub(crate) trait RatingWrites {
    fn shift_rating(
        &mut self,
        scope: RatingScope,
        subject: Uuid,
        delta: RatingDelta,
    ) -> BoxFuture<'_, sqlx::Result<()>>;
}

macro_rules! impl_rating_writes {
    ($conn:ty) => {
        impl RatingWrites for $conn {
            fn shift_rating(
                &mut self,
                scope: RatingScope,
                subject: Uuid,
                delta: RatingDelta,
            ) -> BoxFuture<'_, sqlx::Result<()>> {
                Box::pin(async move {
                    sqlx::query(ENSURE)
                        .bind(DbEnum(scope))
                        .bind(subject)
                        .execute(&mut *self)
                        .await?;
                    let [h1, h2, h3, h4, h5] = delta.histogram;
                    sqlx::query(SHIFT)
                        .bind(DbEnum(scope))
                        .bind(subject)
                        .bind(delta.count)
                        .bind(delta.sum)
                        .bind(h1)
                        .bind(h2)
                        .bind(h3)
                        .bind(h4)
                        .bind(h5)
                        .execute(&mut *self)
                        .await?;
                    Ok(())
                })
            }
        }
    };
}

impl_rating_writes!(PgConnection);
impl_rating_writes!(SqliteConnection);
