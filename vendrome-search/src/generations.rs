//! Generations of the index on disk: `<root>/<name>/` each, and `<root>/CURRENT` naming the
//! one in use. A rebuild writes a new generation beside the current one and then replaces
//! `CURRENT` atomically (write, sync, rename); the serving process notices and switches, so
//! search never goes offline.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

const CURRENT: &str = "CURRENT";

/// The directory holding every generation.
#[derive(Debug, Clone)]
pub struct IndexDir {
    root: PathBuf,
}

impl IndexDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The generation in use, if any.
    pub fn current(&self) -> anyhow::Result<Option<String>> {
        match std::fs::read_to_string(self.root.join(CURRENT)) {
            Ok(name) => Ok(Some(name.trim().to_owned()).filter(|n| !n.is_empty())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).context("reading the search index's CURRENT file"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A fresh name for a generation about to be built.
    pub fn new_name(&self) -> String {
        format!(
            "gen-{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%3f"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }

    /// Makes `name` the generation in use.
    pub fn publish(&self, name: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let temp = self
            .root
            .join(format!("{CURRENT}.{}", uuid::Uuid::new_v4().simple()));
        {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(name.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, self.root.join(CURRENT)).context("replacing CURRENT")?;
        Ok(())
    }

    /// Deletes every generation but `keep` that no process writes to (a running server's
    /// generation is left; that server deletes it when it switches).
    pub fn remove_unused(&self, keep: &str) {
        self.remove_where(keep, crate::index::Generation::is_unused);
    }

    /// Deletes every generation but `keep` (best effort), for the process that served them.
    pub fn remove_others(&self, keep: &str) {
        self.remove_where(keep, |_| true);
    }

    fn remove_where(&self, keep: &str, removable: impl Fn(&Path) -> bool) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("gen-")
                && name != keep
                && entry.path().is_dir()
                && removable(&entry.path())
            {
                if let Err(error) = std::fs::remove_dir_all(entry.path()) {
                    tracing::warn!(generation = %name, error = %error, "could not remove an old search index generation");
                }
            }
        }
    }
}
