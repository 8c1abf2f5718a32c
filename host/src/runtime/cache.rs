//! Compiled artifacts cached on disk, keyed by the component's content hash and the
//! engine's compatibility hash: a warm start deserializes instead of compiling.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

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
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this engine
            // configuration (the name carries the engine's compatibility hash) into a
            // folder only Interpose writes. A file that fails to load is recompiled.
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
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
