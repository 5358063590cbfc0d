//! `MarketingRepo::ingest`: a batch of events, one transaction per campaign.
//!
//! Each campaign's transaction locks its row first (`FOR UPDATE` on PostgreSQL, a no-op
//! `UPDATE … RETURNING` on SQLite), so concurrent batches of one campaign, from any instance,
//! charge one after the other and each reads the spend the ones before it left. Under the lock
//! it inserts the batch's events (`ON CONFLICT DO NOTHING` on `(campaign_id, event_id)`, which
//! answers the new ones: the rest are duplicates), charges the new ones with
//! [`pacing::bill`], and writes the spend with a conditional `UPDATE … WHERE spent_amount + x
//! <= budget_amount`, the hourly, daily and frequency counts, and one ledger posting. PostgreSQL
//! takes the events and frequency rows as arrays (`unnest`), so each statement's text is the
//! same whatever the batch's size; SQLite takes a `VALUES` list.

use std::collections::{BTreeMap, HashSet};

use chrono::{DurationRound as _, NaiveDate};
use futures::future::BoxFuture;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vendrome_core::enums::{MarketingCampaignStatus, MarketingEventKind};
use vendrome_core::ids::CampaignId;
use vendrome_core::ledger::postings;
use vendrome_core::marketing::pacing::{self, Chargeable, SpendState};
use vendrome_core::marketing::{AdEvent, Campaign, IngestReport};
use vendrome_core::money::Money;
use vendrome_core::outbox::NewEvent;
use vendrome_core::time::Timestamp;
use vendrome_core::{Result, SqlEnum as _};

use crate::error::SqlxResultExt as _;
use crate::ledger::LedgerWrites as _;
use crate::marketing::{CampaignRow, CAMPAIGN_COLUMNS};
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Dialect, Store};

/// The writes whose shape differs by database: many rows in one statement.
trait BulkWrites {
    /// Inserts `events` (each `billed`), answering the ids that were new.
    fn insert_events<'a>(
        &'a mut self,
        campaign: Uuid,
        events: &'a [AdEvent],
        billed: bool,
    ) -> BoxFuture<'a, sqlx::Result<Vec<Uuid>>>;

    /// Adds impressions per (viewer, day).
    fn add_frequency<'a>(
        &'a mut self,
        campaign: Uuid,
        rows: &'a [(Uuid, NaiveDate, i64)],
    ) -> BoxFuture<'a, sqlx::Result<()>>;
}

impl BulkWrites for PgConnection {
    fn insert_events<'a>(
        &'a mut self,
        campaign: Uuid,
        events: &'a [AdEvent],
        billed: bool,
    ) -> BoxFuture<'a, sqlx::Result<Vec<Uuid>>> {
        Box::pin(async move {
            let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
            let ats: Vec<Timestamp> = events.iter().map(|e| e.at).collect();
            let viewers: Vec<Option<Uuid>> = events
                .iter()
                .map(|e| e.viewer_id.map(|v| v.as_uuid()))
                .collect();
            sqlx::query_scalar(
                "INSERT INTO marketing_campaign_events (campaign_id, event_id, kind, occurred_at, viewer_id, billed) \
                 SELECT $1, e.id, e.kind::marketing_event_kind, e.at, e.viewer, $6 \
                 FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::uuid[]) AS e (id, kind, at, viewer) \
                 ON CONFLICT (campaign_id, event_id) DO NOTHING RETURNING event_id",
            )
            .bind(campaign)
            .bind(ids)
            .bind(kinds)
            .bind(ats)
            .bind(viewers)
            .bind(billed)
            .fetch_all(&mut *self)
            .await
        })
    }

    fn add_frequency<'a>(
        &'a mut self,
        campaign: Uuid,
        rows: &'a [(Uuid, NaiveDate, i64)],
    ) -> BoxFuture<'a, sqlx::Result<()>> {
        Box::pin(async move {
            let viewers: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
            let days: Vec<NaiveDate> = rows.iter().map(|r| r.1).collect();
            let counts: Vec<i64> = rows.iter().map(|r| r.2).collect();
            sqlx::query(
                "INSERT INTO marketing_frequency (campaign_id, viewer_id, day, impressions) \
                 SELECT $1, f.viewer, f.day, f.n FROM unnest($2::uuid[], $3::date[], $4::bigint[]) AS f (viewer, day, n) \
                 ON CONFLICT (viewer_id, day, campaign_id) DO UPDATE \
                 SET impressions = marketing_frequency.impressions + excluded.impressions",
            )
            .bind(campaign)
            .bind(viewers)
            .bind(days)
            .bind(counts)
            .execute(&mut *self)
            .await?;
            Ok(())
        })
    }
}

impl BulkWrites for SqliteConnection {
    fn insert_events<'a>(
        &'a mut self,
        campaign: Uuid,
        events: &'a [AdEvent],
        billed: bool,
    ) -> BoxFuture<'a, sqlx::Result<Vec<Uuid>>> {
        Box::pin(async move {
            let mut inserted = Vec::with_capacity(events.len());
            for chunk in events.chunks(500) {
                let mut sql = SqlText::new(
                    Dialect::Sqlite,
                    "INSERT INTO marketing_campaign_events (campaign_id, event_id, kind, occurred_at, viewer_id, billed) VALUES ",
                );
                for (i, e) in chunk.iter().enumerate() {
                    sql.push(if i == 0 { "(" } else { ", (" });
                    sql.uuid(campaign).push(", ").uuid(e.event_id).push(", ");
                    sql.bind(Arg::Text(e.kind.as_str().to_owned())).push(", ");
                    sql.bind(Arg::At(e.at)).push(", ");
                    match e.viewer_id {
                        Some(v) => sql.uuid(v.as_uuid()),
                        None => sql.push("NULL"),
                    };
                    sql.push(", ").bind(Arg::Bool(billed)).push(")");
                }
                sql.push(" ON CONFLICT (campaign_id, event_id) DO NOTHING RETURNING event_id");
                let ids: Vec<Uuid> = bind_args!(sqlx::query_scalar::<_, Uuid>(&sql.text), sql)
                    .fetch_all(&mut *self)
                    .await?;
                inserted.extend(ids);
            }
            Ok(inserted)
        })
    }

    fn add_frequency<'a>(
        &'a mut self,
        campaign: Uuid,
        rows: &'a [(Uuid, NaiveDate, i64)],
    ) -> BoxFuture<'a, sqlx::Result<()>> {
        Box::pin(async move {
            for chunk in rows.chunks(500) {
                let mut sql = SqlText::new(
                    Dialect::Sqlite,
                    "INSERT INTO marketing_frequency (campaign_id, viewer_id, day, impressions) VALUES ",
                );
                for (i, (viewer, day, n)) in chunk.iter().enumerate() {
                    sql.push(if i == 0 { "(" } else { ", (" });
                    sql.uuid(campaign).push(", ").uuid(*viewer).push(", ");
                    sql.bind(Arg::Date(*day))
                        .push(", ")
                        .bind(Arg::Int(*n))
                        .push(")");
                }
                sql.push(
                    " ON CONFLICT (viewer_id, day, campaign_id) DO UPDATE \
                     SET impressions = marketing_frequency.impressions + excluded.impressions",
                );
                bind_args!(sqlx::query(&sql.text), sql)
                    .execute(&mut *self)
                    .await?;
            }
            Ok(())
        })
    }
}

/// Counts of one bucket.
#[derive(Default, Clone, Copy)]
struct Counts {
    impressions: i64,
    clicks: i64,
    spend: i64,
    unbilled: i64,
}

impl Counts {
    fn add(&mut self, kind: MarketingEventKind, cost: i64, billed: bool) {
        match kind {
            MarketingEventKind::Impression => self.impressions += 1,
            MarketingEventKind::Click => self.clicks += 1,
        }
        self.spend += cost;
        self.unbilled += i64::from(!billed);
    }
}

/// An upsert adding `rows` to a metrics table keyed by `(campaign_id, <key>)`.
fn add_counts(
    dialect: Dialect,
    table: &str,
    key: &str,
    campaign: Uuid,
    rows: Vec<(Arg, Counts)>,
    now: Timestamp,
) -> SqlText {
    let mut sql = SqlText::new(
        dialect,
        &format!("INSERT INTO {table} (campaign_id, {key}, impressions, clicks, spend_amount, unbilled{}) VALUES ",
            if table == "marketing_campaign_metrics" { ", updated_at" } else { "" }),
    );
    for (i, (at, c)) in rows.into_iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.uuid(campaign).push(", ").bind(at);
        for n in [c.impressions, c.clicks, c.spend, c.unbilled] {
            sql.push(", ").bind(Arg::Int(n));
        }
        if table == "marketing_campaign_metrics" {
            sql.push(", ").bind(Arg::At(now));
        }
        sql.push(")");
    }
    sql.push(&format!(
        " ON CONFLICT (campaign_id, {key}) DO UPDATE SET impressions = {table}.impressions + excluded.impressions, \
         clicks = {table}.clicks + excluded.clicks, spend_amount = {table}.spend_amount + excluded.spend_amount, \
         unbilled = {table}.unbilled + excluded.unbilled{}",
        if table == "marketing_campaign_metrics" { ", updated_at = excluded.updated_at" } else { "" }
    ));
    sql
}

/// What one campaign's transaction did.
#[derive(Default)]
struct Part {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    billed: u64,
    unbilled: u64,
    spend: i64,
    completed: Option<CampaignId>,
}

fn lock_campaign(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM marketing_campaigns WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        ),
        Dialect::Sqlite => format!(
            "UPDATE marketing_campaigns SET id = id WHERE id = $1 AND deleted_at IS NULL RETURNING {CAMPAIGN_COLUMNS}"
        ),
    }
}

/// Ingests one campaign's events (sorted by time, no id twice) in one transaction.
async fn ingest_campaign<F>(
    store: &Store,
    campaign_id: CampaignId,
    events: &[AdEvent],
    now: Timestamp,
    completed: &F,
) -> Result<Part>
where
    F: for<'c> Fn(&'c Campaign) -> NewEvent + Send + Sync + ?Sized,
{
    let id = campaign_id.as_uuid();
    let part = with_db!(store.db(), pool, dialect => {
        let mut tx = pool.begin().await?;
        let row: Option<CampaignRow> = sqlx::query_as(&lock_campaign(dialect))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let campaign = match row.map(Campaign::try_from) {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(sqlx::Error::Decode(e.to_string().into())),
            None => return Ok(Part { rejected: events.len() as u64, ..Part::default() }),
        };
        use MarketingCampaignStatus as S;
        let running = match campaign.status {
            S::Draft | S::Scheduled => return Ok(Part { rejected: events.len() as u64, ..Part::default() }),
            S::Active | S::Paused => true,
            S::Completed | S::Cancelled => false,
        };
        let new: HashSet<Uuid> = tx.insert_events(id, events, running).await?.into_iter().collect();
        let fresh: Vec<&AdEvent> = events.iter().filter(|e| new.contains(&e.event_id)).collect();
        let mut part = Part {
            accepted: fresh.len() as u64,
            duplicates: (events.len() - fresh.len()) as u64,
            ..Part::default()
        };
        if fresh.is_empty() {
            tx.rollback().await?;
            return Ok(part);
        }
        let chargeable: Vec<Chargeable> = fresh.iter().map(|e| Chargeable { kind: e.kind, at: e.at }).collect();
        let billing = if running {
            let mut day_spent = BTreeMap::new();
            if campaign.daily_budget.is_some() {
                let first = chargeable.iter().map(|c| c.at.date_naive()).min().unwrap_or(now.date_naive());
                let last = chargeable.iter().map(|c| c.at.date_naive()).max().unwrap_or(now.date_naive());
                let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
                    "SELECT day, spend_amount FROM marketing_campaign_metrics WHERE campaign_id = $1 AND day >= $2 AND day <= $3",
                )
                .bind(id)
                .bind(first)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?;
                day_spent.extend(rows);
            }
            pacing::bill(
                &SpendState {
                    bid: campaign.bid,
                    budget: campaign.budget.amount,
                    daily_budget: campaign.daily_budget,
                    spent: campaign.spent,
                    billed_impressions: campaign.billed_impressions,
                    day_spent,
                },
                &chargeable,
            )
        } else {
            pacing::Billing {
                billed: vec![false; fresh.len()],
                cost: vec![0; fresh.len()],
                ..pacing::Billing::default()
            }
        };
        part.billed = billing.billed.iter().filter(|b| **b).count() as u64;
        part.unbilled = part.accepted - part.billed;
        part.spend = billing.spend;
        if running && part.unbilled > 0 {
            let mut sql = SqlText::new(dialect, "UPDATE marketing_campaign_events SET billed = FALSE WHERE campaign_id = ");
            sql.uuid(id).push(" AND event_id IN (");
            let unbilled = fresh.iter().zip(&billing.billed).filter(|(_, b)| !**b);
            for (i, (e, _)) in unbilled.enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(e.event_id);
            }
            sql.push(")");
            bind_args!(sqlx::query(&sql.text), sql).execute(&mut *tx).await?;
        }
        let spent = campaign.spent + billing.spend;
        let exhausted = running && pacing::exhausted(campaign.bid, campaign.budget.amount, spent);
        if billing.spend > 0 || exhausted {
            // Conditional on the budget even under the lock: the schema's CHECK is the last
            // word, this the first.
            let updated = sqlx::query(
                "UPDATE marketing_campaigns SET spent_amount = spent_amount + $2, \
                 billed_impressions = billed_impressions + $3, updated_at = $4, \
                 status = CASE WHEN $5 THEN 'completed' ELSE status END, \
                 ended_at = CASE WHEN $5 THEN $4 ELSE ended_at END, \
                 released_amount = CASE WHEN $5 THEN budget_amount - spent_amount - $2 ELSE released_amount END \
                 WHERE id = $1 AND spent_amount + $2 <= budget_amount",
            )
            .bind(id)
            .bind(billing.spend)
            .bind(billing.billed_impressions)
            .bind(now)
            .bind(exhausted)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(sqlx::Error::Protocol(format!("campaign {id}'s spend would pass its budget")));
            }
        }
        let mut hours: BTreeMap<Timestamp, Counts> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, Counts> = BTreeMap::new();
        let mut seen: BTreeMap<(Uuid, NaiveDate), i64> = BTreeMap::new();
        for ((e, billed), cost) in fresh.iter().zip(&billing.billed).zip(&billing.cost) {
            let hour = e.at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(e.at);
            hours.entry(hour).or_default().add(e.kind, *cost, *billed);
            days.entry(e.at.date_naive()).or_default().add(e.kind, *cost, *billed);
            if let (MarketingEventKind::Impression, Some(viewer)) = (e.kind, e.viewer_id) {
                *seen.entry((viewer.as_uuid(), e.at.date_naive())).or_insert(0) += 1;
            }
        }
        let hourly = add_counts(dialect, "marketing_campaign_hourly", "hour", id,
            hours.into_iter().map(|(h, c)| (Arg::At(h), c)).collect(), now);
        bind_args!(sqlx::query(&hourly.text), hourly).execute(&mut *tx).await?;
        let daily = add_counts(dialect, "marketing_campaign_metrics", "day", id,
            days.into_iter().map(|(d, c)| (Arg::Date(d), c)).collect(), now);
        bind_args!(sqlx::query(&daily.text), daily).execute(&mut *tx).await?;
        if !seen.is_empty() {
            let rows: Vec<(Uuid, NaiveDate, i64)> = seen.into_iter().map(|((v, d), n)| (v, d, n)).collect();
            tx.add_frequency(id, &rows).await?;
        }
        if billing.spend > 0 {
            let posting = postings::ad_spend(
                campaign_id,
                fresh[0].event_id,
                campaign.owner_id,
                Money::new(billing.spend, campaign.budget.currency),
            )
            .map_err(|e| sqlx::Error::InvalidArgument(format!("a spend posting: {e}")))?;
            tx.write_posting(&posting, now).await?;
        }
        if exhausted {
            let mut after = campaign.clone();
            after.status = S::Completed;
            after.spent = spent;
            tx.append_event(&completed(&after), now).await?;
            part.completed = Some(campaign_id);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(part)
    })
    .or_unexpected()?;
    Ok(part)
}

/// See the module docs.
pub(crate) async fn ingest<F>(
    store: &Store,
    events: &[AdEvent],
    now: Timestamp,
    completed: &F,
) -> Result<IngestReport>
where
    F: for<'c> Fn(&'c Campaign) -> NewEvent + Send + Sync + ?Sized,
{
    let mut by_campaign: BTreeMap<CampaignId, Vec<AdEvent>> = BTreeMap::new();
    for e in events {
        by_campaign.entry(e.campaign_id).or_default().push(*e);
    }
    let mut report = IngestReport::default();
    for (campaign, mut group) in by_campaign {
        group.sort_by_key(|e| (e.at, e.event_id));
        // An id twice in one batch counts once.
        let mut ids = HashSet::new();
        let before = group.len();
        group.retain(|e| ids.insert(e.event_id));
        report.duplicates += (before - group.len()) as u64;
        let part = ingest_campaign(store, campaign, &group, now, completed).await?;
        report.accepted += part.accepted;
        report.duplicates += part.duplicates;
        report.rejected += part.rejected;
        report.billed += part.billed;
        report.unbilled += part.unbilled;
        report.spend += part.spend;
        report.completed.extend(part.completed);
    }
    Ok(report)
}
