//! The index's fields and how documents fill them.
//!
//! Text is analysed by `vendrome_core::search::analysis` before it reaches tantivy (which only
//! splits on spaces), so the index, the PostgreSQL path and the highlighter agree on every word.
//! Each kind of document has text fields of its own, so that a query reads the postings of the
//! kind it asks for and nothing else (and needs no kind filter):
//! - a post: its text and its topic tags, as one [`Text`];
//! - a profile or a topic: a *title* (a profile's name, handle, headline and company; a topic's
//!   name and slug) and a *body* (the rest of a profile; a topic's description).
//!
//! Each [`Text`] is kept twice: as stems (for BM25 and stemmed matches; with each stem, the terms
//! of the synonym groups it is in, see `groups.rs`) and as lower-case words (for typos and
//! prefixes). A post's words are also indexed by their first two and three
//! letters ([`PREFIX_LENGTHS`]), so that a short prefix, which begins hundreds of words, is one
//! term. Filter fields keep term frequencies, so that a filter term can join an intersection of
//! terms, which tantivy prunes by block maxima (see `query.rs`).

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, TantivyDocument};
use uuid::Uuid;
use vendrome_core::enums::{PostType, PostVisibility, VerificationLevel};
use vendrome_core::graph::Topic;
use vendrome_core::search::analysis::{lower_words, stems};
use vendrome_core::search::{boost, PostDoc, ProfileDoc, SearchKind};
use vendrome_core::SqlEnum as _;

use crate::{columns, groups};

/// The tokenizer of the words and prefix fields: text arrives already analysed. (The stems
/// fields' adds synonym groups: see `groups.rs`.)
pub const TOKENIZER: &str = "vendrome_words";
/// The tokenizer of filter fields: a value is one term.
const KEYWORD: &str = "raw";
/// The prefix lengths indexed as terms of their own (a post's `prefixes`).
pub const PREFIX_LENGTHS: std::ops::RangeInclusive<usize> = 2..=3;

/// One text of a document, as stems and as words.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub stems: Field,
    pub words: Field,
}

/// The fields, looked up once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `p:<post id>`, `u:<user id>` or `t:<slug>`.
    pub key: Field,
    /// `post`, `profile` or `topic`.
    pub kind: Field,
    /// A post's text and tags.
    pub post: Text,
    /// The first [`PREFIX_LENGTHS`] letters of each of a post's words (at least that long).
    pub post_prefixes: Field,
    /// A post's stems under its type ([`typed_stem`]), for every type but text (most posts):
    /// a query filtered by one of those types reads these postings, a few per cent of the
    /// stems', instead of intersecting the stems' with the type's.
    pub post_typed: Field,
    pub profile_title: Text,
    pub profile_body: Text,
    pub topic_title: Text,
    pub topic_body: Text,
    /// A post's author (for dropping an author's posts).
    pub author: Field,
    /// 1 for a post its author shows to their connections only (a fast field, with the author's
    /// id as two halves: a search checks visibility on the documents that can rank).
    pub connections_only: Field,
    pub author_id: [Field; 2],
    /// A post's or profile's id as two halves (a fast field: hits are read without the
    /// document store).
    pub id: [Field; 2],
    pub post_type: Field,
    /// Topic slugs of a post.
    pub topic: Field,
    pub industry: Field,
    pub country: Field,
    /// Lower case.
    pub city: Field,
    pub skill: Field,
    pub looking_for: Field,
    /// Every verification level up to a post author's: "this level or higher" is then one
    /// term.
    pub level: Field,
    /// The same of a profile's own level (a field of its own, so that a filter's share of this
    /// field is its share of profiles).
    pub profile_level: Field,
    /// Weighted engagement, connections or post count (see `vendrome_core::search::boost`).
    pub engagement: Field,
    /// Unix seconds of a post's creation; 0 for documents without recency.
    pub created: Field,
    /// The document's boost when it was indexed, in millionths: each segment keeps its
    /// documents in this order, highest first (see `index.rs`).
    pub rank: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let indexed = |tokenizer: &str, record: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(record),
            )
        };
        // Stems keep positions (synonyms of several words match as phrases), and get their
        // synonym groups' terms from their tokenizer.
        let stems = indexed(
            groups::tokenizer_name(),
            IndexRecordOption::WithFreqsAndPositions,
        );
        let words = indexed(TOKENIZER, IndexRecordOption::WithFreqs);
        let keyword = indexed(KEYWORD, IndexRecordOption::WithFreqs);
        let mut text = |name: &str| Text {
            stems: builder.add_text_field(&format!("{name}_stems"), stems.clone()),
            words: builder.add_text_field(&format!("{name}_words"), words.clone()),
        };
        let post = text("post");
        let profile_title = text("profile_title");
        let profile_body = text("profile_body");
        let topic_title = text("topic_title");
        let topic_body = text("topic_body");
        let fields = Fields {
            key: builder.add_text_field("key", STRING | STORED),
            kind: builder.add_text_field("kind", STRING),
            post,
            post_prefixes: builder.add_text_field("post_prefixes", words.clone()),
            post_typed: builder.add_text_field("post_typed_stems", stems.clone()),
            profile_title,
            profile_body,
            topic_title,
            topic_body,
            author: builder.add_text_field("author", keyword.clone()),
            connections_only: builder.add_u64_field(columns::CONNECTIONS_ONLY, FAST),
            author_id: columns::AUTHOR.map(|name| builder.add_u64_field(name, FAST)),
            id: columns::ID.map(|name| builder.add_u64_field(name, FAST)),
            post_type: builder.add_text_field("post_type", keyword.clone()),
            topic: builder.add_text_field("topic", keyword.clone()),
            industry: builder.add_text_field("industry", keyword.clone()),
            country: builder.add_text_field("country", keyword.clone()),
            city: builder.add_text_field("city", keyword.clone()),
            skill: builder.add_text_field("skill", keyword.clone()),
            looking_for: builder.add_text_field("looking_for", keyword.clone()),
            level: builder.add_text_field("level", keyword.clone()),
            profile_level: builder.add_text_field("profile_level", keyword),
            engagement: builder.add_i64_field(columns::ENGAGEMENT, FAST | INDEXED),
            created: builder.add_i64_field(columns::CREATED, FAST),
            rank: builder.add_u64_field(columns::RANK, FAST),
        };
        (builder.build(), fields)
    }

    /// Registers the tokenizers the fields name; every opened index needs them.
    pub fn register_tokenizers(index: &Index) {
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );
        index.tokenizers().register(
            groups::tokenizer_name(),
            TextAnalyzer::builder(groups::StemsTokenizer::default()).build(),
        );
    }

    /// The texts a query for `kind` matches, each with the weight of its matches.
    pub fn texts(&self, kind: SearchKind) -> Vec<(Text, f32)> {
        match kind {
            SearchKind::Posts => vec![(self.post, 1.0)],
            SearchKind::Profiles => {
                vec![(self.profile_title, TITLE_BOOST), (self.profile_body, 1.0)]
            }
            SearchKind::Topics => vec![(self.topic_title, TITLE_BOOST), (self.topic_body, 1.0)],
        }
    }

    fn add_text(doc: &mut TantivyDocument, text: Text, value: &str) {
        doc.add_text(text.stems, stems(value));
        doc.add_text(text.words, lower_words(value));
    }

    fn add_uuid(doc: &mut TantivyDocument, [high, low]: [Field; 2], id: Uuid) {
        let [h, l] = columns::halves(id);
        doc.add_u64(high, h);
        doc.add_u64(low, l);
    }

    fn add_levels(doc: &mut TantivyDocument, field: Field, level: VerificationLevel) {
        for at_most in VerificationLevel::ALL.iter().filter(|l| **l <= level) {
            doc.add_text(field, at_most.as_str());
        }
    }

    pub fn post(&self, post: &PostDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, post_key(&post.id.to_string()));
        doc.add_text(self.kind, kind_name(SearchKind::Posts));
        // Tags are words of the post too.
        let mut text = post.body.clone();
        for topic in &post.topics {
            doc.add_text(self.topic, topic);
            text.push(' ');
            text.push_str(topic);
        }
        let words = lower_words(&text);
        doc.add_text(self.post_prefixes, prefixes(&words));
        let stems = stems(&text);
        if is_typed(post.post_type) {
            let typed: Vec<String> = stems
                .split_whitespace()
                .map(|stem| typed_stem(post.post_type, stem))
                .collect();
            doc.add_text(self.post_typed, typed.join(" "));
        }
        doc.add_text(self.post.stems, stems);
        doc.add_text(self.post.words, words);
        doc.add_text(self.author, post.author_id.to_string());
        let connections_only = post.visibility == PostVisibility::Connections;
        doc.add_u64(self.connections_only, u64::from(connections_only));
        Self::add_uuid(&mut doc, self.author_id, post.author_id.into());
        Self::add_uuid(&mut doc, self.id, post.id.into());
        doc.add_text(self.post_type, post.post_type.as_str());
        Self::add_levels(&mut doc, self.level, post.author_level);
        doc.add_i64(self.engagement, post.engagement);
        doc.add_i64(self.created, post.created_at.timestamp().max(1));
        let age_days =
            (vendrome_core::time::now() - post.created_at).num_seconds() as f64 / 86_400.0;
        doc.add_u64(self.rank, rank(post.engagement, Some(age_days)));
        doc
    }

    pub fn profile(&self, profile: &ProfileDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, profile_key(&profile.user_id.to_string()));
        Self::add_uuid(&mut doc, self.id, profile.user_id.into());
        doc.add_text(self.kind, kind_name(SearchKind::Profiles));
        let title: Vec<&str> = [
            Some(profile.display_name.as_str()),
            profile.handle.as_deref(),
            profile.headline.as_deref(),
            profile.company.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        Self::add_text(&mut doc, self.profile_title, &title.join(" "));
        let mut body: Vec<&str> = [
            profile.job_title.as_deref(),
            profile.industry.as_deref(),
            profile.city.as_deref(),
            profile.about.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        body.extend(profile.skills.iter().map(String::as_str));
        Self::add_text(&mut doc, self.profile_body, &body.join(" "));
        for (field, value) in [
            (self.industry, &profile.industry),
            (self.country, &profile.country_code),
        ] {
            if let Some(value) = value {
                doc.add_text(field, value);
            }
        }
        if let Some(city) = &profile.city {
            doc.add_text(self.city, city.to_lowercase());
        }
        for skill in &profile.skills {
            doc.add_text(self.skill, skill);
        }
        for want in &profile.looking_for {
            doc.add_text(self.looking_for, want.as_str());
        }
        Self::add_levels(&mut doc, self.profile_level, profile.verification_level);
        doc.add_i64(self.engagement, profile.connections);
        doc.add_i64(self.created, 0);
        doc.add_u64(self.rank, rank(profile.connections, None));
        doc
    }

    pub fn topic(&self, topic: &Topic) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, topic_key(&topic.slug));
        doc.add_text(self.kind, kind_name(SearchKind::Topics));
        let title = format!("{} {}", topic.name, topic.slug);
        Self::add_text(&mut doc, self.topic_title, &title);
        Self::add_text(&mut doc, self.topic_body, &topic.description);
        doc.add_i64(self.engagement, topic.post_count);
        doc.add_i64(self.created, 0);
        doc.add_u64(self.rank, rank(topic.post_count, None));
        doc
    }
}

/// The term of `kind` in [`Fields::kind`].
pub fn kind_name(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Posts => "post",
        SearchKind::Profiles => "profile",
        SearchKind::Topics => "topic",
    }
}

/// Whether posts of `post_type` have their stems under it too ([`Fields::post_typed`]): every
/// type but text, which most posts are (a filter on it selects little).
pub fn is_typed(post_type: PostType) -> bool {
    post_type != PostType::Text
}

/// A stem of a post of `post_type`, as [`Fields::post_typed`] holds it.
pub fn typed_stem(post_type: PostType, stem: &str) -> String {
    format!("{}:{stem}", post_type.as_str())
}

/// A document's [`Fields::rank`]: its boost now, in millionths.
fn rank(engagement: i64, age_days: Option<f64>) -> u64 {
    (boost(engagement, age_days) * 1e6).round() as u64
}

/// How much more a title match weighs than a body match.
const TITLE_BOOST: f32 = 2.0;

/// The [`PREFIX_LENGTHS`] first letters of each word at least that long, space-separated.
fn prefixes(words: &str) -> String {
    let mut out = String::new();
    for word in words.split_whitespace() {
        let length = word.chars().count();
        for n in PREFIX_LENGTHS.filter(|n| *n <= length) {
            let end = word.char_indices().nth(n).map_or(word.len(), |(i, _)| i);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word[..end]);
        }
    }
    out
}

pub fn post_key(id: &str) -> String {
    format!("p:{id}")
}

pub fn profile_key(id: &str) -> String {
    format!("u:{id}")
}

pub fn topic_key(slug: &str) -> String {
    format!("t:{slug}")
}
