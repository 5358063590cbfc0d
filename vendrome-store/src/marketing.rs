//! [`MarketingRepo`] on both databases: campaigns, consent, the audience estimate, stats and
//! what delivery reads (the ingest is in `marketing_ingest.rs`).
//!
//! A campaign's changes are compare-and-sets on its status (an edit also on not being
//! submitted), each with its outbox event in one transaction. The audience estimate is one
//! grouped statement over `marketing_audience` (the opted-in, enabled members and their
//! single-valued traits, kept by triggers), each targeting dimension an `IN` list or an
//! `EXISTS`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::enums::{
    LookingFor, MarketingBidModel, MarketingCampaignStatus, MarketingObjective, VerificationLevel,
};
use vendrome_core::ids::{CampaignId, PaymentId, PostId, TopicId, UserId};
use vendrome_core::marketing::pacing::Candidate;
use vendrome_core::marketing::{
    AdEvent, AudienceMember, Bid, Campaign, CampaignAction, CampaignMove, Deliverable, Granularity,
    IngestReport, MarketingRepo, StatsBucket, Targeting, ViewerFacts,
};
use vendrome_core::money::Money;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::payments::Payment;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::orders::parse_currency;
use crate::payments::{PaymentRow, PAYMENT_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::{commit_if_changed, TxWrites as _};
use crate::{with_db, Store};

/// Unqualified, so a `RETURNING` can name them too.
pub(crate) const CAMPAIGN_COLUMNS: &str = "id, owner_id, name, objective, status, \
    promoted_post_id, currency, budget_amount, daily_budget_amount, spent_amount, \
    funding_payment_id, starts_at, ends_at, created_at, updated_at, bid_model, \
    bid_amount, targeting, submitted_at, billed_impressions, ended_at, released_amount";

/// [`CAMPAIGN_COLUMNS`] of `marketing_campaigns c` and the sum of its succeeded refunds, for
/// reads (the locking reads of ingest leave the sum out: it defaults to 0 there).
static CAMPAIGN_READ_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{CAMPAIGN_COLUMNS}, (SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) \
         FROM payment_transactions p WHERE p.marketing_campaign_id = c.id \
         AND p.kind = 'refund' AND p.status = 'succeeded') AS refunded_amount"
    )
});

#[derive(sqlx::FromRow)]
pub(crate) struct CampaignRow {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    objective: DbEnum<MarketingObjective>,
    status: DbEnum<MarketingCampaignStatus>,
    promoted_post_id: Option<Uuid>,
    currency: String,
    budget_amount: i64,
    daily_budget_amount: Option<i64>,
    spent_amount: i64,
    funding_payment_id: Option<Uuid>,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
    bid_model: DbEnum<MarketingBidModel>,
    bid_amount: i64,
    targeting: Json<Targeting>,
    submitted_at: Option<Timestamp>,
    billed_impressions: i64,
    ended_at: Option<Timestamp>,
    released_amount: Option<i64>,
    #[sqlx(default)]
    refunded_amount: i64,
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = Error;
    fn try_from(r: CampaignRow) -> Result<Self> {
        Ok(Campaign {
            id: CampaignId::from_uuid(r.id),
            owner_id: UserId::from_uuid(r.owner_id),
            name: r.name,
            objective: r.objective.0,
            status: r.status.0,
            post_id: r.promoted_post_id.map(PostId::from_uuid),
            bid: Bid {
                model: r.bid_model.0,
                amount: r.bid_amount,
            },
            budget: Money::new(r.budget_amount, parse_currency(&r.currency)?),
            daily_budget: r.daily_budget_amount,
            spent: r.spent_amount,
            billed_impressions: r.billed_impressions,
            targeting: r.targeting.0,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            submitted_at: r.submitted_at,
            funding_payment_id: r.funding_payment_id.map(PaymentId::from_uuid),
            released_amount: r.released_amount,
            refunded_amount: r.refunded_amount,
            ended_at: r.ended_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The statement of a move: a compare-and-set on the status; a submit also on not being
/// submitted; an end stamps `ended_at` and releases the unspent rest of a funded budget.
fn move_sql(change: &CampaignMove) -> &'static str {
    match (change.action, change.to) {
        (CampaignAction::Submit, _) => "UPDATE marketing_campaigns SET submitted_at = $4, updated_at = $4 \
            WHERE id = $1 AND status = $3 AND submitted_at IS NULL AND $2 = $3",
        (_, MarketingCampaignStatus::Completed | MarketingCampaignStatus::Cancelled) => {
            "UPDATE marketing_campaigns SET status = $2, updated_at = $4, ended_at = $4, \
             released_amount = CASE WHEN funding_payment_id IS NULL THEN 0 ELSE budget_amount - spent_amount END \
             WHERE id = $1 AND status = $3"
        }
        _ => "UPDATE marketing_campaigns SET status = $2, updated_at = $4 WHERE id = $1 AND status = $3",
    }
}

/// `c.<column> IN (…)` of `values`, nothing for none.
fn any_of(sql: &mut SqlText, clause: &str, values: impl IntoIterator<Item = Arg>) {
    let mut values = values.into_iter().peekable();
    if values.peek().is_none() {
        return;
    }
    sql.push(clause).push(" IN (");
    for (i, v) in values.enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
    sql.push(")");
}

/// `IN` list of enum values (cast to their type on PostgreSQL).
fn any_enum<E: vendrome_core::SqlEnum + Copy>(sql: &mut SqlText, clause: &str, values: &[E]) {
    if values.is_empty() {
        return;
    }
    sql.push(clause).push(" IN (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.enum_value(*v);
    }
    sql.push(")");
}

/// The accepted connections of the member bound at `$owner`'s placeholder, as `(id)` rows.
fn connections_of(owner: &str) -> String {
    format!(
        "SELECT CASE WHEN requester_id = {owner} THEN addressee_id ELSE requester_id END AS id \
         FROM connections WHERE status = 'accepted' AND (requester_id = {owner} OR addressee_id = {owner})"
    )
}

impl Store {
    async fn campaign_where(&self, id: CampaignId) -> Result<Option<Campaign>> {
        let sql = format!(
            "SELECT {} FROM marketing_campaigns c WHERE c.id = $1 AND c.deleted_at IS NULL",
            CAMPAIGN_READ_COLUMNS.as_str()
        );
        let row: Option<CampaignRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(Campaign::try_from).transpose()
    }
}

#[async_trait]
impl MarketingRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn post_author(&self, post: PostId) -> Result<Option<UserId>> {
        let author: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT author_id FROM posts WHERE id = $1 AND deleted_at IS NULL")
                .bind(post.as_uuid())
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(author.map(UserId::from_uuid))
    }

    #[tracing::instrument(skip(self))]
    async fn campaign_payments(&self, campaign: CampaignId) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE marketing_campaign_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(campaign.as_uuid()).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(Payment::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(campaign = %c.id))]
    async fn create_campaign(&self, c: &Campaign, event: NewEvent) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO marketing_campaigns (id, owner_id, name, objective, status, promoted_post_id, \
                 currency, budget_amount, daily_budget_amount, starts_at, ends_at, created_at, updated_at, \
                 bid_model, bid_amount, targeting) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15)",
            )
            .bind(c.id.as_uuid())
            .bind(c.owner_id.as_uuid())
            .bind(&c.name)
            .bind(DbEnum(c.objective))
            .bind(DbEnum(c.status))
            .bind(c.post_id.map(|p| p.as_uuid()))
            .bind(c.budget.currency.as_str())
            .bind(c.budget.amount)
            .bind(c.daily_budget)
            .bind(c.starts_at)
            .bind(c.ends_at)
            .bind(c.created_at)
            .bind(DbEnum(c.bid.model))
            .bind(c.bid.amount)
            .bind(Json(&c.targeting))
            .execute(&mut *tx)
            .await?;
            tx.append_event(&event, c.created_at).await?;
            tx.commit().await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>> {
        self.campaign_where(id).await
    }

    #[tracing::instrument(skip_all, fields(campaign = %c.id))]
    async fn update_campaign(
        &self,
        c: &Campaign,
        from: MarketingCampaignStatus,
        event: NewEvent,
    ) -> Result<Option<Campaign>> {
        let changed = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE marketing_campaigns SET name = $3, objective = $4, bid_model = $5, bid_amount = $6, \
                 budget_amount = $7, daily_budget_amount = $8, starts_at = $9, ends_at = $10, targeting = $11, \
                 updated_at = $12 WHERE id = $1 AND status = $2 AND submitted_at IS NULL AND deleted_at IS NULL",
            )
            .bind(c.id.as_uuid())
            .bind(DbEnum(from))
            .bind(&c.name)
            .bind(DbEnum(c.objective))
            .bind(DbEnum(c.bid.model))
            .bind(c.bid.amount)
            .bind(c.budget.amount)
            .bind(c.daily_budget)
            .bind(c.starts_at)
            .bind(c.ends_at)
            .bind(Json(&c.targeting))
            .bind(c.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, changed, &event, c.updated_at).await
        })
        .or_unexpected()?;
        if !changed {
            return Ok(None);
        }
        self.campaign_where(c.id).await
    }

    #[tracing::instrument(skip(self, event))]
    async fn move_campaign(
        &self,
        change: CampaignMove,
        event: NewEvent,
    ) -> Result<Option<Campaign>> {
        let moved = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(move_sql(&change))
                .bind(change.id.as_uuid())
                .bind(DbEnum(change.to))
                .bind(DbEnum(change.from))
                .bind(change.at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            commit_if_changed(tx, moved, &event, change.at).await
        })
        .or_unexpected()?;
        if !moved {
            return Ok(None);
        }
        self.campaign_where(change.id).await
    }

    #[tracing::instrument(skip(self))]
    async fn campaigns_of(
        &self,
        owner: UserId,
        status: Option<MarketingCampaignStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!(
                "SELECT {} FROM marketing_campaigns c WHERE c.deleted_at IS NULL AND c.owner_id = ",
                CAMPAIGN_READ_COLUMNS.as_str()
            ),
        );
        sql.uuid(owner.as_uuid());
        if let Some(status) = status {
            sql.push(" AND c.status = ").enum_value(status);
        }
        if let Some(cursor) = after {
            let (at, id): (Timestamp, Uuid) = cursor.decode()?;
            sql.push(" AND (c.created_at, c.id) < (");
            sql.bind(Arg::At(at)).push(", ").uuid(id).push(")");
        }
        sql.push(" ORDER BY c.created_at DESC, c.id DESC LIMIT ");
        sql.bind(Arg::Int(limit.probe()));
        let rows: Vec<CampaignRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, CampaignRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let items = rows
            .into_iter()
            .map(Campaign::try_from)
            .collect::<Result<Vec<_>>>()?;
        let page = Page::from_probe(items, limit, |c| (c.created_at, c.id.as_uuid()));
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn due_campaigns(&self, now: Timestamp, limit: Limit) -> Result<Vec<Campaign>> {
        let sql = format!(
            "SELECT {} FROM marketing_campaigns c WHERE c.deleted_at IS NULL AND \
             ((c.status = 'scheduled' AND c.starts_at <= $1) OR \
              (c.status IN ('active', 'paused') AND c.ends_at <= $1)) \
             ORDER BY c.id LIMIT $2",
            CAMPAIGN_READ_COLUMNS.as_str()
        );
        let rows: Vec<CampaignRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(now).bind(i64::from(limit.get())).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(Campaign::try_from).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn set_marketing_consent(
        &self,
        user: UserId,
        consent: bool,
        at: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO marketing_consents (user_id, direct_marketing, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET direct_marketing = excluded.direct_marketing, \
                 updated_at = excluded.updated_at",
            )
            .bind(user.as_uuid())
            .bind(consent)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .or_unexpected()?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn marketing_consent(&self, user: UserId) -> Result<bool> {
        let consent: Option<bool> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT direct_marketing FROM marketing_consents WHERE user_id = $1")
                .bind(user.as_uuid())
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(consent.unwrap_or(false))
    }

    #[tracing::instrument(skip(self, targeting))]
    async fn audience_size(&self, owner: UserId, targeting: &Targeting) -> Result<i64> {
        // `marketing_audience` holds exactly the enabled members who opted in, with their
        // single-valued traits (kept by the triggers of migration 20261209000400).
        let mut sql = SqlText::new(
            self.dialect(),
            "SELECT COUNT(*) FROM marketing_audience a WHERE a.user_id <> ",
        );
        sql.uuid(owner.as_uuid());
        any_of(
            &mut sql,
            " AND a.industry",
            targeting.industries.iter().cloned().map(Arg::Text),
        );
        any_of(
            &mut sql,
            " AND a.country_code",
            targeting.countries.iter().cloned().map(Arg::Text),
        );
        any_of(
            &mut sql,
            " AND a.city",
            targeting.cities.iter().cloned().map(Arg::Text),
        );
        any_enum(
            &mut sql,
            " AND a.verification_level",
            &targeting.verification_levels,
        );
        if !targeting.looking_for.is_empty() {
            sql.push(
                " AND EXISTS (SELECT 1 FROM business_profile_looking_for l WHERE l.user_id = a.user_id",
            );
            any_enum(&mut sql, " AND l.looking_for", &targeting.looking_for);
            sql.push(")");
        }
        if !targeting.topics.is_empty() {
            sql.push(" AND EXISTS (SELECT 1 FROM user_topic_follows f WHERE f.user_id = a.user_id");
            any_of(
                &mut sql,
                " AND f.topic_id",
                targeting.topics.iter().map(|t| Arg::Uuid(t.as_uuid())),
            );
            sql.push(")");
        }
        if let Some(degree) = targeting.connection_degree {
            // The owner is `$1` (bound first, above).
            let first = connections_of("$1");
            sql.push(&format!(" AND a.user_id IN (SELECT id FROM ({first}) f0"));
            if degree == 2 {
                sql.push(&format!(
                    " UNION SELECT CASE WHEN c.requester_id = f.id THEN c.addressee_id ELSE c.requester_id END \
                     FROM connections c JOIN ({first}) f ON c.requester_id = f.id OR c.addressee_id = f.id \
                     WHERE c.status = 'accepted'"
                ));
            }
            sql.push(")");
        }
        let n: i64 = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_scalar::<_, i64>(&sql.text), sql).fetch_one(pool).await
        })
        .or_unexpected()?;
        Ok(n)
    }

    #[tracing::instrument(skip(self, events, completed))]
    async fn ingest(
        &self,
        events: &[AdEvent],
        at: Timestamp,
        completed: &(dyn for<'c> Fn(&'c Campaign) -> NewEvent + Send + Sync),
    ) -> Result<IngestReport> {
        crate::marketing_ingest::ingest(self, events, at, completed).await
    }

    #[tracing::instrument(skip(self))]
    async fn stats(
        &self,
        campaign: CampaignId,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StatsBucket>> {
        let rows: Vec<(Timestamp, i64, i64, i64, i64)> = match granularity {
            Granularity::Hour => with_db!(&self.db, pool => {
                sqlx::query_as(
                    "SELECT hour, impressions, clicks, spend_amount, unbilled FROM marketing_campaign_hourly \
                     WHERE campaign_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour",
                )
                .bind(campaign.as_uuid())
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await
            })
            .or_unexpected()?,
            Granularity::Day => {
                let days: Vec<(NaiveDate, i64, i64, i64, i64)> = with_db!(&self.db, pool => {
                    sqlx::query_as(
                        "SELECT day, impressions, clicks, spend_amount, unbilled FROM marketing_campaign_metrics \
                         WHERE campaign_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
                    )
                    .bind(campaign.as_uuid())
                    .bind(from.date_naive())
                    .bind(to.date_naive() + chrono::Days::new(u64::from(to.time() != chrono::NaiveTime::MIN)))
                    .fetch_all(pool)
                    .await
                })
                .or_unexpected()?;
                days.into_iter()
                    .map(|(d, i, c, s, u)| (d.and_time(chrono::NaiveTime::MIN).and_utc(), i, c, s, u))
                    .collect()
            }
        };
        Ok(rows
            .into_iter()
            .map(
                |(start, impressions, clicks, spend, unbilled)| StatsBucket {
                    start,
                    impressions,
                    clicks,
                    spend,
                    unbilled,
                },
            )
            .collect())
    }

    #[tracing::instrument(skip(self))]
    async fn deliverable(&self, now: Timestamp) -> Result<Vec<Deliverable>> {
        type Row = (
            Uuid,
            Uuid,
            Uuid,
            DbEnum<MarketingBidModel>,
            i64,
            Option<i64>,
            Json<Targeting>,
            i64,
            i64,
            i64,
        );
        let rows: Vec<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT c.id, c.owner_id, c.promoted_post_id, c.bid_model, c.bid_amount, c.daily_budget_amount, \
                 c.targeting, COALESCE(m.spend_amount, 0), \
                 (SELECT CAST(COALESCE(SUM(t.impressions), 0) AS BIGINT) FROM marketing_campaign_metrics t WHERE t.campaign_id = c.id), \
                 (SELECT CAST(COALESCE(SUM(t.clicks), 0) AS BIGINT) FROM marketing_campaign_metrics t WHERE t.campaign_id = c.id) \
                 FROM marketing_campaigns c JOIN posts p ON p.id = c.promoted_post_id AND p.deleted_at IS NULL \
                 LEFT JOIN marketing_campaign_metrics m ON m.campaign_id = c.id AND m.day = $1 \
                 WHERE c.status = 'active' AND c.deleted_at IS NULL",
            )
            .bind(now.date_naive())
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    owner,
                    post,
                    model,
                    amount,
                    daily,
                    targeting,
                    day_spent,
                    impressions,
                    clicks,
                )| Deliverable {
                    candidate: Candidate {
                        campaign_id: CampaignId::from_uuid(id),
                        owner_id: UserId::from_uuid(owner),
                        post_id: PostId::from_uuid(post),
                        bid: Bid {
                            model: model.0,
                            amount,
                        },
                        daily_budget: daily,
                        day_spent,
                        impressions,
                        clicks,
                    },
                    targeting: targeting.0,
                },
            )
            .collect())
    }

    #[tracing::instrument(skip(self))]
    async fn audience_member(&self, viewer: UserId, now: Timestamp) -> Result<Option<ViewerFacts>> {
        type Traits = (
            DbEnum<VerificationLevel>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<bool>,
        );
        let v = viewer.as_uuid();
        let found = with_db!(&self.db, pool => {
            let traits: Option<Traits> = sqlx::query_as(
                "SELECT u.verification_level, bp.industry, bp.country_code, bp.city, mc.direct_marketing \
                 FROM users u LEFT JOIN business_profiles bp ON bp.user_id = u.id \
                 LEFT JOIN marketing_consents mc ON mc.user_id = u.id \
                 WHERE u.id = $1 AND u.disabled_at IS NULL",
            )
            .bind(v)
            .fetch_optional(pool)
            .await?;
            let Some(traits) = traits else { return Ok(None) };
            if traits.4 != Some(true) {
                return Ok(Some((traits, vec![], vec![], vec![])));
            }
            let looking_for: Vec<DbEnum<LookingFor>> =
                sqlx::query_scalar("SELECT looking_for FROM business_profile_looking_for WHERE user_id = $1")
                    .bind(v)
                    .fetch_all(pool)
                    .await?;
            let topics: Vec<Uuid> = sqlx::query_scalar("SELECT topic_id FROM user_topic_follows WHERE user_id = $1")
                .bind(v)
                .fetch_all(pool)
                .await?;
            let seen: Vec<(Uuid, i64)> = sqlx::query_as(
                "SELECT campaign_id, impressions FROM marketing_frequency WHERE viewer_id = $1 AND day = $2",
            )
            .bind(v)
            .bind(now.date_naive())
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(Some((traits, looking_for, topics, seen)))
        })
        .or_unexpected()?;
        let Some((traits, looking_for, topics, seen)) = found else {
            return Ok(None);
        };
        let (level, industry, country, city, consent) = traits;
        let member = AudienceMember {
            user_id: Some(viewer),
            industry,
            country,
            city,
            verification_level: Some(level.0),
            looking_for: looking_for.into_iter().map(|l| l.0).collect(),
            topics: topics.into_iter().map(TopicId::from_uuid).collect(),
            consented: consent == Some(true),
        };
        let seen = seen
            .into_iter()
            .map(|(c, n)| (CampaignId::from_uuid(c), n))
            .collect();
        Ok(Some((member, seen)))
    }

    #[tracing::instrument(skip(self, owners))]
    async fn connection_degrees(
        &self,
        viewer: UserId,
        owners: &[UserId],
    ) -> Result<BTreeMap<UserId, u8>> {
        if owners.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sql = self.degrees_sql(viewer, owners);
        let rows: Vec<(Uuid, i32)> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, (Uuid, i32)>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(closest(rows))
    }
}

/// The closest degree per owner of `(owner, degree)` rows.
fn closest(rows: Vec<(Uuid, i32)>) -> BTreeMap<UserId, u8> {
    let mut degrees = BTreeMap::new();
    for (owner, d) in rows {
        let d = u8::try_from(d).unwrap_or(2);
        degrees
            .entry(UserId::from_uuid(owner))
            .and_modify(|e: &mut u8| *e = (*e).min(d))
            .or_insert(d);
    }
    degrees
}

impl Store {
    /// `(owner, degree)` rows of `viewer`'s connections among `owners` (1) and of the owners
    /// connected to one of them (2); empty text for no owners.
    fn degrees_sql(&self, viewer: UserId, owners: &[UserId]) -> SqlText {
        let mut degrees_sql = SqlText::new(self.dialect(), "");
        if owners.is_empty() {
            return degrees_sql;
        }
        degrees_sql.uuid(viewer.as_uuid());
        let first = connections_of("$1");
        degrees_sql.text = format!("SELECT id, 1 FROM ({first}) f WHERE id IN (");
        let list = |sql: &mut SqlText| {
            for (i, o) in owners.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(o.as_uuid());
            }
        };
        list(&mut degrees_sql);
        degrees_sql.push(&format!(
            ") UNION ALL SELECT CASE WHEN c.requester_id IN (SELECT id FROM ({first}) f1) THEN c.addressee_id \
             ELSE c.requester_id END, 2 FROM connections c WHERE c.status = 'accepted' AND \
             ((c.requester_id IN (SELECT id FROM ({first}) f2) AND c.addressee_id IN ("
        ));
        list(&mut degrees_sql);
        degrees_sql.push(&format!(
            ")) OR (c.addressee_id IN (SELECT id FROM ({first}) f3) AND c.requester_id IN ("
        ));
        list(&mut degrees_sql);
        degrees_sql.push(")))");
        degrees_sql
    }
}
