//! The index's fields and how documents fill them.
//!
//! Text is analysed by `vendrome_core::search::analysis` before it reaches tantivy (which only
//! splits on spaces), so the index, the PostgreSQL path and the highlighter agree on every word.
//! Each document has a *title* (a profile's name, handle, headline and company; a topic's name
//! and slug) and a *body* (a post's text; the rest of a profile; a topic's description), each
//! twice: as stems (for BM25 and stemmed matches) and as lower-case words (for typos and
//! prefixes).

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, TantivyDocument};
use vendrome_core::graph::Topic;
use vendrome_core::search::analysis::{lower_words, stems};
use vendrome_core::search::{PostDoc, ProfileDoc};
use vendrome_core::SqlEnum as _;

/// The tokenizer of every text field: text arrives already analysed.
pub const TOKENIZER: &str = "vendrome_words";

/// The fields, looked up once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `p:<post id>`, `u:<user id>` or `t:<slug>`.
    pub key: Field,
    /// `post`, `profile` or `topic`.
    pub kind: Field,
    pub title_stems: Field,
    pub title_words: Field,
    pub body_stems: Field,
    pub body_words: Field,
    /// A post's author (for visibility and for dropping an author's posts).
    pub author: Field,
    pub visibility: Field,
    pub post_type: Field,
    /// Topic slugs of a post.
    pub topic: Field,
    pub industry: Field,
    pub country: Field,
    /// Lower case.
    pub city: Field,
    pub skill: Field,
    pub looking_for: Field,
    /// A profile's level, or a post author's.
    pub level: Field,
    /// Weighted engagement, connections or post count (see `vendrome_core::search::boost`).
    pub engagement: Field,
    /// Unix seconds of a post's creation; 0 for documents without recency.
    pub created: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text = |positions: bool| {
            let record = if positions {
                IndexRecordOption::WithFreqsAndPositions
            } else {
                IndexRecordOption::WithFreqs
            };
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(record),
            )
        };
        let fields = Fields {
            key: builder.add_text_field("key", STRING | STORED),
            kind: builder.add_text_field("kind", STRING),
            title_stems: builder.add_text_field("title_stems", text(true)),
            title_words: builder.add_text_field("title_words", text(false)),
            body_stems: builder.add_text_field("body_stems", text(true)),
            body_words: builder.add_text_field("body_words", text(false)),
            author: builder.add_text_field("author", STRING),
            visibility: builder.add_text_field("visibility", STRING),
            post_type: builder.add_text_field("post_type", STRING),
            topic: builder.add_text_field("topic", STRING),
            industry: builder.add_text_field("industry", STRING),
            country: builder.add_text_field("country", STRING),
            city: builder.add_text_field("city", STRING),
            skill: builder.add_text_field("skill", STRING),
            looking_for: builder.add_text_field("looking_for", STRING),
            level: builder.add_text_field("level", STRING),
            engagement: builder.add_i64_field("engagement", FAST | INDEXED),
            created: builder.add_i64_field("created", FAST),
        };
        (builder.build(), fields)
    }

    /// Registers the tokenizer the fields name; every opened index needs it.
    pub fn register_tokenizer(index: &Index) {
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );
    }

    pub fn post(&self, post: &PostDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, post_key(&post.id.to_string()));
        doc.add_text(self.kind, "post");
        doc.add_text(self.body_stems, stems(&post.body));
        doc.add_text(self.body_words, lower_words(&post.body));
        doc.add_text(self.author, post.author_id.to_string());
        doc.add_text(self.visibility, post.visibility.as_str());
        doc.add_text(self.post_type, post.post_type.as_str());
        for topic in &post.topics {
            doc.add_text(self.topic, topic);
            // Tags are words of the post too.
            doc.add_text(self.title_stems, stems(topic));
            doc.add_text(self.title_words, lower_words(topic));
        }
        doc.add_text(self.level, post.author_level.as_str());
        doc.add_i64(self.engagement, post.engagement);
        doc.add_i64(self.created, post.created_at.timestamp().max(1));
        doc
    }

    pub fn profile(&self, profile: &ProfileDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, profile_key(&profile.user_id.to_string()));
        doc.add_text(self.kind, "profile");
        let title: Vec<&str> = [
            Some(profile.display_name.as_str()),
            profile.handle.as_deref(),
            profile.headline.as_deref(),
            profile.company.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let title = title.join(" ");
        doc.add_text(self.title_stems, stems(&title));
        doc.add_text(self.title_words, lower_words(&title));
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
        let body = body.join(" ");
        doc.add_text(self.body_stems, stems(&body));
        doc.add_text(self.body_words, lower_words(&body));
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
        doc.add_text(self.level, profile.verification_level.as_str());
        doc.add_i64(self.engagement, profile.connections);
        doc.add_i64(self.created, 0);
        doc
    }

    pub fn topic(&self, topic: &Topic) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, topic_key(&topic.slug));
        doc.add_text(self.kind, "topic");
        let title = format!("{} {}", topic.name, topic.slug);
        doc.add_text(self.title_stems, stems(&title));
        doc.add_text(self.title_words, lower_words(&title));
        doc.add_text(self.body_stems, stems(&topic.description));
        doc.add_text(self.body_words, lower_words(&topic.description));
        doc.add_i64(self.engagement, topic.post_count);
        doc.add_i64(self.created, 0);
        doc
    }
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
