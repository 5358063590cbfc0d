//! A text's bound counts the characters the client sent, before trimming, as the OpenAPI
//! document's `maxLength` does. A client that checks the schema and the server then agree on
//! every string: text that only fits once its surrounding whitespace is cut is refused.

use vendrome_core::flags::ChangeReason;
use vendrome_core::graph::connection::ConnectionNote;
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::messaging::MessageBody;
use vendrome_core::posts::engagement::CommentBody;
use vendrome_core::posts::PostBody;
use vendrome_core::users::DisplayName;

/// `max` characters of text, and the same text padded past `max` with whitespace.
fn at_and_past(max: usize) -> (String, String) {
    let text = "é".repeat(max);
    let padded = format!("\u{c} {text}\t\n");
    (text, padded)
}

#[test]
fn bounds_count_the_text_as_sent() {
    type Parse = fn(&str) -> bool;
    let cases: [(&str, usize, Parse); 7] = [
        ("flag change reason", 500, |s| {
            ChangeReason::parse(s).is_ok()
        }),
        ("connection note", ConnectionNote::MAX_CHARS, |s| {
            ConnectionNote::parse(s).is_ok()
        }),
        ("group title", 100, |s| GroupTitle::parse(s).is_ok()),
        ("message body", MessageBody::MAX_CHARS, |s| {
            MessageBody::parse(s).is_ok()
        }),
        ("comment", CommentBody::MAX_CHARS, |s| {
            CommentBody::parse(s).is_ok()
        }),
        ("post body", PostBody::MAX_CHARS, |s| {
            PostBody::parse(s).is_ok()
        }),
        ("display name", DisplayName::MAX_CHARS, |s| {
            DisplayName::parse(s).is_ok()
        }),
    ];
    for (what, max, accepts) in cases {
        let (text, padded) = at_and_past(max);
        assert!(accepts(&text), "{what}: {max} characters are taken");
        assert!(
            !accepts(&padded),
            "{what}: {} characters as sent are refused, though trimmed they fit",
            padded.chars().count()
        );
        let fits = format!(" {}\n", &text[4..]);
        assert!(
            accepts(&fits),
            "{what}: {max} characters with their padding are taken"
        );
    }
}
