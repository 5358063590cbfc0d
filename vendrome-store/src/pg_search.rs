//! The PostgreSQL full-text query path: a [`SearchEngine`] answering from the tables themselves
//! (`tsvector` + `pg_trgm`), for operators who prefer no local index. Same matching rules as the
//! embedded index as far as PostgreSQL can follow them: every query word must match, by its
//! English stem (`to_tsquery('english', …)`), by a synonym, as a prefix (the last word,
//! `word:*`), or — for words long enough to allow typos — by trigram word similarity
//! (`<%`, 0.5 for one typo, 0.4 for two). Words PostgreSQL's stop list drops are left out.
//! Ranking is `ts_rank` (titles weighted A, bodies B) times `vendrome_core::search::boost`.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::profiles::levels_from;
use vendrome_core::search::analysis::{is_stop_word, QueryTerm};
use vendrome_core::search::{Audience, Hit, SearchEngine, SearchKind, SearchQuery};
use vendrome_core::{Error, Result};

use crate::db::Db;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{Dialect, Store};

/// How long one search statement may run before PostgreSQL cancels it (answered 503
/// `search_timeout`).
pub const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Searches with PostgreSQL's full-text search; the store must be on PostgreSQL.
#[derive(Clone)]
pub struct PgSearch {
    store: Store,
    timeout: std::time::Duration,
}

impl PgSearch {
    /// MUST return an error when `store` is not on PostgreSQL.
    pub fn new(store: Store) -> anyhow::Result<Self> {
        if store.dialect() != Dialect::Postgres {
            anyhow::bail!("the PostgreSQL search path needs a PostgreSQL database");
        }
        Ok(Self {
            store,
            timeout: STATEMENT_TIMEOUT,
        })
    }

    /// Another statement timeout than [`STATEMENT_TIMEOUT`].
    pub fn with_statement_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// One term as a `tsquery` text: its word (prefix-matched when last) or any synonym phrase.
fn ts_term(term: &QueryTerm) -> String {
    let mut alternatives = vec![if term.prefix {
        format!("{}:*", term.word)
    } else {
        term.word.clone()
    }];
    alternatives.extend(term.synonyms.iter().map(|phrase| phrase.join(" <-> ")));
    format!("({})", alternatives.join(" | "))
}

fn similarity(typos: u8) -> &'static str {
    if typos >= 2 {
        "0.4"
    } else {
        "0.5"
    }
}

struct Shape {
    /// The document's `tsvector` (weighted) and its plain text (for trigrams).
    vector: &'static str,
    text: &'static str,
    boost: &'static str,
}

fn shape(kind: SearchKind) -> Shape {
    match kind {
        SearchKind::Posts => Shape {
            vector: "p.body_tsv",
            text: "p.body",
            boost: "(1 + 0.1 * ln(1 + GREATEST(p.reaction_count + 3 * p.comment_count + 4 * p.repost_count + 5 * p.share_count, 0))) \
                    * (0.5 + 0.5 * power(2, -GREATEST(EXTRACT(EPOCH FROM ($1::timestamptz - p.created_at)), 0) / 86400.0 / 30.0))",
        },
        // Each member's document is kept in `profile_search` by triggers (its migration says
        // what it holds), indexed like the posts' vectors.
        SearchKind::Profiles => Shape {
            vector: "ps.document",
            text: "ps.body",
            boost: "(1 + 0.1 * ln(1 + COALESCE(bp.connection_count, 0)))",
        },
        SearchKind::Topics => Shape {
            vector: "(setweight(to_tsvector('english', t.name || ' ' || t.slug), 'A') || setweight(to_tsvector('english', t.description), 'B'))",
            text: "(t.name || ' ' || t.slug || ' ' || t.description)",
            boost: "(1 + 0.1 * ln(1 + t.post_count))",
        },
    }
}

fn build(query: &SearchQuery) -> Option<SqlText> {
    let terms: Vec<&QueryTerm> = query
        .terms
        .iter()
        .filter(|t| !is_stop_word(&t.word))
        .collect();
    if terms.is_empty() {
        return None;
    }
    let shape = shape(query.kind);
    let rank_query = terms
        .iter()
        .map(|t| ts_term(t))
        .collect::<Vec<_>>()
        .join(" | ");
    let mut sql = SqlText::new(Dialect::Postgres, "SELECT ");
    let (id, from) = match query.kind {
        SearchKind::Posts => (
            "p.id::text",
            " FROM posts p JOIN users u ON u.id = p.author_id WHERE p.deleted_at IS NULL AND u.disabled_at IS NULL",
        ),
        SearchKind::Profiles => (
            "u.id::text",
            " FROM users u JOIN profile_search ps ON ps.user_id = u.id \
              LEFT JOIN business_profiles bp ON bp.user_id = u.id WHERE u.disabled_at IS NULL",
        ),
        SearchKind::Topics => ("t.slug", " FROM topics t WHERE TRUE"),
    };
    // $1 is the moment recency counts from (the posts' boost uses it).
    sql.args.push(Arg::At(query.now));
    sql.push(id)
        .push(", ((ts_rank(")
        .push(shape.vector)
        .push(", to_tsquery('english', ");
    sql.bind(Arg::Text(rank_query));
    sql.push(")) + 0.01) * ")
        .push(shape.boost)
        .push(")::float4 AS score")
        .push(from);
    for term in &terms {
        sql.push(" AND (")
            .push(shape.vector)
            .push(" @@ to_tsquery('english', ");
        sql.bind(Arg::Text(ts_term(term))).push(")");
        if term.typos > 0 {
            sql.push(" OR (");
            sql.bind(Arg::Text(term.word.clone()))
                .push(" <% ")
                .push(shape.text)
                .push(" AND word_similarity(");
            sql.bind(Arg::Text(term.word.clone()))
                .push(", ")
                .push(shape.text)
                .push(") >= ")
                .push(similarity(term.typos))
                .push(")");
        }
        sql.push(")");
    }
    filters(&mut sql, query);
    sql.push(" ORDER BY score DESC, 1 DESC LIMIT ")
        .bind(Arg::Int(i64::from(query.limit)))
        .push(" OFFSET ")
        .bind(Arg::Int(i64::from(query.offset)));
    Some(sql)
}

fn filters(sql: &mut SqlText, query: &SearchQuery) {
    let f = &query.filters;
    let levels = |sql: &mut SqlText, column: &str| {
        if let Some(min) = f.min_verification {
            sql.push(" AND ").push(column).push(" IN (");
            for (i, level) in levels_from(min).into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.enum_value(level);
            }
            sql.push(")");
        }
    };
    match query.kind {
        SearchKind::Posts => {
            if let Some(post_type) = f.post_type {
                sql.push(" AND p.post_type = ").enum_value(post_type);
            }
            if let Some(topic) = &f.topic {
                sql.push(" AND EXISTS (SELECT 1 FROM post_topics pt JOIN topics tp ON tp.id = pt.topic_id WHERE pt.post_id = p.id AND tp.slug = ")
                    .bind(Arg::Text(topic.clone()))
                    .push(")");
            }
            levels(sql, "u.verification_level");
            sql.push(" AND (p.visibility = 'public'");
            if let Audience::Member(authors) = &query.audience {
                sql.push(" OR p.author_id IN (NULL");
                for author in authors {
                    sql.push(", ").uuid(author.as_uuid());
                }
                sql.push(")");
            }
            sql.push(")");
        }
        SearchKind::Profiles => {
            for (column, value) in [
                ("bp.industry", &f.industry),
                ("bp.country_code", &f.country_code),
            ] {
                if let Some(value) = value {
                    sql.push(" AND ")
                        .push(column)
                        .push(" = ")
                        .bind(Arg::Text(value.clone()));
                }
            }
            if let Some(city) = &f.city {
                sql.push(" AND lower(bp.city) = ")
                    .bind(Arg::Text(city.to_lowercase()));
            }
            if let Some(skill) = &f.skill {
                sql.push(" AND EXISTS (SELECT 1 FROM business_profile_skills s WHERE s.user_id = u.id AND s.skill = ")
                    .bind(Arg::Text(skill.clone()))
                    .push(")");
            }
            if let Some(want) = f.looking_for {
                sql.push(" AND EXISTS (SELECT 1 FROM business_profile_looking_for l WHERE l.user_id = u.id AND l.looking_for = ")
                    .enum_value(want)
                    .push(")");
            }
            levels(sql, "u.verification_level");
        }
        SearchKind::Topics => {}
    }
}

#[async_trait]
impl SearchEngine for PgSearch {
    async fn search(&self, query: &SearchQuery) -> Result<Vec<(Hit, f32)>> {
        let Some(sql) = build(query) else {
            return Ok(Vec::new());
        };
        let Db::Postgres(pool) = &self.store.db else {
            return Err(Error::Unexpected(anyhow::anyhow!(
                "the PostgreSQL search path needs a PostgreSQL database"
            )));
        };
        let rows: Vec<(String, f32)> = async {
            let mut tx = pool.begin().await?;
            // The index finds candidates at the loosest threshold; each term rechecks its own.
            // A search that would scan too much ends instead of holding a connection.
            sqlx::query(&format!(
                "SET LOCAL statement_timeout = {}",
                self.timeout.as_millis().max(1)
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.4', true)")
                .execute(&mut *tx)
                .await?;
            let rows = bind_args!(sqlx::query_as::<_, (String, f32)>(&sql.text), sql)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        }
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                Error::Unavailable {
                    code: "search_timeout",
                    message: "the search took too long; add words or filters".into(),
                }
            }
            _ => Error::Unexpected(error.into()),
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, score)| {
                let hit = match query.kind {
                    SearchKind::Posts => Hit::Post(PostId::from_uuid(key.parse::<Uuid>().ok()?)),
                    SearchKind::Profiles => {
                        Hit::Profile(UserId::from_uuid(key.parse::<Uuid>().ok()?))
                    }
                    SearchKind::Topics => Hit::Topic(key),
                };
                Some((hit, score))
            })
            .collect())
    }
}
