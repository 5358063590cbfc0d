//! The directory of mentors: enabled members whose profile looks for `mentees`, ranked by what
//! they share with the viewer (skills, and topics both follow), keyset-paginated on
//! `(overlap, id)`. The overlap is computed per page by two counting subqueries over the
//! skill and topic-follow primary keys; skills, formats and the mentor rating of the page's
//! members are read in one statement each.

use std::collections::HashMap;

use uuid::Uuid;
use vendrome_core::enums::MentorshipFormat;
use vendrome_core::ids::UserId;
use vendrome_core::mentorship::{MentorCard, MentorFilter};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::reviews::RatingSummary;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{with_db, Store};

#[derive(sqlx::FromRow)]
struct MentorRow {
    id: Uuid,
    display_name: String,
    handle: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    overlap: i64,
    rating_count: i64,
    rating_sum: i64,
    count_1: i64,
    count_2: i64,
    count_3: i64,
    count_4: i64,
    count_5: i64,
}

/// The members of `ids` and each one's values from `sql` (`user_id`, value), in value order.
async fn values_of<T>(store: &Store, sql: &str, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<T>>>
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    let mut text = SqlText::new(store.dialect(), sql);
    text.push(" WHERE user_id IN (NULL");
    for id in ids {
        text.push(", ").uuid(*id);
    }
    text.push(") ORDER BY user_id, 2");
    let rows: Vec<(Uuid, T)> = with_db!(store.db(), pool => {
        bind_args!(sqlx::query_as::<_, (Uuid, T)>(&text.text), text).fetch_all(pool).await
    })
    .or_unexpected()?;
    let mut by_member: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (id, value) in rows {
        by_member.entry(id).or_default().push(value);
    }
    Ok(by_member)
}

#[tracing::instrument(skip(store))]
pub(crate) async fn mentors(
    store: &Store,
    viewer: UserId,
    filter: &MentorFilter,
    after: Option<&Cursor>,
    limit: Limit,
) -> Result<(Vec<MentorCard>, Option<Cursor>)> {
    let me = viewer.as_uuid();
    let mut sql = SqlText::new(
        store.dialect(),
        "SELECT u.id, u.display_name, u.handle, bp.job_title, bp.industry, m.overlap, \
         COALESCE(rs.rating_count, 0) AS rating_count, COALESCE(rs.rating_sum, 0) AS rating_sum, \
         COALESCE(rs.count_1, 0) AS count_1, COALESCE(rs.count_2, 0) AS count_2, \
         COALESCE(rs.count_3, 0) AS count_3, COALESCE(rs.count_4, 0) AS count_4, \
         COALESCE(rs.count_5, 0) AS count_5 FROM (SELECT lf.user_id AS id, \
         (SELECT COUNT(*) FROM business_profile_skills s JOIN business_profile_skills v \
            ON v.skill = s.skill AND v.user_id = ",
    );
    sql.uuid(me);
    sql.push(
        " WHERE s.user_id = lf.user_id) + (SELECT COUNT(*) FROM user_topic_follows t \
         JOIN user_topic_follows w ON w.topic_id = t.topic_id AND w.user_id = ",
    );
    sql.uuid(me);
    sql.push(
        " WHERE t.user_id = lf.user_id) AS overlap \
         FROM business_profile_looking_for lf JOIN users mu ON mu.id = lf.user_id \
         WHERE lf.looking_for = ",
    );
    sql.enum_value(vendrome_core::enums::LookingFor::Mentees);
    sql.push(" AND mu.disabled_at IS NULL AND lf.user_id <> ");
    sql.uuid(me);
    sql.push(" AND NOT EXISTS (SELECT 1 FROM user_blocks k WHERE (k.blocker_id = lf.user_id AND k.blocked_id = ");
    sql.uuid(me);
    sql.push(") OR (k.blocked_id = lf.user_id AND k.blocker_id = ");
    sql.uuid(me);
    sql.push("))");
    if let Some(industry) = &filter.industry {
        sql.push(" AND EXISTS (SELECT 1 FROM business_profiles fi WHERE fi.user_id = lf.user_id AND fi.industry = ");
        sql.bind(Arg::Text(industry.clone())).push(")");
    }
    if let Some(skill) = &filter.skill {
        sql.push(" AND EXISTS (SELECT 1 FROM business_profile_skills fs WHERE fs.user_id = lf.user_id AND fs.skill = ");
        sql.bind(Arg::Text(skill.clone())).push(")");
    }
    if let Some(format) = filter.format {
        sql.push(
            " AND (NOT EXISTS (SELECT 1 FROM mentor_formats ff WHERE ff.user_id = lf.user_id) \
             OR EXISTS (SELECT 1 FROM mentor_formats ff WHERE ff.user_id = lf.user_id AND ff.format = ",
        );
        sql.enum_value(format).push("))");
    }
    sql.push(
        ") m JOIN users u ON u.id = m.id LEFT JOIN business_profiles bp ON bp.user_id = m.id \
         LEFT JOIN rating_stats rs ON rs.scope = ",
    );
    sql.enum_value(vendrome_core::enums::RatingScope::Mentor);
    sql.push(" AND rs.subject_id = m.id");
    if let Some(cursor) = after {
        let (overlap, id): (i64, Uuid) = cursor.decode()?;
        sql.push(" WHERE (m.overlap < ");
        sql.bind(Arg::Int(overlap));
        sql.push(" OR (m.overlap = ");
        sql.bind(Arg::Int(overlap));
        sql.push(" AND m.id < ").uuid(id).push("))");
    }
    sql.push(" ORDER BY m.overlap DESC, m.id DESC LIMIT ");
    sql.bind(Arg::Int(limit.probe()));
    let rows: Vec<MentorRow> = with_db!(store.db(), pool => {
        bind_args!(sqlx::query_as::<_, MentorRow>(&sql.text), sql).fetch_all(pool).await
    })
    .or_unexpected()?;
    let page = Page::from_probe(rows, limit, |r| (r.overlap, r.id));
    let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
    let mut skills: HashMap<Uuid, Vec<String>> = values_of(
        store,
        "SELECT user_id, skill FROM business_profile_skills",
        &ids,
    )
    .await?;
    let mut formats: HashMap<Uuid, Vec<DbEnum<MentorshipFormat>>> =
        values_of(store, "SELECT user_id, format FROM mentor_formats", &ids).await?;
    let cards = page
        .items
        .into_iter()
        .map(|r| MentorCard {
            user_id: UserId::from_uuid(r.id),
            display_name: r.display_name,
            handle: r.handle,
            headline: r.job_title,
            industry: r.industry,
            skills: skills.remove(&r.id).unwrap_or_default(),
            formats: formats
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.0)
                .collect(),
            overlap: r.overlap,
            rating: RatingSummary {
                count: r.rating_count,
                sum: r.rating_sum,
                histogram: [r.count_1, r.count_2, r.count_3, r.count_4, r.count_5],
            },
        })
        .collect();
    Ok((cards, page.next_cursor))
}
