//! Every port method says what it may return: each method of a port trait in vendrome-core
//! (`pub trait …: Send + Sync`) carries an `# Errors` section in its rustdoc.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(trait, method, documents its errors)` for every port method of one source file.
fn port_methods(text: &str) -> Vec<(String, String, bool)> {
    let mut found = Vec::new();
    let mut depth = 0i32;
    let mut port: Option<(String, i32)> = None;
    let mut doc: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if port.is_none() {
            if let Some(rest) = trimmed.strip_prefix("pub trait ") {
                if rest.contains(": Send + Sync") {
                    let name = rest.split([':', ' ', '<']).next().unwrap_or_default();
                    port = Some((name.to_owned(), depth));
                }
            }
        } else if let Some((name, at)) = &port {
            if depth == at + 1 {
                if trimmed.starts_with("///") {
                    doc.push(trimmed);
                } else if let Some(method) = trimmed
                    .strip_prefix("async fn ")
                    .or_else(|| trimmed.strip_prefix("fn "))
                {
                    let method = method.split(['(', '<']).next().unwrap_or_default();
                    let documented = doc
                        .iter()
                        .any(|l| l.trim_start_matches('/').trim() == "# Errors");
                    found.push((name.clone(), method.to_owned(), documented));
                    doc.clear();
                } else if !trimmed.starts_with("#[") {
                    doc.clear();
                }
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if let Some((_, at)) = &port {
            if depth <= *at && trimmed.ends_with('}') {
                port = None;
            }
        }
    }
    found
}

#[test]
fn every_port_method_documents_its_errors() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut methods = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        methods.extend(port_methods(&text));
    }
    // The scan itself: it must see the ports this crate is known to have.
    assert!(
        methods.len() > 140,
        "only {} port methods found",
        methods.len()
    );
    for (port, method) in [
        ("SearchEngine", "search"),
        ("UserRepo", "create_user"),
        ("Fanout", "publish"),
    ] {
        assert!(
            methods.iter().any(|(p, m, _)| p == port && m == method),
            "the scan no longer sees {port}::{method}"
        );
    }
    let undocumented: Vec<String> = methods
        .iter()
        .filter(|(_, _, documented)| !documented)
        .map(|(port, method, _)| format!("{port}::{method}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "port methods without an `# Errors` section: {undocumented:?}"
    );
}

#[test]
fn the_scan_tells_a_documented_method_from_one_that_is_not() {
    let source = "
#[async_trait]
pub trait ExampleRepo: Send + Sync {
    /// Reads.
    ///
    /// # Errors
    ///
    /// Only `Unexpected`.
    async fn read(&self) -> Result<()>;

    /// Writes.
    async fn write(&self) -> Result<()>;
}
";
    assert_eq!(
        port_methods(source),
        [
            ("ExampleRepo".to_owned(), "read".to_owned(), true),
            ("ExampleRepo".to_owned(), "write".to_owned(), false)
        ]
    );
}
