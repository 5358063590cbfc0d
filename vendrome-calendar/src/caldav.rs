//! A CalDAV client (RFC 4791) over reqwest: the collection's changes since a sync token
//! (`sync-collection`, RFC 6578), or for servers without it the collection's ctag and its
//! members' etags (`PROPFIND`), members' data by href (`calendar-multiget`), and conditional
//! writes (`If-None-Match: *` to create, `If-Match: <etag>` to replace or delete; a 412 is a
//! conflict). Basic authentication with the integration's user name and password.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::secrets::Secret;

/// How a CalDAV request failed.
#[derive(Debug, thiserror::Error)]
pub enum DavError {
    /// 403 `DAV:valid-sync-token`: the token is unknown or expired; sync again from none.
    #[error("the server no longer knows the sync token")]
    InvalidSyncToken,
    /// The server does not support `sync-collection` (RFC 6578): a 501 or 405, or a 400/403/409
    /// naming the `supported-report` precondition. The collection is then listed instead.
    #[error("the server does not support sync-collection")]
    SyncUnsupported,
    /// 412: the resource is not at the version the write expected.
    #[error("the resource changed on the server (412)")]
    Conflict,
    /// 401/403: the credentials are refused.
    #[error("the server refused the credentials ({0})")]
    Unauthorized(StatusCode),
    /// Any other refusal, or an answer that does not read.
    #[error("{0}")]
    Protocol(String),
    /// The server could not be reached or did not answer in time.
    #[error("CalDAV request failed: {0}")]
    Transport(String),
}

impl From<reqwest::Error> for DavError {
    fn from(e: reqwest::Error) -> Self {
        // Without the URL: it may carry a user name.
        Self::Transport(e.without_url().to_string())
    }
}

/// The collection's changes since a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Members created or changed, with their new etag.
    pub changed: Vec<(String, String)>,
    /// Members removed.
    pub removed: Vec<String>,
    /// The token to ask from next time.
    pub token: Option<String>,
}

/// One member's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub href: String,
    pub etag: String,
    pub ics: String,
}

/// How a write is conditioned.
#[derive(Debug, Clone, Copy)]
pub enum Precondition<'a> {
    /// Create only: `If-None-Match: *`.
    Absent,
    /// Replace or delete only this version: `If-Match`.
    Matches(&'a str),
}

/// A client for one calendar collection.
#[derive(Clone)]
pub struct CaldavClient {
    http: reqwest::Client,
    collection: reqwest::Url,
    username: String,
    password: Secret,
    /// How many hrefs one `calendar-multiget` asks for.
    pub multiget_batch: usize,
    /// Requests sent so far.
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for CaldavClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaldavClient")
            .field("collection", &self.collection.as_str())
            .finish_non_exhaustive()
    }
}

const DAV: &str = "DAV:";
const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
const CALENDARSERVER: &str = "http://calendarserver.org/ns/";

impl CaldavClient {
    /// Errors: [`DavError::Protocol`] for a URL that does not parse.
    pub fn new(collection: &str, username: &str, password: Secret) -> Result<Self, DavError> {
        let collection = reqwest::Url::parse(collection)
            .map_err(|e| DavError::Protocol(format!("the collection URL does not parse: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            collection,
            username: username.to_owned(),
            password,
            multiget_batch: 200,
            requests: Default::default(),
        })
    }

    /// Where a new event of UID `uid` goes: `<collection path><uid>.ics`, the UID reduced to
    /// characters safe in a path segment.
    pub fn new_href(&self, uid: &str) -> String {
        let name: String = uid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!(
            "{}/{name}.ics",
            self.collection.path().trim_end_matches('/')
        )
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn request(&self, method: &str, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.http
            .request(
                Method::from_bytes(method.as_bytes()).expect("a valid method name"),
                url,
            )
            .basic_auth(&self.username, Some(self.password.expose()))
    }

    fn href_url(&self, href: &str) -> Result<reqwest::Url, DavError> {
        self.collection
            .join(href)
            .map_err(|e| DavError::Protocol(format!("bad href {href:?}: {e}")))
    }

    /// Members changed and removed since `token` (every member when `None`), and the new token.
    ///
    /// Errors: [`DavError::InvalidSyncToken`] on 403 `valid-sync-token`.
    pub async fn sync_collection(&self, token: Option<&str>) -> Result<Changes, DavError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
            escape(token.unwrap_or(""))
        );
        let response = self
            .request("REPORT", self.collection.clone())
            .header("Depth", "1")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status == StatusCode::FORBIDDEN && text.contains("valid-sync-token") {
            return Err(DavError::InvalidSyncToken);
        }
        if refuses_report(status, &text) {
            return Err(DavError::SyncUnsupported);
        }
        check(status, &text)?;
        let doc = parse(&text)?;
        let mut changes = Changes {
            token: doc
                .descendants()
                .find(|n| n.has_tag_name((DAV, "sync-token")))
                .and_then(|n| n.text())
                .map(|t| t.trim().to_owned()),
            ..Changes::default()
        };
        let own = self.collection.path().trim_end_matches('/').to_owned();
        for response in doc
            .descendants()
            .filter(|n| n.has_tag_name((DAV, "response")))
        {
            let Some(href) = child_text(response, DAV, "href") else {
                continue;
            };
            if href.trim_end_matches('/') == own {
                continue;
            }
            let gone = response
                .children()
                .find(|n| n.has_tag_name((DAV, "status")))
                .and_then(|n| n.text())
                .is_some_and(|s| s.contains(" 404"));
            if gone {
                changes.removed.push(href);
            } else if let Some(etag) = response
                .descendants()
                .find(|n| n.has_tag_name((DAV, "getetag")))
                .and_then(|n| n.text())
            {
                changes.changed.push((href, etag.trim().to_owned()));
            }
        }
        Ok(changes)
    }

    /// The collection's ctag (`CS:getctag`, which changes whenever a member does), `None` when
    /// the server keeps none.
    pub async fn ctag(&self) -> Result<Option<String>, DavError> {
        let text = self
            .propfind(
                "0",
                r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>"#,
            )
            .await?;
        let doc = parse(&text)?;
        Ok(doc
            .descendants()
            .find(|n| n.has_tag_name((CALENDARSERVER, "getctag")))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()))
    }

    /// Every member of the collection with its etag (`PROPFIND`, `Depth: 1`).
    pub async fn etags(&self) -> Result<Vec<(String, String)>, DavError> {
        let text = self
            .propfind(
                "1",
                r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#,
            )
            .await?;
        let doc = parse(&text)?;
        let own = self.collection.path().trim_end_matches('/').to_owned();
        let mut members = Vec::new();
        for response in doc
            .descendants()
            .filter(|n| n.has_tag_name((DAV, "response")))
        {
            let Some(href) = child_text(response, DAV, "href") else {
                continue;
            };
            if href.trim_end_matches('/') == own {
                continue;
            }
            if let Some(etag) = response
                .descendants()
                .find(|n| n.has_tag_name((DAV, "getetag")))
                .and_then(|n| n.text())
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                members.push((href, etag.to_owned()));
            }
        }
        Ok(members)
    }

    async fn propfind(&self, depth: &str, body: &'static str) -> Result<String, DavError> {
        let response = self
            .request("PROPFIND", self.collection.clone())
            .header("Depth", depth)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        check(status, &text)?;
        Ok(text)
    }

    /// The data of `hrefs` (members gone meanwhile are left out), in batches.
    pub async fn multiget(&self, hrefs: &[String]) -> Result<Vec<Resource>, DavError> {
        let mut found = Vec::with_capacity(hrefs.len());
        for batch in hrefs.chunks(self.multiget_batch.max(1)) {
            let mut body = String::from(
                r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>"#,
            );
            for href in batch {
                body.push_str(&format!("<D:href>{}</D:href>", escape(href)));
            }
            body.push_str("</C:calendar-multiget>");
            let response = self
                .request("REPORT", self.collection.clone())
                .header("Depth", "1")
                .header("Content-Type", "application/xml; charset=utf-8")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let text = response.text().await?;
            check(status, &text)?;
            let doc = parse(&text)?;
            for response in doc
                .descendants()
                .filter(|n| n.has_tag_name((DAV, "response")))
            {
                let href = child_text(response, DAV, "href");
                let etag = response
                    .descendants()
                    .find(|n| n.has_tag_name((DAV, "getetag")))
                    .and_then(|n| n.text());
                let data = response
                    .descendants()
                    .find(|n| n.has_tag_name((CALDAV, "calendar-data")))
                    .and_then(|n| n.text());
                if let (Some(href), Some(etag), Some(ics)) = (href, etag, data) {
                    found.push(Resource {
                        href,
                        etag: etag.trim().to_owned(),
                        ics: ics.to_owned(),
                    });
                }
            }
        }
        Ok(found)
    }

    /// Writes `ics` at `href` under `condition`; the new etag (`None` when the server does not
    /// say).
    ///
    /// Errors: [`DavError::Conflict`] on 412.
    pub async fn put(
        &self,
        href: &str,
        ics: &str,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, DavError> {
        let request = self
            .request("PUT", self.href_url(href)?)
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(ics.to_owned());
        let request = match condition {
            Precondition::Absent => request.header("If-None-Match", "*"),
            Precondition::Matches(etag) => request.header("If-Match", etag),
        };
        let response = request.send().await?;
        let status = response.status();
        let etag = response
            .headers()
            .get("ETag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status == StatusCode::PRECONDITION_FAILED {
            return Err(DavError::Conflict);
        }
        let text = response.text().await?;
        check(status, &text)?;
        Ok(etag)
    }

    /// Deletes `href` if it is still at `etag`.
    ///
    /// Errors: [`DavError::Conflict`] on 412.
    pub async fn delete(&self, href: &str, etag: &str) -> Result<(), DavError> {
        let response = self
            .request("DELETE", self.href_url(href)?)
            .header("If-Match", etag)
            .send()
            .await?;
        match response.status() {
            StatusCode::PRECONDITION_FAILED => Err(DavError::Conflict),
            StatusCode::NOT_FOUND => Ok(()),
            status => check(status, &response.text().await?),
        }
    }
}

/// Whether an answer to a REPORT says the server does not support that report (RFC 3253
/// `DAV:supported-report`, or the method itself refused).
fn refuses_report(status: StatusCode, text: &str) -> bool {
    match status {
        StatusCode::NOT_IMPLEMENTED | StatusCode::METHOD_NOT_ALLOWED => true,
        StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
            text.contains("supported-report")
        }
        _ => false,
    }
}

fn check(status: StatusCode, text: &str) -> Result<(), DavError> {
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(DavError::Unauthorized(status));
    }
    let excerpt: String = text.chars().take(200).collect();
    Err(DavError::Protocol(format!(
        "the server answered {status}: {excerpt}"
    )))
}

fn parse(text: &str) -> Result<roxmltree::Document<'_>, DavError> {
    roxmltree::Document::parse(text)
        .map_err(|e| DavError::Protocol(format!("the answer is not XML: {e}")))
}

fn child_text(node: roxmltree::Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name((ns, name)))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
