//! A real Radicale (PyPI) for the benchmark, started as `scripts/peers/caldav.sh`'s tests start
//! it (no configuration file, no authentication, its own storage folder, a free loopback port),
//! and one of its collections driven as another CalDAV client would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{ensure, Context as _};
use chrono::{DateTime, Utc};

use crate::Remote;

/// A Radicale server, stopped (and its folder removed) when dropped.
pub struct Radicale {
    child: Child,
    base: String,
    folder: PathBuf,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Event `uid` as a client writes it.
fn vevent(uid: &str, title: &str, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> String {
    let f = "%Y%m%dT%H%M%SZ";
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Benchmark//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261201T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{title}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        start.format(f),
        end.format(f)
    )
}

impl Radicale {
    /// Starts `exe` on a free port with an empty storage folder.
    pub fn start(exe: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let folder = std::env::temp_dir().join(format!("vendrome-bench-radicale-{port}"));
        std::fs::create_dir_all(&folder)?;
        let child = Command::new(exe)
            .args(["--config", "", "--server-hosts"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--auth-type", "none", "--storage-filesystem-folder"])
            .arg(folder.join("collections"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let radicale = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            folder,
        };
        let deadline = Instant::now() + StdDuration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(Instant::now() < deadline, "Radicale did not start");
            std::thread::sleep(StdDuration::from_millis(50));
        }
        Ok(radicale)
    }

    /// Makes `user`'s calendar collection `name` holding `events` events (`e0`, `e1`, …, each
    /// in slot `slot(i)`), written straight into Radicale's storage as its multifilesystem
    /// backend keeps a collection (one `.ics` file per item beside a `.Radicale.props` naming it
    /// a calendar) rather than through 10,000 PUTs; the collection's URL.
    pub fn calendar(
        &self,
        user: &str,
        name: &str,
        events: usize,
        slot: fn(usize) -> (DateTime<Utc>, DateTime<Utc>),
    ) -> anyhow::Result<String> {
        let collection = self
            .folder
            .join("collections")
            .join("collection-root")
            .join(user)
            .join(name);
        std::fs::create_dir_all(&collection)?;
        std::fs::write(
            collection.join(".Radicale.props"),
            r#"{"tag": "VCALENDAR", "D:displayname": "Benchmark"}"#,
        )?;
        for i in 0..events {
            let uid = format!("e{i}");
            std::fs::write(
                collection.join(format!("{uid}.ics")),
                vevent(&uid, &format!("Event {i}"), slot(i)),
            )?;
        }
        Ok(format!("{}/{user}/{name}/", self.base))
    }
}

/// A collection changed as another CalDAV client changes it (`PUT`, `DELETE` on `<uid>.ics`).
pub struct Collection {
    url: String,
    http: reqwest::Client,
    slot: fn(usize) -> (DateTime<Utc>, DateTime<Utc>),
}

impl Collection {
    pub fn new(url: &str, slot: fn(usize) -> (DateTime<Utc>, DateTime<Utc>)) -> Self {
        Self {
            url: url.to_owned(),
            http: reqwest::Client::new(),
            slot,
        }
    }

    async fn put(&self, uid: &str, title: &str, i: usize) -> anyhow::Result<()> {
        let status = self
            .http
            .put(format!("{}{uid}.ics", self.url))
            .basic_auth("alice", Some("x"))
            .header("content-type", "text/calendar")
            .body(vevent(uid, title, (self.slot)(i)))
            .send()
            .await?
            .status();
        ensure!(status.is_success(), "PUT {uid}: {status}");
        Ok(())
    }
}

#[async_trait::async_trait]
impl Remote for Collection {
    async fn create(&self, id: &str, title: &str, i: usize) -> anyhow::Result<()> {
        self.put(id, title, i).await
    }

    async fn rename(&self, id: &str, title: &str) -> anyhow::Result<()> {
        let i: usize = id.trim_start_matches('e').parse()?;
        self.put(id, title, i).await
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let status = self
            .http
            .delete(format!("{}{id}.ics", self.url))
            .basic_auth("alice", Some("x"))
            .send()
            .await?
            .status();
        ensure!(status.is_success(), "DELETE {id}: {status}");
        Ok(())
    }
}
