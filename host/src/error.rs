//! Typed errors at the public boundary.
//!
//! Every guest failure names the guest, the hook, the phase and the cause, so an operator
//! can tell from one line which interceptor misbehaved and why.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Hook, Phase};

/// Why a guest call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestFailure {
    /// The guest used its whole fuel budget for one call.
    OutOfFuel {
        /// The budget, in fuel units.
        limit: u64,
    },
    /// The guest ran past its wall-time deadline.
    Deadline {
        /// The deadline.
        limit: Duration,
    },
    /// The guest tried to grow a memory or a table past its limit.
    MemoryLimit {
        /// The limit that was hit.
        detail: String,
    },
    /// The guest exhausted its stack (e.g. unbounded recursion).
    StackOverflow,
    /// The guest produced more output (headers, args, payloads) than allowed for one call.
    OutputLimit {
        /// Bytes the guest tried to produce.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The guest trapped (panic, `unreachable`, a host call used where it is not allowed).
    Trap {
        /// The trap message, with the guest's last error log line when it logged one (a Rust
        /// guest's panic message arrives that way).
        message: String,
    },
    /// The guest returned a decision the hook does not allow (e.g. `respond` on a hook
    /// whose result is not a payload list).
    InvalidDecision {
        /// What was wrong.
        message: String,
    },
    /// The host had no room for another instance (the instance pool, sized by
    /// `runtime.max-instances`, is full). Not the guest's failure: it is never skipped under
    /// `on-failure = "skip"` and never poisons a workflow run, so how busy a worker is
    /// cannot change what a workflow does; the call (for workflows, the workflow task)
    /// fails and is retried.
    Capacity {
        /// What ran out.
        message: String,
    },
    /// The guest could not be instantiated (e.g. its start function trapped).
    Instantiate {
        /// The cause.
        message: String,
    },
    /// The guest's instance for this workflow run failed earlier and was discarded; it gets
    /// a fresh instance when the run is rebuilt (e.g. after the workflow task is retried).
    Poisoned,
}

impl GuestFailure {
    /// The cause as one short word, the `cause` label of the operator metric
    /// `interpose_guest_failures`: `fuel`, `deadline`, `memory`, `stack`, `output`, `trap`,
    /// `invalid_decision`, `capacity`, `instantiate` or `poisoned`.
    pub fn cause(&self) -> &'static str {
        match self {
            GuestFailure::OutOfFuel { .. } => "fuel",
            GuestFailure::Deadline { .. } => "deadline",
            GuestFailure::MemoryLimit { .. } => "memory",
            GuestFailure::StackOverflow => "stack",
            GuestFailure::OutputLimit { .. } => "output",
            GuestFailure::Trap { .. } => "trap",
            GuestFailure::InvalidDecision { .. } => "invalid_decision",
            GuestFailure::Capacity { .. } => "capacity",
            GuestFailure::Instantiate { .. } => "instantiate",
            GuestFailure::Poisoned => "poisoned",
        }
    }
}

impl fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestFailure::OutOfFuel { limit } => {
                write!(f, "out of fuel (budget {limit} units per call)")
            }
            GuestFailure::Deadline { limit } => {
                write!(
                    f,
                    "deadline exceeded ({} per call)",
                    humantime::format_duration(*limit)
                )
            }
            GuestFailure::MemoryLimit { detail } => write!(f, "memory limit: {detail}"),
            GuestFailure::StackOverflow => f.write_str("stack overflow"),
            GuestFailure::OutputLimit { size, limit } => {
                write!(
                    f,
                    "output of {size} bytes exceeds the limit of {limit} bytes per call"
                )
            }
            GuestFailure::Trap { message } => write!(f, "trap: {message}"),
            GuestFailure::InvalidDecision { message } => write!(f, "invalid decision: {message}"),
            GuestFailure::Capacity { message } => write!(
                f,
                "host capacity: {message} (raise `runtime.max-instances`; this is not the \
                 guest's failure, and `on-failure = \"skip\"` does not apply)"
            ),
            GuestFailure::Instantiate { message } => write!(f, "instantiation failed: {message}"),
            GuestFailure::Poisoned => {
                f.write_str("instance was discarded after an earlier failure in this workflow run")
            }
        }
    }
}

/// A guest failed while handling a hook, under a fail-closed policy.
#[derive(Clone, Debug, thiserror::Error)]
#[error("interceptor `{guest}` failed in hook `{hook}` ({phase}): {cause}")]
#[non_exhaustive]
pub struct GuestError {
    /// The guest's name from the config.
    pub guest: String,
    /// The hook.
    pub hook: Hook,
    /// The phase.
    pub phase: Phase,
    /// The cause.
    pub cause: GuestFailure,
}

/// The config file is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the schema (unknown keys are errors).
    #[error("invalid config `{path}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// The config parses but is inconsistent.
    #[error("invalid config `{path}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the guest.
        message: String,
    },
}

/// A guest could not be loaded. The worker must not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("guest `{guest}`: cannot read `{path}`: {source}")]
    Read {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid Wasm component.
    #[error("guest `{guest}`: `{path}` is not a valid component: {message}")]
    NotAComponent {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The component imports something the host does not provide.
    #[error(
        "guest `{guest}`: `{path}` imports `{import}`, which Interpose does not provide: {reason}"
    )]
    ForbiddenImport {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// The import name.
        import: String,
        /// Why it is refused.
        reason: String,
    },
    /// The component exports no interface of `interpose:interceptor` at a compatible version.
    #[error("guest `{guest}`: `{path}` {message}")]
    NoInterceptorExport {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// What it exports instead.
        message: String,
    },
    /// The component was built for another version of the `interpose:interceptor` contract.
    #[error(
        "guest `{guest}`: `{path}` was built for interpose:interceptor@{found}; this host implements interpose:interceptor@{ours}. {advice}"
    )]
    ContractVersion {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// The version the component imports or exports.
        found: String,
        /// The version this host implements.
        ours: String,
        /// What to do about it.
        advice: String,
    },
    /// The guest declared header reads the host refuses (too many keys, a key too long).
    #[error("guest `{guest}`: `{path}` declares invalid header reads for hook `{hook}`: {reason}")]
    InvalidHeaderReads {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// The hook.
        hook: Hook,
        /// Why.
        reason: String,
    },
    /// The component's exports or imports do not have the types this host expects.
    #[error(
        "guest `{guest}`: `{path}` does not match the interpose:interceptor contract: {message}"
    )]
    Incompatible {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The guest failed while declaring its interests.
    #[error("guest `{guest}`: `{path}` failed while declaring interests: {cause}")]
    Interests {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// Why.
        cause: GuestFailure,
    },
    /// The guest declared a hook of another category in an interest list.
    #[error(
        "guest `{guest}`: `{path}` declares hook `{hook}` in the interests of `{category}`, where it does not belong"
    )]
    InvalidInterest {
        /// Guest name.
        guest: String,
        /// File.
        path: PathBuf,
        /// The hook.
        hook: Hook,
        /// The category whose interests listed it.
        category: crate::model::Category,
    },
}

/// Anything that stops Interpose from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A guest could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The Wasm engine could not be created.
    #[error("cannot create the Wasm engine: {0}")]
    Engine(String),
    /// A worker would need more guest instances than the pool holds (see
    /// `Interpose::check_worker`).
    #[error(
        "the worker caches up to {cached_runs} workflow runs (max_cached_workflows); this \
         chain then needs up to {needed} guest instances, but the pool holds {pool} \
         (runtime.max-instances): set `cached-runs = {cached_runs}` in [runtime] and leave \
         max-instances unset (the pool is then sized from it), raise max-instances to \
         {needed}, or lower max_cached_workflows"
    )]
    WorkerDoesNotFit {
        /// The worker's `max_cached_workflows`.
        cached_runs: u64,
        /// Instances the chain can then need at once.
        needed: u64,
        /// The pool's size.
        pool: u32,
    },
}
