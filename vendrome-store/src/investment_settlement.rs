//! The settlement of campaigns, safe on several instances: a settler leases one due campaign
//! at a time (`settle_lease_until`; `FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
//! statement on SQLite), the decision is a compare-and-set on the campaign's status that only
//! an undecided campaign passes, and the release's posting is keyed by the campaign, so a
//! campaign is released or refunded once whoever settles it.

use uuid::Uuid;
use vendrome_core::enums::InvestmentSettlement;
use vendrome_core::ids::InvestmentCampaignId;
use vendrome_core::investments::{Campaign, Commitment, SettlementDecision};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::investment_rows::{CommitmentRow, CommitmentWrites as _, COMMITMENT_COLUMNS};
use crate::ledger::LedgerWrites as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Dialect, Store};

/// Campaigns that need their settlement: past the deadline and undecided, or decided for a
/// refund not finished; not leased to another settler.
const DUE: &str =
    "settled_at IS NULL AND status <> 'draft' AND (closes_at <= $1 OR settlement IS NOT NULL) \
    AND (settle_lease_until IS NULL OR settle_lease_until <= $1)";

fn claim_sql(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "UPDATE investment_campaigns SET settle_lease_until = $2 WHERE id = \
             (SELECT id FROM investment_campaigns WHERE {DUE} ORDER BY closes_at, id LIMIT 1 \
             FOR UPDATE SKIP LOCKED) RETURNING id"
        ),
        Dialect::Sqlite => format!(
            "UPDATE investment_campaigns SET settle_lease_until = $2 WHERE id = \
             (SELECT id FROM investment_campaigns WHERE {DUE} ORDER BY closes_at, id LIMIT 1) RETURNING id"
        ),
    }
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub(crate) async fn claim_due_campaign(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
    ) -> Result<Option<Campaign>> {
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let sql = claim_sql(self.dialect());
        let id: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(&sql).bind(now).bind(until).fetch_optional(pool).await
        })
        .or_unexpected()?;
        match id {
            Some(id) => {
                vendrome_core::investments::InvestmentRepo::campaign(
                    self,
                    InvestmentCampaignId::from_uuid(id),
                )
                .await
            }
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(campaign = %d.campaign_id))]
    pub(crate) async fn write_decision(&self, d: &SettlementDecision) -> Result<bool> {
        // A release is finished by its own transaction; a refund when every refund is made.
        let settled_at = (d.settlement == InvestmentSettlement::Release).then_some(d.at);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let decided = sqlx::query(
                "UPDATE investment_campaigns SET status = $2, settlement = $3, settled_at = $4, updated_at = $5 \
                 WHERE id = $1 AND status = $6 AND settlement IS NULL",
            )
            .bind(d.campaign_id.as_uuid())
            .bind(DbEnum(d.to))
            .bind(DbEnum(d.settlement))
            .bind(settled_at)
            .bind(d.at)
            .bind(DbEnum(d.from))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !decided {
                return Ok(false);
            }
            tx.cancel_unpaid(d.campaign_id, d.at).await?;
            if let Some(posting) = &d.release {
                tx.write_posting(posting, d.at).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    pub(crate) async fn unrefunded(
        &self,
        campaign: InvestmentCampaignId,
        limit: u32,
    ) -> Result<Vec<Commitment>> {
        let sql = format!(
            "SELECT {COMMITMENT_COLUMNS} FROM investment_commitments c WHERE c.campaign_id = $1 \
             AND c.status = 'confirmed' AND NOT EXISTS (SELECT 1 FROM payment_transactions p \
             WHERE p.commitment_id = c.id AND p.kind = 'refund' AND p.status NOT IN ('failed', 'cancelled')) \
             ORDER BY c.created_at, c.id LIMIT $2"
        );
        let rows: Vec<CommitmentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(campaign.as_uuid()).bind(i64::from(limit)).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(Commitment::try_from).collect()
    }

    #[tracing::instrument(skip(self))]
    pub(crate) async fn stamp_settled(
        &self,
        campaign: InvestmentCampaignId,
        at: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE investment_campaigns SET settled_at = $2, settle_lease_until = NULL, updated_at = $2 \
                 WHERE id = $1 AND settled_at IS NULL",
            )
            .bind(campaign.as_uuid())
            .bind(at)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }
}
