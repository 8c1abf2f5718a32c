//! Compiled artifacts cached on disk, keyed by the component's content hash and the
//! engine's compatibility hash: a warm start deserializes instead of compiling.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a compile came from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheStatus {
    /// Loaded a precompiled artifact.
    Hit,
    /// Compiled and stored the artifact.
    Miss,
    /// Compiled; caching is off.
    Disabled,
}

/// Feeds `Hash` output into SHA-256 so the engine's compatibility hash can be part of a
/// stable file name.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The default cache folder.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("interpose"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("interpose"))
}

/// SHA-256 of the component, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuse a cache folder or artifact that another user could have written: owned by
/// someone other than this process's user (or root), or writable by group or others.
/// A folder that does not exist yet is fine (it is created private).
fn trusted(path: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    };
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner = meta.uid();
    let what = if meta.is_dir() { "folder" } else { "file" };
    if owner != me && owner != 0 {
        anyhow::bail!(
            "refusing the artifact cache {what} {}: it is owned by uid {owner}, not by this \
             user (uid {me}); cached artifacts are native code. Use a cache-dir of your own \
             or `cache = false`",
            path.display()
        );
    }
    if meta.mode() & 0o022 != 0 {
        anyhow::bail!(
            "refusing the artifact cache {what} {}: it is writable by group or others (mode \
             {:o}); cached artifacts are native code. `chmod go-w` it, use a cache-dir of \
             your own, or `cache = false`",
            path.display(),
            meta.mode() & 0o7777
        );
    }
    if meta.file_type().is_symlink() {
        anyhow::bail!(
            "refusing the artifact cache {what} {}: it is a symbolic link",
            path.display()
        );
    }
    Ok(())
}

pub(crate) struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> ArtifactCache {
        let mut h = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
        h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
        let engine_key = hex::encode(&h.0.finalize()[..8]);
        ArtifactCache { dir, engine_key }
    }

    fn path_for(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{}.cwasm", self.engine_key))
    }

    /// Load the artifact for `bytes` or compile and store it.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> anyhow::Result<(Component, CacheStatus)> {
        let path = self.path_for(hash);
        // A cached artifact is native code that runs in this process: only a folder (and
        // file) that nobody else can write may supply one.
        trusted(&self.dir)?;
        if path.exists() {
            trusted(&path)?;
            // SAFETY: the file was written by `Component::serialize` of this engine
            // configuration (the name carries the engine's compatibility hash) into a
            // folder only this user can write (checked above). A file that fails to load
            // is recompiled.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, CacheStatus::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "discarding unreadable cached artifact: {e}"
                ),
            }
        }
        let component = Component::new(engine, bytes).map_err(anyhow::Error::from)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(dir = %self.dir.display(), "cannot cache compiled guest: {e:#}");
        }
        Ok((component, CacheStatus::Miss))
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        if !self.dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .with_context(|| format!("creating {}", self.dir.display()))?;
        }
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
