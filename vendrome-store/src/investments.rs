//! [`InvestmentRepo`] on both databases: campaigns and commitments (the settlement's steps are
//! in `investment_settlement.rs`, the deal flow in `deal_matches.rs`).
//!
//! A commitment is reserved on its campaign in batches per campaign (`investment_reserve.rs`).
//! Campaign moves are compare-and-set on the status.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, PostType, VerificationLevel,
};
use vendrome_core::ids::{CommitmentId, InvestmentCampaignId, PostId, UserId};
use vendrome_core::investments::{
    Backer, Campaign, CampaignFilter, CampaignMove, CampaignSort, CommitOutcome, Commitment,
    CommitmentReview, CrowdfundingPost, DealMatch, InvestmentRepo, NewCampaign, NewCommitment,
    SettlementDecision,
};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::investment_reserve::{self, Reserve, Reserved};
use crate::investment_rows::{
    CampaignRow, CommitmentRow, CommitmentWrites as _, CAMPAIGN_FROM, COMMITMENT_COLUMNS,
};
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

fn gone() -> Error {
    Error::Unexpected(anyhow::anyhow!("a row written in this change is missing"))
}

impl Store {
    pub(crate) async fn commitment_where(
        &self,
        column: &str,
        id: Uuid,
        key: Option<&str>,
    ) -> Result<Option<Commitment>> {
        let sql = match key {
            None => format!("SELECT {COMMITMENT_COLUMNS} FROM investment_commitments WHERE {column} = $1"),
            Some(_) => format!(
                "SELECT {COMMITMENT_COLUMNS} FROM investment_commitments WHERE {column} = $1 AND idempotency_key = $2"
            ),
        };
        let row: Option<CommitmentRow> = with_db!(&self.db, pool => {
            let query = sqlx::query_as(&sql).bind(id);
            match key {
                Some(key) => query.bind(key).fetch_optional(pool).await,
                None => query.fetch_optional(pool).await,
            }
        })
        .or_unexpected()?;
        row.map(Commitment::try_from).transpose()
    }
}

#[async_trait]
impl InvestmentRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn crowdfunding_post(&self, post: PostId) -> Result<Option<CrowdfundingPost>> {
        type Row = (Uuid, String, Option<String>, DbEnum<InvestmentInstrument>);
        let row: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT p.author_id, f.title, f.reward_summary, f.instrument FROM posts p \
                 JOIN post_crowdfunding f ON f.post_id = p.id WHERE p.id = $1 AND p.deleted_at IS NULL",
            )
            .bind(post.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(
            row.map(|(author, title, summary, instrument)| CrowdfundingPost {
                post_id: post,
                author_id: UserId::from_uuid(author),
                title,
                summary: summary.unwrap_or_default(),
                instrument: instrument.0,
            }),
        )
    }

    #[tracing::instrument(skip(self))]
    async fn backer(&self, user: UserId) -> Result<Option<Backer>> {
        let row: Option<(DbEnum<VerificationLevel>, Option<String>)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT u.verification_level, bp.country_code FROM users u \
                 LEFT JOIN business_profiles bp ON bp.user_id = u.id \
                 WHERE u.id = $1 AND u.disabled_at IS NULL",
            )
            .bind(user.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(row.map(|(level, country)| Backer {
            user_id: user,
            level: level.0,
            country: country.map(|c| c.trim().to_owned()),
        }))
    }

    #[tracing::instrument(skip_all, fields(campaign = %c.id))]
    async fn create_campaign(&self, c: &NewCampaign) -> Result<Option<Campaign>> {
        let inserted = with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO investment_campaigns (id, owner_id, post_id, title, summary, instrument, status, \
                 currency, goal_amount, min_commitment_amount, max_commitment_amount, model, platform_fee_bps, \
                 closes_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
                 ON CONFLICT (post_id) DO NOTHING",
            )
            .bind(c.id.as_uuid())
            .bind(c.owner_id.as_uuid())
            .bind(c.post_id.as_uuid())
            .bind(&c.title)
            .bind(&c.summary)
            .bind(DbEnum(c.instrument))
            .bind(DbEnum(InvestmentCampaignStatus::Draft))
            .bind(c.goal.currency.as_str())
            .bind(c.goal.amount)
            .bind(c.min_commitment)
            .bind(c.max_commitment)
            .bind(DbEnum(c.model))
            .bind(i32::try_from(c.platform_fee_bps).unwrap_or(i32::MAX))
            .bind(c.deadline)
            .bind(c.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .or_unexpected()?
            == 1;
        if !inserted {
            return Ok(None);
        }
        self.campaign(c.id).await?.ok_or_else(gone).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn campaign(&self, id: InvestmentCampaignId) -> Result<Option<Campaign>> {
        let sql = format!("{CAMPAIGN_FROM} WHERE c.id = $1");
        let row: Option<CampaignRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(Campaign::try_from).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn move_campaign(&self, change: CampaignMove) -> Result<Option<Campaign>> {
        use InvestmentCampaignStatus as S;
        let extra = match (change.from, change.to) {
            (_, S::Live) => ", published_at = $4",
            // A draft has nothing to give back: settled at once.
            (S::Draft, S::Cancelled) => ", settlement = 'refund', settled_at = $4",
            (_, S::Cancelled) => ", settlement = 'refund'",
            _ => "",
        };
        let sql = format!(
            "UPDATE investment_campaigns SET status = $2, updated_at = $4{extra} \
             WHERE id = $1 AND status = $3 AND settlement IS NULL"
        );
        let moved = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(&sql)
                .bind(change.id.as_uuid())
                .bind(DbEnum(change.to))
                .bind(DbEnum(change.from))
                .bind(change.at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if moved && change.to == S::Cancelled {
                tx.cancel_unpaid(change.id, change.at).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(moved)
        })
        .or_unexpected()?;
        if !moved {
            return Ok(None);
        }
        self.campaign(change.id).await?.ok_or_else(gone).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn campaigns(
        &self,
        viewer: Option<UserId>,
        filter: &CampaignFilter,
        sort: CampaignSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)> {
        let mut sql = SqlText::new(self.dialect(), CAMPAIGN_FROM);
        sql.push(" WHERE (c.status <> 'draft'");
        if let Some(viewer) = viewer {
            sql.push(" OR c.owner_id = ").uuid(viewer.as_uuid());
        }
        sql.push(")");
        if let Some(status) = filter.status {
            sql.push(" AND c.status = ").enum_value(status);
        }
        if let Some(instrument) = filter.instrument {
            sql.push(" AND c.instrument = ").enum_value(instrument);
        }
        if let Some(industry) = &filter.industry {
            sql.push(" AND bp.industry = ")
                .bind(Arg::Text(industry.clone()));
        }
        if let Some(country) = &filter.country {
            sql.push(" AND bp.country_code = ")
                .bind(Arg::Text(country.clone()));
        }
        match (sort, after) {
            (CampaignSort::EndingSoon, Some(cursor)) => {
                let (at, id): (Timestamp, Uuid) = cursor.decode()?;
                sql.push(" AND (c.closes_at, c.id) > (")
                    .bind(Arg::At(at))
                    .push(", ")
                    .uuid(id)
                    .push(")");
            }
            (CampaignSort::MostFunded, Some(cursor)) => {
                let (raised, id): (i64, Uuid) = cursor.decode()?;
                sql.push(" AND (c.raised_amount, c.id) < (")
                    .bind(Arg::Int(raised))
                    .push(", ")
                    .uuid(id)
                    .push(")");
            }
            (CampaignSort::Newest, Some(cursor)) => {
                let (at, id): (Timestamp, Uuid) = cursor.decode()?;
                sql.push(" AND (c.created_at, c.id) < (")
                    .bind(Arg::At(at))
                    .push(", ")
                    .uuid(id)
                    .push(")");
            }
            (_, None) => {}
        }
        sql.push(match sort {
            CampaignSort::EndingSoon => " ORDER BY c.closes_at, c.id LIMIT ",
            CampaignSort::MostFunded => " ORDER BY c.raised_amount DESC, c.id DESC LIMIT ",
            CampaignSort::Newest => " ORDER BY c.created_at DESC, c.id DESC LIMIT ",
        });
        sql.bind(Arg::Int(limit.probe()));
        let rows: Vec<CampaignRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, CampaignRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let items = rows
            .into_iter()
            .map(Campaign::try_from)
            .collect::<Result<Vec<_>>>()?;
        let page = match sort {
            CampaignSort::EndingSoon => {
                Page::from_probe(items, limit, |c| serde_json::json!([c.deadline, c.id]))
            }
            CampaignSort::MostFunded => {
                Page::from_probe(items, limit, |c| serde_json::json!([c.raised_amount, c.id]))
            }
            CampaignSort::Newest => {
                Page::from_probe(items, limit, |c| serde_json::json!([c.created_at, c.id]))
            }
        };
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip_all, fields(commitment = %c.id, campaign = %c.campaign_id))]
    async fn commit(&self, c: &NewCommitment, cap: Option<i64>) -> Result<CommitOutcome> {
        let item = Reserve {
            commitment: c.clone(),
            cap,
        };
        let reserved = investment_reserve::reserve(&self.batches.reserves, &self.db, item)
            .await
            .or_unexpected()?;
        match reserved {
            Reserved::Inserted(row) => Ok(CommitOutcome::Created(Commitment::try_from(*row)?)),
            Reserved::Existing => self
                .commitment_where(
                    "investor_id",
                    c.investor_id.as_uuid(),
                    Some(&c.idempotency_key),
                )
                .await?
                .map(CommitOutcome::Existing)
                .ok_or_else(gone),
            Reserved::Full => Ok(CommitOutcome::Full),
            Reserved::Closed => Ok(CommitOutcome::Closed),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn commitment(&self, id: CommitmentId) -> Result<Option<Commitment>> {
        self.commitment_where("id", id.as_uuid(), None).await
    }

    #[tracing::instrument(skip(self))]
    async fn commitments_of(
        &self,
        investor: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Commitment>, Option<Cursor>)> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!(
                "SELECT {COMMITMENT_COLUMNS} FROM investment_commitments WHERE investor_id = "
            ),
        );
        sql.uuid(investor.as_uuid());
        if let Some(cursor) = after {
            let (at, id): (Timestamp, Uuid) = cursor.decode()?;
            sql.push(" AND (created_at, id) < (")
                .bind(Arg::At(at))
                .push(", ")
                .uuid(id)
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ");
        sql.bind(Arg::Int(limit.probe()));
        let rows: Vec<CommitmentRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, CommitmentRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let items = rows
            .into_iter()
            .map(Commitment::try_from)
            .collect::<Result<Vec<_>>>()?;
        let page = Page::from_probe(items, limit, |c| (c.created_at, c.id.as_uuid()));
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self, audit, context))]
    async fn review_commitment(
        &self,
        review: &CommitmentReview,
        audit: &NewAuditEvent,
        context: &AuditContext,
    ) -> Result<Option<Commitment>> {
        let to = if review.approve {
            CommitmentStatus::Pending
        } else {
            CommitmentStatus::Cancelled
        };
        let sql = format!(
            "UPDATE investment_commitments SET status = $2, review_reason = $3, reviewed_by = $4, \
             reviewed_at = $5, updated_at = $5 WHERE id = $1 AND status = 'pending_review' \
             RETURNING {COMMITMENT_COLUMNS}"
        );
        let row: Option<CommitmentRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<CommitmentRow> = sqlx::query_as(&sql)
                .bind(review.commitment_id.as_uuid())
                .bind(DbEnum(to))
                .bind(&review.reason)
                .bind(review.by.as_uuid())
                .bind(review.at)
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_none() {
                return Ok(None);
            }
            if !review.approve {
                // A rejection gives back the commitment's reserve.
                sqlx::query(
                    "UPDATE investment_campaigns SET reserved_amount = reserved_amount - \
                     (SELECT amount FROM investment_commitments WHERE id = $1), \
                     updated_at = $2 WHERE id = (SELECT campaign_id FROM investment_commitments WHERE id = $1)",
                )
                .bind(review.commitment_id.as_uuid())
                .bind(review.at)
                .execute(&mut *tx)
                .await?;
            }
            tx.record_audit(audit, context, review.at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        row.map(Commitment::try_from).transpose()
    }

    async fn claim_settlement(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
    ) -> Result<Option<Campaign>> {
        self.claim_due_campaign(now, lease).await
    }

    async fn decide_settlement(&self, decision: &SettlementDecision) -> Result<bool> {
        self.write_decision(decision).await
    }

    async fn refunds_due(
        &self,
        campaign: InvestmentCampaignId,
        limit: u32,
    ) -> Result<Vec<Commitment>> {
        self.unrefunded(campaign, limit).await
    }

    async fn finish_settlement(&self, campaign: InvestmentCampaignId, at: Timestamp) -> Result<()> {
        self.stamp_settled(campaign, at).await
    }

    #[tracing::instrument(skip(self))]
    async fn deal_post(&self, post: PostId, kind: PostType) -> Result<Option<UserId>> {
        let author: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT author_id FROM posts WHERE id = $1 AND post_type = $2 AND deleted_at IS NULL \
                 AND visibility = 'public'",
            )
            .bind(post.as_uuid())
            .bind(DbEnum(kind))
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(author.map(UserId::from_uuid))
    }

    async fn matches(
        &self,
        viewer: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<DealMatch>, Option<Cursor>)> {
        self.deal_matches(viewer, after, limit).await
    }
}
