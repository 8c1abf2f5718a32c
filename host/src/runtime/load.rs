//! Staged loading of one guest, one type per stage (in the style of Spin's factors):
//!
//! 1. [`Compiled`]: the file read, recognised as a component and compiled (or taken from the
//!    runtime's memo or the artifact cache);
//! 2. [`Validated`]: its imports checked against what the sandbox offers and its category
//!    exports found ([`super::validate`]);
//! 3. [`Linked`]: linked against the host imports (and the virtual WASI when it imports
//!    WASI) into an `InstancePre`, with the export indices of each category;
//! 4. [`LoadedGuest`]: the guest's limits, sinks and config bound, its interests asked on a
//!    throwaway instance under its own limits.
//!
//! Each stage fails with a [`LoadError`] naming the guest and its file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, InstancePre};

use super::host::HostState;
use super::instance::{self, GuestInstance};
use super::{
    CacheStatus, CategoryExports, EPOCH_TICK, GuestInfo, GuestMeta, LoadedGuest, Reads, Runtime,
    Stats, content_hash, series, validate, wasi,
};
use crate::config::GuestConfig;
use crate::error::{GuestFailure, LoadError};
use crate::model::{Category, HeaderReads, Hook, Interest, Phases};
use crate::services::Scope;

/// Which guest a stage works on: its name and file, for errors.
#[derive(Clone)]
struct Named {
    name: String,
    path: PathBuf,
}

impl Named {
    fn not_component(&self, message: String) -> LoadError {
        LoadError::NotAComponent {
            guest: self.name.clone(),
            path: self.path.clone(),
            message,
        }
    }

    fn incompatible(&self, message: String) -> LoadError {
        LoadError::Incompatible {
            guest: self.name.clone(),
            path: self.path.clone(),
            message,
        }
    }
}

/// Stage 1: a compiled component.
pub(crate) struct Compiled {
    who: Named,
    component: Component,
    hash: String,
    size: u64,
    cache: CacheStatus,
    compile_time: Duration,
}

/// Stage 2: a component whose shape the sandbox accepts.
pub(crate) struct Validated {
    compiled: Compiled,
    shape: validate::Shape,
}

/// Stage 3: a component linked against the host, ready to instantiate.
pub(crate) struct Linked {
    validated: Validated,
    pre: InstancePre<HostState>,
    exports: [Option<CategoryExports>; Category::ALL.len()],
}

impl Runtime {
    /// Stage 1: read `path`, check it is a component, compile it (once per runtime and
    /// content hash; through the artifact cache when it is on).
    pub(crate) fn compile(&self, name: &str, path: &Path) -> Result<Compiled, LoadError> {
        let who = Named {
            name: name.to_owned(),
            path: path.to_owned(),
        };
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            guest: who.name.clone(),
            path: who.path.clone(),
            source,
        })?;
        if wasmparser::Parser::is_core_wasm(&bytes) {
            return Err(who.not_component(
                "it is a core Wasm module; turn it into a component (`interpose componentize`, \
                 the interpose guest SDK build, componentize-py or componentize-js do this)"
                    .into(),
            ));
        }
        if !wasmparser::Parser::is_component(&bytes) {
            return Err(
                who.not_component("it does not start with the Wasm component header".into())
            );
        }
        let hash = content_hash(&bytes);
        let engine = &self.inner.engine;
        let started = Instant::now();
        let memo = self
            .inner
            .compiled
            .lock()
            .ok()
            .and_then(|m| m.get(&hash).cloned());
        let (component, cache) = match memo {
            Some(c) => (c, CacheStatus::Hit),
            None => {
                let (c, status) = match &self.inner.cache {
                    Some(c) => c.load_or_compile(engine, &bytes, &hash),
                    None => Component::new(engine, &bytes)
                        .map(|c| (c, CacheStatus::Disabled))
                        .map_err(anyhow::Error::from),
                }
                .map_err(|e| who.not_component(format!("{e:#}")))?;
                if let Ok(mut m) = self.inner.compiled.lock() {
                    m.insert(hash.clone(), c.clone());
                }
                (c, status)
            }
        };
        Ok(Compiled {
            who,
            component,
            hash,
            size: bytes.len() as u64,
            cache,
            compile_time: started.elapsed(),
        })
    }

    /// Stage 2: check the component's imports and find its category exports.
    pub(crate) fn validate(&self, compiled: Compiled) -> Result<Validated, LoadError> {
        let who = &compiled.who;
        let shape =
            validate::check(&self.inner.engine, &compiled.component).map_err(|e| match e {
                validate::ShapeError::Version { found } => LoadError::ContractVersion {
                    guest: who.name.clone(),
                    path: who.path.clone(),
                    advice: validate::version_advice(&found),
                    found,
                    ours: validate::VERSION.to_owned(),
                },
                validate::ShapeError::Forbidden { import, reason } => LoadError::ForbiddenImport {
                    guest: who.name.clone(),
                    path: who.path.clone(),
                    import,
                    reason,
                },
                validate::ShapeError::NoExport(message) => LoadError::NoInterceptorExport {
                    guest: who.name.clone(),
                    path: who.path.clone(),
                    message,
                },
            })?;
        Ok(Validated { compiled, shape })
    }

    /// Stage 3: link against the host imports (and the virtual WASI when the guest imports
    /// WASI; a guest that imports WASI sockets gets stubs that refuse), and resolve the
    /// export functions of each category it exports.
    pub(crate) fn link(&self, validated: Validated) -> Result<Linked, LoadError> {
        let (who, component) = (&validated.compiled.who, &validated.compiled.component);
        let shape = &validated.shape;
        let linker = if shape.uses_wasi {
            &self.inner.wasi_linker
        } else {
            &self.inner.linker
        };
        let stubbed;
        let linker = if shape.no_network.is_empty() {
            linker
        } else {
            let mut l = linker.clone();
            wasi::stub_network(&mut l, component)
                .map_err(|e| who.incompatible(format!("{e:#}")))?;
            stubbed = l;
            &stubbed
        };
        let pre = linker
            .instantiate_pre(component)
            .map_err(|e| who.incompatible(format!("{e:#}")))?;

        let mut exports: [Option<CategoryExports>; Category::ALL.len()] = Default::default();
        for cat in Category::ALL {
            let Some(export) = &shape.exports[cat.index()] else {
                continue;
            };
            let inst = component
                .get_export_index(None, export)
                .ok_or_else(|| who.incompatible(format!("export `{export}` not found")))?;
            let func = |f: &str| {
                component.get_export_index(Some(&inst), f).ok_or_else(|| {
                    who.incompatible(format!("`{export}` does not export function `{f}`"))
                })
            };
            exports[cat.index()] = Some(CategoryExports {
                interests: func("interests")?,
                before: func("before")?,
                after: func("after")?,
            });
        }
        Ok(Linked {
            validated,
            pre,
            exports,
        })
    }

    /// Stage 4: bind the guest's config, limits and this runtime's sinks, and ask it for its
    /// interests on a throwaway instance with its own limits.
    pub(crate) fn load_linked(
        &self,
        linked: Linked,
        g: &GuestConfig,
    ) -> Result<LoadedGuest, LoadError> {
        let Linked {
            validated: Validated { compiled, shape },
            pre,
            exports,
        } = linked;
        let who = compiled.who;
        let meta = Arc::new(GuestMeta {
            name: who.name.clone(),
            config: g.config.clone(),
            limits: g.limits.clone(),
            policy: g.on_failure,
            instances: g.instances,
            clock: g.clock,
            metrics: self.metrics.clone(),
            logs: self.logs.clone(),
            traces: self.traces.clone(),
            epoch_ticks: g.limits.deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64 + 1,
            metering: self.inner.metering,
            hops: self.metrics.wants_hops(),
            series: series::Series::new(g.limits.max_metric_series),
        });
        let mut guest = LoadedGuest {
            meta,
            pre,
            exports,
            uses_wasi: shape.uses_wasi,
            interests: 0,
            before_mask: 0,
            after_mask: 0,
            info: GuestInfo {
                name: who.name.clone(),
                path: who.path.clone(),
                hash: compiled.hash,
                size: compiled.size,
                imports: shape.imports,
                uses_wasi: shape.uses_wasi,
                interests: BTreeMap::new(),
                compile_time: compiled.compile_time,
                cache: compiled.cache,
                instantiate_time: Duration::ZERO,
                on_failure: g.on_failure,
                warnings: Vec::new(),
            },
            reads: vec![Reads::None; Hook::ALL.len()].into_boxed_slice(),
            idle: Mutex::new(Vec::new()),
            stats: Stats::default(),
        };
        let interests_failed = |cause| LoadError::Interests {
            guest: who.name.clone(),
            path: who.path.clone(),
            cause,
        };

        // Ask for interests on a throwaway instance, with the guest's own limits.
        let started = Instant::now();
        let mut inst = GuestInstance::new(&guest, &Scope::Client, instance::Role::Load).map_err(
            |e| match e {
                instance::NewError::WrongType(message) => who.incompatible(message),
                instance::NewError::Failed(cause) => interests_failed(cause),
            },
        )?;
        guest.info.instantiate_time = started.elapsed();
        guest.stats.instantiations.fetch_add(1, Ordering::Relaxed);
        let (mut before, mut after) = (0u64, 0u64);
        // Header reads declared per hook, merged across the interests that name it.
        let mut pending: Vec<HeaderReads> = vec![HeaderReads::None; Hook::ALL.len()];
        for cat in Category::ALL {
            if guest.exports[cat.index()].is_none() {
                continue;
            }
            let declared = inst.interests(&guest, cat).map_err(|cause| match cause {
                GuestFailure::Instantiate { message } => who.incompatible(message),
                cause => interests_failed(cause),
            })?;
            let mut list: Vec<Interest> = Vec::new();
            for interest in declared {
                let hook = interest.hook;
                if hook.category() != cat {
                    return Err(LoadError::InvalidInterest {
                        guest: who.name.clone(),
                        path: who.path.clone(),
                        hook,
                        category: cat,
                    });
                }
                if interest.phases.contains(Phases::BEFORE) {
                    before |= hook.bit();
                }
                if interest.phases.contains(Phases::AFTER) {
                    after |= hook.bit();
                }
                let reads = check_reads(interest.reads).map_err(|reason| {
                    LoadError::InvalidHeaderReads {
                        guest: who.name.clone(),
                        path: who.path.clone(),
                        hook,
                        reason,
                    }
                })?;
                // Reads merge whatever the phases: declaring reads and phases in separate
                // interests of the same hook, in any order, gives the same result.
                let merged = merge_reads(
                    std::mem::replace(&mut pending[hook as usize], HeaderReads::None),
                    reads,
                )
                .map_err(|reason| LoadError::InvalidHeaderReads {
                    guest: who.name.clone(),
                    path: who.path.clone(),
                    hook,
                    reason,
                })?;
                pending[hook as usize] = merged;
                match list.iter_mut().find(|i| i.hook == hook) {
                    Some(i) => i.phases |= interest.phases,
                    None if interest.phases != Phases::empty() => list.push(Interest {
                        hook,
                        phases: interest.phases,
                        reads: HeaderReads::None,
                    }),
                    None => {}
                }
            }
            for i in &mut list {
                i.reads = std::mem::replace(&mut pending[i.hook as usize], HeaderReads::None);
                guest.reads[i.hook as usize] = Reads::from(&i.reads);
            }
            guest.info.interests.insert(cat, list);
        }
        guest.before_mask = before;
        guest.after_mask = after;
        guest.interests = before | after;
        for &hook in Hook::ALL {
            if let (true, Some(feature)) =
                (guest.interests & hook.bit() != 0, hook.missing_feature())
            {
                let warning = format!(
                    "guest `{}` declares hook `{hook}`, which this build of Interpose never \
                     calls: build it with its `{feature}` cargo feature to intercept it",
                    who.name
                );
                tracing::warn!("{warning}");
                guest.info.warnings.push(warning);
            }
        }
        Ok(guest)
    }

    /// Every stage for one guest of a config: compile, validate, link, load.
    pub(crate) fn load_guest(&self, g: &GuestConfig) -> Result<LoadedGuest, LoadError> {
        let compiled = self.compile(&g.name, &g.path)?;
        let linked = self.link(self.validate(compiled)?)?;
        self.load_linked(linked, g)
    }

    /// Load a single component with default limits and report what it is: the engine of
    /// `interpose check` (every stage: the report includes the interests it declares).
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<GuestInfo, LoadError> {
        let path = path.as_ref();
        let name = path
            .file_stem()
            .map_or_else(|| "guest".into(), |s| s.to_string_lossy().into_owned());
        Ok(self.load_guest(&GuestConfig::new(name, path))?.info)
    }
}

/// Most header keys one interest may declare.
pub(crate) const MAX_READ_KEYS: usize = 64;
/// Longest header key an interest may declare, in bytes.
pub(crate) const MAX_READ_KEY_LEN: usize = 256;

/// Refuse declared reads the host will not serve; sort and deduplicate the keys.
fn check_reads(reads: HeaderReads) -> Result<HeaderReads, String> {
    let HeaderReads::Keys(mut keys) = reads else {
        return Ok(reads);
    };
    if let Some(long) = keys.iter().find(|k| k.len() > MAX_READ_KEY_LEN) {
        return Err(format!(
            "a key of {} bytes; at most {MAX_READ_KEY_LEN}",
            long.len()
        ));
    }
    keys.sort_unstable();
    keys.dedup();
    check_count(&keys)?;
    Ok(HeaderReads::Keys(keys))
}

fn check_count(keys: &[String]) -> Result<(), String> {
    if keys.len() > MAX_READ_KEYS {
        return Err(format!(
            "{} distinct keys declared; at most {MAX_READ_KEYS} (declare `all` to receive \
             every header)",
            keys.len()
        ));
    }
    Ok(())
}

/// Two declarations of the same hook: `all` wins, keys are united (and the union is held
/// to the same limit).
fn merge_reads(a: HeaderReads, b: HeaderReads) -> Result<HeaderReads, String> {
    Ok(match (a, b) {
        (HeaderReads::All, _) | (_, HeaderReads::All) => HeaderReads::All,
        (HeaderReads::None, x) | (x, HeaderReads::None) => x,
        (HeaderReads::Keys(mut a), HeaderReads::Keys(b)) => {
            a.extend(b);
            a.sort_unstable();
            a.dedup();
            check_count(&a)?;
            HeaderReads::Keys(a)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> HeaderReads {
        HeaderReads::Keys(k.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn declared_reads_are_sorted_deduplicated_and_bounded() {
        assert_eq!(check_reads(keys(&["b", "a", "b"])), Ok(keys(&["a", "b"])));
        // 65 copies of one key are one key.
        assert_eq!(check_reads(keys(&["a"; 65])), Ok(keys(&["a"])));
        let many: Vec<String> = (0..=MAX_READ_KEYS).map(|i| format!("k{i}")).collect();
        let err = check_reads(HeaderReads::Keys(many)).unwrap_err();
        assert!(err.contains("65 distinct keys"), "{err}");
        let long = "x".repeat(MAX_READ_KEY_LEN + 1);
        assert!(
            check_reads(keys(&[&long]))
                .unwrap_err()
                .contains("257 bytes")
        );
        assert_eq!(check_reads(HeaderReads::All), Ok(HeaderReads::All));
    }

    #[test]
    fn merged_reads_unite_keys_let_all_win_and_keep_the_limit() {
        assert_eq!(
            merge_reads(keys(&["a"]), keys(&["b", "a"])),
            Ok(keys(&["a", "b"]))
        );
        assert_eq!(
            merge_reads(HeaderReads::None, keys(&["a"])),
            Ok(keys(&["a"]))
        );
        assert_eq!(
            merge_reads(keys(&["a"]), HeaderReads::None),
            Ok(keys(&["a"]))
        );
        assert_eq!(
            merge_reads(keys(&["a"]), HeaderReads::All),
            Ok(HeaderReads::All)
        );
        let half = |p: &str| -> HeaderReads {
            HeaderReads::Keys((0..40).map(|i| format!("{p}{i}")).collect())
        };
        assert!(merge_reads(half("a"), half("b")).is_err(), "80 keys in all");
    }
}
