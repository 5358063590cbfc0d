//! The deal flow (`InvestmentRepo::matches`): the caller's offers against others' requests and
//! the caller's requests against others' offers, in one statement per page. Each pair's
//! reasons are computed as 0/1 columns from the weights of
//! [`MatchReason`](vendrome_core::investments::MatchReason), the score is their weighted sum,
//! and the page is keyset-ordered on `(score DESC, own post, other post)`. Only the others'
//! live public posts, in the same currency, with no block between the two, are considered.

use uuid::Uuid;
use vendrome_core::enums::PostType;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::investments::{DealMatch, MatchReason};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{with_db, Store};

#[derive(sqlx::FromRow)]
struct MatchRow {
    own_id: Uuid,
    other_id: Uuid,
    other_type: DbEnum<PostType>,
    other_author: Uuid,
    other_title: String,
    industry_ok: i64,
    amount_ok: i64,
    stage_ok: i64,
    instrument_ok: i64,
    country_ok: i64,
    score: i64,
}

/// One side of the deal flow: the caller's posts of `own` (alias `o` for offers, `r` for
/// requests) against the others' of the other kind. `$1` is the caller.
fn side(own_is_offer: bool) -> String {
    let (own, other) = if own_is_offer { ("o", "r") } else { ("r", "o") };
    let flag = |condition: &str| format!("CAST(CASE WHEN {condition} THEN 1 ELSE 0 END AS BIGINT)");
    format!(
        "SELECT p{own}.id AS own_id, p{other}.id AS other_id, p{other}.post_type AS other_type, \
         p{other}.author_id AS other_author, {other}.title AS other_title, \
         {industry} AS industry_ok, {amount} AS amount_ok, {stage} AS stage_ok, \
         {instrument} AS instrument_ok, {country} AS country_ok \
         FROM post_investment_offers o JOIN post_investment_requests r ON r.currency = o.currency \
         JOIN posts po ON po.id = o.post_id AND po.deleted_at IS NULL \
         JOIN posts pr ON pr.id = r.post_id AND pr.deleted_at IS NULL \
         LEFT JOIN business_profiles bo ON bo.user_id = po.author_id \
         LEFT JOIN business_profiles br ON br.user_id = pr.author_id \
         WHERE p{own}.author_id = $1 AND p{other}.author_id <> $1 AND p{other}.visibility = 'public' \
         AND NOT EXISTS (SELECT 1 FROM user_blocks k WHERE (k.blocker_id = $1 AND k.blocked_id = p{other}.author_id) \
         OR (k.blocker_id = p{other}.author_id AND k.blocked_id = $1))",
        industry = flag("bo.industry IS NOT NULL AND bo.industry = br.industry"),
        amount = flag("r.amount_sought BETWEEN o.ticket_min_amount AND o.ticket_max_amount"),
        stage = flag("o.stage IS NULL OR o.stage = r.stage"),
        instrument = flag("o.instrument IS NULL OR o.instrument = r.instrument"),
        country = flag("bo.country_code IS NOT NULL AND bo.country_code = br.country_code"),
    )
}

fn weights() -> String {
    let w = |r: MatchReason| r.points();
    format!(
        "industry_ok * {} + amount_ok * {} + stage_ok * {} + instrument_ok * {} + country_ok * {}",
        w(MatchReason::Industry),
        w(MatchReason::Amount),
        w(MatchReason::Stage),
        w(MatchReason::Instrument),
        w(MatchReason::Country),
    )
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub(crate) async fn deal_matches(
        &self,
        viewer: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<DealMatch>, Option<Cursor>)> {
        let mut sql = SqlText::new(self.dialect(), "");
        // `$1`, the caller, is bound first and used throughout.
        sql.args.push(Arg::Uuid(viewer.as_uuid()));
        sql.push(&format!(
            "SELECT * FROM (SELECT pairs.*, CAST({} AS BIGINT) AS score FROM ({} UNION ALL {}) pairs) m \
             WHERE m.score > 0",
            weights(),
            side(true),
            side(false)
        ));
        if let Some(cursor) = after {
            let (score, own, other): (i64, Uuid, Uuid) = cursor.decode()?;
            sql.push(" AND (m.score < ").bind(Arg::Int(score));
            sql.push(" OR (m.score = ").bind(Arg::Int(score));
            sql.push(" AND (m.own_id, m.other_id) > (")
                .uuid(own)
                .push(", ")
                .uuid(other)
                .push(")))");
        }
        sql.push(" ORDER BY m.score DESC, m.own_id, m.other_id LIMIT ");
        sql.bind(Arg::Int(limit.probe()));
        let rows: Vec<MatchRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, MatchRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let items: Vec<DealMatch> = rows
            .into_iter()
            .map(|r| {
                let flags = [
                    r.industry_ok,
                    r.amount_ok,
                    r.stage_ok,
                    r.instrument_ok,
                    r.country_ok,
                ];
                let reasons = MatchReason::ALL
                    .into_iter()
                    .zip(flags)
                    .filter(|(_, on)| *on == 1)
                    .map(|(reason, _)| reason)
                    .collect();
                DealMatch {
                    own_post_id: PostId::from_uuid(r.own_id),
                    post_id: PostId::from_uuid(r.other_id),
                    post_type: r.other_type.0,
                    author_id: UserId::from_uuid(r.other_author),
                    title: r.other_title,
                    score: r.score,
                    reasons,
                }
            })
            .collect();
        let page = Page::from_probe(items, limit, |m| {
            (m.score, m.own_post_id.as_uuid(), m.post_id.as_uuid())
        });
        Ok((page.items, page.next_cursor))
    }
}
