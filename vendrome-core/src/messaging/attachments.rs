//! What a message carries besides its text: attachments (a contract, a photo) as references to
//! files kept elsewhere, and the content type that holds text and attachments together.

use serde::{Deserialize, Serialize};

use super::MessageBody;
use crate::validation::ValidationErrors;

/// One attached file: where it is, what it is, how big.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// An `https://` URL, at most 2,048 characters.
    pub url: String,
    /// `type/subtype`, such as `application/pdf` or `image/png`.
    pub mime_type: String,
    /// 1 byte to 100 MiB.
    pub size_bytes: u64,
    /// The file's name as shown, at most 255 characters.
    pub name: Option<String>,
}

impl Attachment {
    pub const MAX_PER_MESSAGE: usize = 10;
    pub const MAX_SIZE: u64 = 100 * 1024 * 1024;
    const MAX_URL: usize = 2048;
    const MAX_NAME: usize = 255;

    /// The broken rules of this attachment, named `<field>`.
    fn check(&self, prefix: &str, errors: &mut ValidationErrors) {
        let url_ok = self.url.chars().count() <= Self::MAX_URL
            && self
                .url
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        if !url_ok {
            errors.add(
                &format!("{prefix}.url"),
                "invalid_format",
                "must be an https:// URL of at most 2,048 characters",
            );
        }
        if !is_mime_type(&self.mime_type) {
            errors.add(
                &format!("{prefix}.mime_type"),
                "invalid_format",
                "must be a MIME type such as application/pdf",
            );
        }
        if self.size_bytes == 0 || self.size_bytes > Self::MAX_SIZE {
            errors.add(
                &format!("{prefix}.size_bytes"),
                "out_of_range",
                "must be between 1 byte and 100 MiB",
            );
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() || name.chars().count() > Self::MAX_NAME {
                errors.add(
                    &format!("{prefix}.name"),
                    "invalid_length",
                    "must be 1 to 255 characters",
                );
            }
        }
    }
}

/// `type/subtype` in RFC 6838's restricted-name characters, parameters not allowed.
fn is_mime_type(raw: &str) -> bool {
    let name = |part: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    matches!(raw.split_once('/'), Some((kind, sub)) if name(kind) && name(sub))
}

/// A message's content: text, attachments, or both, never neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent {
    body: String,
    attachments: Vec<Attachment>,
}

impl MessageContent {
    /// Checks text and attachments together: the text may be empty only when something is
    /// attached. Errors are named `body` and `attachments.<index>.<field>`.
    pub fn parse(body: &str, attachments: Vec<Attachment>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let text = body.trim();
        if text.is_empty() && attachments.is_empty() {
            errors.add("body", "required", "a message needs text or an attachment");
        } else if !text.is_empty() {
            errors.check("body", MessageBody::parse(body));
        }
        if attachments.len() > Attachment::MAX_PER_MESSAGE {
            errors.add(
                "attachments",
                "too_many",
                format!("at most {} attachments", Attachment::MAX_PER_MESSAGE),
            );
            // Over the bound: the items are not looked at.
            return Err(errors);
        }
        for (i, attachment) in attachments.iter().enumerate() {
            attachment.check(&format!("attachments.{i}"), &mut errors);
        }
        errors.into_result()?;
        Ok(Self {
            body: text.to_owned(),
            attachments,
        })
    }

    pub fn body(&self) -> &str {
        &self.body
    }

    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }
}

impl From<MessageBody> for MessageContent {
    fn from(body: MessageBody) -> Self {
        Self {
            body: body.as_str().to_owned(),
            attachments: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf() -> Attachment {
        Attachment {
            url: "https://files.example.com/terms.pdf".into(),
            mime_type: "application/pdf".into(),
            size_bytes: 48_213,
            name: Some("terms.pdf".into()),
        }
    }

    #[test]
    fn text_or_attachments_but_not_neither() {
        assert!(MessageContent::parse("hello", vec![]).is_ok());
        let only_file = MessageContent::parse("  ", vec![pdf()]).unwrap();
        assert_eq!(only_file.body(), "");
        let err = MessageContent::parse(" ", vec![]).unwrap_err();
        assert!(err.fields().contains_key("body"));
        let err = MessageContent::parse(&"x".repeat(4001), vec![pdf()]).unwrap_err();
        assert!(err.fields().contains_key("body"));
    }

    #[test]
    fn every_attachment_field_is_checked() {
        let bad = Attachment {
            url: "http://files.example.com/x".into(),
            mime_type: "pdf".into(),
            size_bytes: 0,
            name: Some(String::new()),
        };
        let err = MessageContent::parse("see attached", vec![pdf(), bad]).unwrap_err();
        let fields: Vec<&String> = err.fields().keys().collect();
        assert_eq!(
            fields,
            [
                "attachments.1.mime_type",
                "attachments.1.name",
                "attachments.1.size_bytes",
                "attachments.1.url"
            ]
        );
        let err = MessageContent::parse("many", vec![pdf(); 11]).unwrap_err();
        assert!(err.fields().contains_key("attachments"));
        for ok in ["image/png", "application/vnd.ms-excel", "text/plain"] {
            assert!(is_mime_type(ok), "{ok}");
        }
        for bad in ["image", "/png", "image/", "image/png; q=1", "a/b/c"] {
            assert!(!is_mime_type(bad), "{bad}");
        }
    }
}
