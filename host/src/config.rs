//! `interpose.toml`: which guests to load, in chain order, with their limits and values.
//!
//! Unknown keys are errors; relative paths are resolved against the config file's folder.
//! The schema is documented in the README ("Config reference").

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use crate::error::ConfigError;

/// Most guests one chain may hold (interest masks and entered-sets are 64-bit).
pub const MAX_GUESTS: usize = 64;

/// A parsed, validated config.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// Engine-wide settings.
    pub runtime: RuntimeConfig,
    /// Guests in chain order.
    pub guests: Vec<GuestConfig>,
    /// Where the config came from (the file, or the name given to
    /// [`Config::from_toml`]): errors found after parsing name it.
    pub origin: PathBuf,
}

/// Engine-wide settings (`[runtime]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Where compiled artifacts are cached. Default: `$XDG_CACHE_HOME/interpose` or
    /// `~/.cache/interpose`.
    pub cache_dir: Option<PathBuf>,
    /// Whether to cache compiled artifacts on disk.
    pub cache: bool,
    /// Most guest instances alive at once, across all guests (the pooling allocator's size).
    /// Unset: sized from `cached-runs` (see [`RuntimeConfig::instances_needed`]). Set, it
    /// must fit the worker's cache, or the load is refused.
    pub max_instances: Option<u32>,
    /// Most workflow runs the worker caches: its `max_cached_workflows` (the Temporal SDK's
    /// default is 1,000). Each cached run holds one instance per workflow guest, two once
    /// it served a query or an update validator.
    pub cached_runs: u32,
    /// How a new instance's linear memory gets its initial contents.
    pub memory_images: MemoryImages,
}

/// Instances kept free for client and activity calls, per guest that serves them: calls
/// in flight at once (each holds an instance for the length of the call).
pub const CALL_INSTANCES_PER_GUEST: u64 = 256;

impl RuntimeConfig {
    /// Instances a worker can need at once: two per cached run per workflow guest, plus
    /// [`CALL_INSTANCES_PER_GUEST`] per client or activity guest.
    pub fn instances_needed(&self, workflow_guests: usize, call_guests: usize) -> u64 {
        u64::from(self.cached_runs) * 2 * workflow_guests as u64
            + CALL_INSTANCES_PER_GUEST * call_guests as u64
    }

    /// The pool size: `max-instances` when set, else what the worker can need with every
    /// one of `guests` serving every category (the categories are known only once the
    /// guests are loaded).
    pub fn pool_size(&self, guests: usize) -> u32 {
        self.max_instances.unwrap_or_else(|| {
            u32::try_from(self.instances_needed(guests, guests).max(1)).unwrap_or(u32::MAX)
        })
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            cache: true,
            max_instances: None,
            cached_runs: 1000,
            memory_images: MemoryImages::Copy,
        }
    }
}

/// How a new instance's linear memory is initialized (`[runtime] memory-images`): the
/// trade-off between start-up of guests with a large initialized heap and density.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MemoryImages {
    /// Copy the data segments into every new instance (default). Best for small guests
    /// (Rust, C), whose data segments are small: the densest (BENCHMARKS.md, density).
    #[default]
    Copy,
    /// Map the initialized memory copy-on-write. Interpreter guests (Python, JavaScript),
    /// whose heap snapshots are megabytes, start faster (BENCHMARKS.md and
    /// docs/languages.md have the figures), but every instance costs extra memory mappings,
    /// so Linux's `vm.max_map_count` caps how many can live at once.
    CopyOnWrite,
}

/// What happens when a guest fails (trap, fuel, deadline, memory, invalid decision).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailurePolicy {
    /// The call fails with an error naming guest, hook, phase and cause. For workflow hooks
    /// this fails the workflow task (retried), not the workflow.
    #[default]
    FailClosed,
    /// The guest is skipped for this call as if it were not configured; its edits are
    /// rolled back and a warning is logged.
    Skip,
}

/// Instance lifecycle for client and activity hooks (workflow guests always get one
/// instance per workflow run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum InstanceMode {
    /// A fresh instance per call: nothing leaks between calls.
    #[default]
    PerCall,
    /// Reuse idle instances between calls (for guests that are slow to instantiate, such as
    /// Python). State left by one call is visible to the next: only for trusted guests.
    Reuse,
}

/// What WASI clocks return in client and activity hooks (workflow hooks always see
/// workflow time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClockMode {
    /// The time the hook was entered, constant during the call: a guest cannot time itself.
    #[default]
    Frozen,
    /// The host's real clocks.
    Real,
}

/// Per-guest limits; each has a safe default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Fuel per call (one `before` or one `after`).
    pub fuel: u64,
    /// Wall-time deadline per call.
    pub deadline: Duration,
    /// Linear memory cap per instance.
    pub memory: u64,
    /// Table elements cap per table.
    pub table_elements: usize,
    /// Most bytes a guest may produce per call: headers, args and payloads it sets or
    /// returns, log lines, metric samples and WASI output, each item also counting
    /// [`OUTPUT_ITEM_COST`] bytes.
    pub max_output: u64,
    /// Most distinct metric series (name and label set) a guest may create in one process.
    /// Samples of further series are dropped and counted; the host logs the first drop.
    pub max_metric_series: usize,
}

/// What each item a guest produces (a payload, header, log line, metric sample) counts
/// against [`Limits::max_output`] on top of its bytes, so that many empty items cannot pass
/// the limit for free.
pub const OUTPUT_ITEM_COST: u64 = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 100_000_000,
            deadline: Duration::from_millis(100),
            memory: 64 * 1024 * 1024,
            table_elements: 20_000,
            max_output: 1024 * 1024,
            max_metric_series: 1000,
        }
    }
}

/// One guest (`[[guest]]`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GuestConfig {
    /// Unique name, used in every log line and error.
    pub name: String,
    /// The component file (absolute after loading); empty for a native interceptor.
    pub path: PathBuf,
    /// A native Rust interceptor bound by the embedding application at this position in
    /// the chain (`native = true`, no `path`); limits and policy do not apply to it.
    pub native: bool,
    /// Failure policy.
    pub on_failure: FailurePolicy,
    /// Instance lifecycle for client and activity hooks.
    pub instances: InstanceMode,
    /// Clocks for client and activity hooks.
    pub clock: ClockMode,
    /// Limits.
    pub limits: Limits,
    /// Values the guest reads through `interpose:interceptor/config`.
    pub config: BTreeMap<String, String>,
}

impl GuestConfig {
    /// A guest with default settings.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> GuestConfig {
        GuestConfig {
            name: name.into(),
            path: path.into(),
            native: false,
            on_failure: FailurePolicy::default(),
            instances: InstanceMode::default(),
            clock: ClockMode::default(),
            limits: Limits::default(),
            config: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    runtime: RuntimeConfig,
    #[serde(default)]
    guest: Vec<RawGuest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGuest {
    name: String,
    path: Option<PathBuf>,
    #[serde(default)]
    native: bool,
    #[serde(default)]
    on_failure: FailurePolicy,
    #[serde(default)]
    instances: InstanceMode,
    #[serde(default)]
    clock: ClockMode,
    fuel: Option<u64>,
    #[serde(default, with = "humantime_serde")]
    deadline: Option<Duration>,
    memory: Option<ByteSize>,
    table_elements: Option<usize>,
    max_output: Option<ByteSize>,
    max_metric_series: Option<usize>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

impl Config {
    /// Read and validate a config file. Relative guest paths are resolved against the
    /// file's folder; guest files are not read here.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Config::from_toml(&text, &base, path)
    }

    /// Parse and validate TOML text. `base` resolves relative paths; `origin` names the
    /// source in errors.
    pub fn from_toml(text: &str, base: &Path, origin: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        };
        if raw.guest.len() > MAX_GUESTS {
            return Err(invalid(format!(
                "{} guests configured; at most {MAX_GUESTS} are supported in one chain",
                raw.guest.len()
            )));
        }
        if raw.runtime.max_instances == Some(0) {
            return Err(invalid("runtime.max-instances must be at least 1".into()));
        }
        let mut seen = HashSet::new();
        let mut guests = Vec::with_capacity(raw.guest.len());
        for g in raw.guest {
            let name = g.name.trim().to_owned();
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                return Err(invalid(format!(
                    "guest name `{}` is empty or not printable",
                    g.name
                )));
            }
            if !seen.insert(name.clone()) {
                return Err(invalid(format!("duplicate guest name `{name}`")));
            }
            let defaults = Limits::default();
            let limits = Limits {
                fuel: g.fuel.unwrap_or(defaults.fuel),
                deadline: g.deadline.unwrap_or(defaults.deadline),
                memory: g.memory.map_or(defaults.memory, |b| b.as_u64()),
                table_elements: g.table_elements.unwrap_or(defaults.table_elements),
                max_output: g.max_output.map_or(defaults.max_output, |b| b.as_u64()),
                max_metric_series: g.max_metric_series.unwrap_or(defaults.max_metric_series),
            };
            if limits.fuel == 0 {
                return Err(invalid(format!(
                    "guest `{name}`: fuel must be greater than 0"
                )));
            }
            if limits.deadline.is_zero() {
                return Err(invalid(format!(
                    "guest `{name}`: deadline must be greater than 0"
                )));
            }
            if limits.memory < 64 * 1024 {
                return Err(invalid(format!(
                    "guest `{name}`: memory must be at least one Wasm page (64 KiB)"
                )));
            }
            let mut config = BTreeMap::new();
            for (key, value) in g.config {
                let value = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                        value.to_string()
                    }
                    other => {
                        return Err(invalid(format!(
                            "guest `{name}`: config value `{key}` must be a string, number or \
                             boolean, found {}",
                            other.type_str()
                        )));
                    }
                };
                config.insert(key, value);
            }
            let path = match (g.native, g.path) {
                (false, None) => {
                    return Err(invalid(format!(
                        "guest `{name}` needs a `path` to its component"
                    )));
                }
                (true, Some(_)) => {
                    return Err(invalid(format!(
                        "guest `{name}` is native (bound in code) and cannot have a `path`"
                    )));
                }
                (true, None) => PathBuf::new(),
                (false, Some(p)) if p.is_absolute() => p,
                (false, Some(p)) => base.join(p),
            };
            guests.push(GuestConfig {
                name,
                path,
                native: g.native,
                on_failure: g.on_failure,
                instances: g.instances,
                clock: g.clock,
                limits,
                config,
            });
        }
        Ok(Config {
            runtime: raw.runtime,
            guests,
            origin: origin.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(
            text,
            Path::new("/etc/interpose"),
            Path::new("interpose.toml"),
        )
    }

    #[test]
    fn full_guest_parses_with_units() {
        let c = parse(
            r#"
            [runtime]
            max-instances = 50
            memory-images = "copy-on-write"
            [[guest]]
            name = "a"
            path = "a.wasm"
            on-failure = "skip"
            instances = "reuse"
            clock = "real"
            fuel = 5
            deadline = "250ms"
            memory = "2 MiB"
            max-output = "4 KiB"
            [guest.config]
            deny = "x,y"
            n = 3
            "#,
        )
        .unwrap();
        let g = &c.guests[0];
        assert_eq!(c.runtime.max_instances, Some(50));
        assert_eq!(c.runtime.memory_images, MemoryImages::CopyOnWrite);
        assert_eq!(
            parse("").unwrap().runtime.memory_images,
            MemoryImages::Copy,
            "copy is the default"
        );
        let e = parse("[runtime]\nmemory-images = \"lazy\"\n").unwrap_err();
        assert!(e.to_string().contains("lazy"), "{e}");
        assert_eq!(g.path, Path::new("/etc/interpose/a.wasm"));
        assert_eq!(g.on_failure, FailurePolicy::Skip);
        assert_eq!(g.instances, InstanceMode::Reuse);
        assert_eq!(g.clock, ClockMode::Real);
        assert_eq!(g.limits.fuel, 5);
        assert_eq!(g.limits.deadline, Duration::from_millis(250));
        assert_eq!(g.limits.memory, 2 * 1024 * 1024);
        assert_eq!(g.limits.max_output, 4096);
        assert_eq!(g.config["deny"], "x,y");
        assert_eq!(g.config["n"], "3");
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = parse("[[guest]]\nname='a'\npath='a.wasm'\nfeul=3\n").unwrap_err();
        assert!(e.to_string().contains("feul"), "{e}");
    }

    #[test]
    fn bad_unit_is_an_error() {
        let e = parse("[[guest]]\nname='a'\npath='a'\ndeadline='12 parsecs'\n").unwrap_err();
        assert!(e.to_string().contains("deadline"), "{e}");
        let e = parse("[[guest]]\nname='a'\npath='a'\nmemory='lots'\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
    }

    #[test]
    fn duplicate_names_are_an_error() {
        let e =
            parse("[[guest]]\nname='a'\npath='a'\n[[guest]]\nname='a'\npath='b'\n").unwrap_err();
        assert!(e.to_string().contains("duplicate guest name `a`"), "{e}");
    }

    #[test]
    fn zero_limits_and_nested_values_are_errors() {
        assert!(parse("[[guest]]\nname='a'\npath='a'\nfuel=0\n").is_err());
        assert!(parse("[[guest]]\nname='a'\npath='a'\ndeadline='0s'\n").is_err());
        assert!(parse("[[guest]]\nname='a'\npath='a'\nmemory='1KiB'\n").is_err());
        let e = parse("[[guest]]\nname='a'\npath='a'\n[guest.config]\nk=[1]\n").unwrap_err();
        assert!(e.to_string().contains("`k`"), "{e}");
    }

    #[test]
    fn native_slots_have_no_path_and_wasm_guests_need_one() {
        let c = parse("[[guest]]\nname='audit'\nnative=true\n[[guest]]\nname='a'\npath='a.wasm'\n")
            .unwrap();
        assert!(c.guests[0].native && !c.guests[1].native);
        assert!(
            parse("[[guest]]\nname='a'\n")
                .unwrap_err()
                .to_string()
                .contains("needs a `path`")
        );
        let e = parse("[[guest]]\nname='a'\nnative=true\npath='a.wasm'\n").unwrap_err();
        assert!(e.to_string().contains("is native"), "{e}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let e = Config::from_file("/nonexistent/interpose.toml").unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    }
}
