//! The error-code registry (`vendrome_core::error_codes`) is the one list of codes: every code
//! literal the workspace gives to an error constructor is in it, under the status that
//! constructor answers with, and ARCHITECTURE.md's table is the registry's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vendrome_core::error_codes::{lookup, markdown_table, ERROR_CODES};

const TABLE_START: &str =
    "<!-- error-codes:start (generated from vendrome-core/src/error_codes.rs) -->\n";
const TABLE_END: &str = "<!-- error-codes:end -->";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every `.rs` file of the workspace, but build output, dependencies and this file.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root(), &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with("vendrome-core/tests/error_codes.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

/// The status `StatusCode::NAME` stands for.
fn status_named(name: &str) -> Option<u16> {
    Some(match name {
        "BAD_REQUEST" => 400,
        "PAYMENT_REQUIRED" => 402,
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "NOT_ACCEPTABLE" => 406,
        "REQUEST_TIMEOUT" => 408,
        "CONFLICT" => 409,
        "PAYLOAD_TOO_LARGE" => 413,
        "UNSUPPORTED_MEDIA_TYPE" => 415,
        "UNPROCESSABLE_ENTITY" => 422,
        "UPGRADE_REQUIRED" => 426,
        "TOO_MANY_REQUESTS" => 429,
        "INTERNAL_SERVER_ERROR" => 500,
        "BAD_GATEWAY" => 502,
        "SERVICE_UNAVAILABLE" => 503,
        "GATEWAY_TIMEOUT" => 504,
        _ => return None,
    })
}

/// The string literal `text` starts with (after blanks), if it does.
fn literal(text: &str) -> Option<&str> {
    let text = text.trim_start().strip_prefix('"')?;
    text.find('"').map(|end| &text[..end])
}

/// How a constructor's code is found after its name, and the status it answers with.
enum Shape {
    /// The first argument (or the `code:` field) is the code; the status is the variant's.
    Code(u16),
    /// `(StatusCode::NAME, "code", …)`.
    StatusThenCode,
}

const CONSTRUCTORS: &[(&str, Shape)] = &[
    ("Error::conflict(", Shape::Code(409)),
    ("Error::forbidden(", Shape::Code(403)),
    ("Error::unauthenticated(", Shape::Code(401)),
    ("Error::unavailable(", Shape::Code(503)),
    ("Error::unprocessable(", Shape::Code(422)),
    ("Error::bad_request(", Shape::Code(400)),
    ("Error::payment_required(", Shape::Code(402)),
    ("Error::not_configured(", Shape::Code(404)),
    ("Error::Conflict {", Shape::Code(409)),
    ("Error::Forbidden {", Shape::Code(403)),
    ("Error::Unauthenticated {", Shape::Code(401)),
    ("Error::Unavailable {", Shape::Code(503)),
    ("ApiError::new(", Shape::StatusThenCode),
    ("Self::new(", Shape::StatusThenCode),
];

/// One code literal found in the sources.
#[derive(Debug)]
struct Use {
    code: String,
    /// `None` where the status is not the constructor's to say (a `for_status` arm).
    status: Option<u16>,
    at: String,
}

fn uses(sources: &[(PathBuf, String)]) -> Vec<Use> {
    let mut found = Vec::new();
    for (path, text) in sources {
        let at = |offset: usize| {
            let line = text[..offset].matches('\n').count() + 1;
            format!(
                "{}:{line}",
                path.strip_prefix(root()).unwrap_or(path).display()
            )
        };
        for (needle, shape) in CONSTRUCTORS {
            for (offset, _) in text.match_indices(needle) {
                let rest = &text[offset + needle.len()..];
                let (code, status) = match shape {
                    Shape::Code(status) => {
                        let rest = rest.trim_start();
                        let rest = rest.strip_prefix("code:").unwrap_or(rest);
                        (literal(rest), Some(*status))
                    }
                    Shape::StatusThenCode => {
                        let Some(after) = rest.trim_start().split_once(',') else {
                            continue;
                        };
                        let Some((_, name)) = after.0.rsplit_once("StatusCode::") else {
                            continue;
                        };
                        let status = status_named(name.trim());
                        assert!(
                            status.is_some(),
                            "{}: add StatusCode::{name} to status_named",
                            at(offset)
                        );
                        (literal(after.1), status)
                    }
                };
                if let Some(code) = code {
                    found.push(Use {
                        code: code.to_owned(),
                        status,
                        at: at(offset),
                    });
                }
            }
        }
        // Generic answers by status: `StatusCode::NAME => ("code", "message")`.
        for (offset, _) in text.match_indices("=> (") {
            let before = &text[..offset];
            if before
                .trim_end()
                .rsplit(char::is_whitespace)
                .next()
                .is_some_and(|w| w.starts_with("StatusCode::"))
            {
                if let Some(code) = literal(&text[offset + 4..]) {
                    found.push(Use {
                        code: code.to_owned(),
                        status: None,
                        at: at(offset),
                    });
                }
            }
        }
    }
    found
}

#[test]
fn every_code_the_sources_give_an_error_is_registered_with_its_status() {
    let sources = sources();
    let uses = uses(&sources);
    // The scan itself: it must see the constructors this workspace is known to use.
    for known in [
        "email_taken",
        "admin_only",
        "search_unavailable",
        "oauth_state_invalid",
        "bad_request",
    ] {
        assert!(
            uses.iter().any(|u| u.code == known),
            "the scan no longer finds {known}"
        );
    }
    let mut problems = Vec::new();
    for u in &uses {
        match (lookup(&u.code), u.status) {
            (None, _) => problems.push(format!(
                "{}: `{}` is not in vendrome-core/src/error_codes.rs",
                u.at, u.code
            )),
            (Some(registered), Some(status)) if registered.status != status => {
                problems.push(format!(
                    "{}: `{}` is answered with {status}, registered with {}",
                    u.at, u.code, registered.status
                ))
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_registered_code_is_produced_somewhere() {
    let sources = sources();
    let produced: BTreeMap<_, _> = uses(&sources)
        .into_iter()
        .map(|u| (u.code.clone(), u))
        .collect();
    // Codes built outside a constructor call (a match over variants, a helper's default).
    let everywhere: String = sources
        .iter()
        .filter(|(path, _)| !path.ends_with("src/error_codes.rs"))
        .map(|(_, text)| text.as_str())
        .collect();
    let stale: Vec<_> = ERROR_CODES
        .iter()
        .filter(|c| {
            !produced.contains_key(c.code) && !everywhere.contains(&format!("\"{}\"", c.code))
        })
        .map(|c| c.code)
        .collect();
    assert!(
        stale.is_empty(),
        "registered codes nothing produces: {stale:?}"
    );
}

#[test]
fn architecture_md_error_table_is_the_registry() {
    let path = root().join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(TABLE_START)
        .expect("ARCHITECTURE.md has the error-code table markers")
        + TABLE_START.len();
    let end = start
        + text[start..]
            .find(TABLE_END)
            .expect("the table's end marker");
    let expected = markdown_table();
    if text[start..end] != expected {
        if std::env::var_os("VENDROME_WRITE_ERROR_TABLE").is_some() {
            let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "ARCHITECTURE.md's error-code table differs from vendrome-core/src/error_codes.rs; \
                 run this test with VENDROME_WRITE_ERROR_TABLE=1 to write it. Expected:\n{expected}"
            );
        }
    }
}
