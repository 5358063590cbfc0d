//! A post's attachments (product photos, a pitch video, a deck): references to files kept
//! elsewhere (a CDN or object store), validated here and stored as a JSON list on the post.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// What an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Document,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MediaItem {
    /// An `https://` URL, at most 2,048 characters.
    pub url: String,
    pub kind: MediaKind,
    /// Pixels, 1 to 20,000 (images and videos).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Alternative text for screen readers, at most 300 characters.
    pub alt: Option<String>,
}

/// A post's attachments, in display order: at most [`Media::MAX`] valid items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Media(Vec<MediaItem>);

impl Media {
    pub const MAX: usize = 10;
    const MAX_URL: usize = 2048;
    const MAX_ALT: usize = 300;
    const MAX_PIXELS: u32 = 20_000;

    /// Checks every item; errors are named `<index>.<field>` (the caller prefixes `media`).
    /// A list over [`Media::MAX`] is refused before any item is looked at.
    pub fn parse(items: Vec<MediaItem>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if items.len() > Self::MAX {
            errors.add(
                "value",
                "too_many",
                format!("at most {} attachments", Self::MAX),
            );
            return Err(errors);
        }
        for (i, item) in items.iter().enumerate() {
            let url_ok = item.url.chars().count() <= Self::MAX_URL
                && item
                    .url
                    .strip_prefix("https://")
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
            if !url_ok {
                errors.add(
                    &format!("{i}.url"),
                    "invalid_format",
                    "must be an https:// URL of at most 2,048 characters",
                );
            }
            for (field, value) in [("width", item.width), ("height", item.height)] {
                if value.is_some_and(|v| v == 0 || v > Self::MAX_PIXELS) {
                    errors.add(
                        &format!("{i}.{field}"),
                        "out_of_range",
                        "must be between 1 and 20,000",
                    );
                }
            }
            if item
                .alt
                .as_ref()
                .is_some_and(|a| a.chars().count() > Self::MAX_ALT)
            {
                errors.add(
                    &format!("{i}.alt"),
                    "invalid_length",
                    "must be at most 300 characters",
                );
            }
        }
        errors.into_result()?;
        Ok(Self(items))
    }

    pub fn items(&self) -> &[MediaItem] {
        &self.0
    }

    pub fn into_items(self) -> Vec<MediaItem> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(url: &str) -> MediaItem {
        MediaItem {
            url: url.into(),
            kind: MediaKind::Image,
            width: Some(800),
            height: Some(600),
            alt: None,
        }
    }

    #[test]
    fn urls_sizes_and_counts_are_checked() {
        assert!(Media::parse(vec![image("https://cdn.example.com/a.jpg")]).is_ok());
        let mut bad = image("http://cdn.example.com/a.jpg");
        bad.width = Some(0);
        bad.alt = Some("x".repeat(301));
        let err = Media::parse(vec![image("https://ok.example/x.png"), bad]).unwrap_err();
        let fields: Vec<&String> = err.fields().keys().collect();
        assert_eq!(fields, ["1.alt", "1.url", "1.width"]);
        let err = Media::parse(vec![image("https://a.example/x"); 11]).unwrap_err();
        assert!(err.fields().contains_key("value"));
    }
}
