//! Temporal adapters: the chain plugged into the Temporal Rust SDK's interceptor traits.
//!
//! - [`client`]: every client operation (`ClientInterceptor`);
//! - [`workflow`]: workflow inbound and outbound calls (`WorkflowInterceptor`, one per run);
//! - [`activity`]: every activity attempt (`ActivityInboundInterceptor`);
//! - [`connect`]: the user's cluster from Temporal's envconfig, or (`dev-server` feature) the
//!   embedded dev server;
//! - `convert`: payload, header, failure and time conversions shared by the adapters;
//! - `plugin` (feature `plugin`): all of it as one Temporal SDK plugin.
//!
//! [`Interpose`] is the one registration point: a loaded config gives the client
//! interceptor and the worker interceptors, so a guest that exports client and worker
//! categories is loaded once and applies to both (as an interceptor registered on a Temporal
//! client applies to workers built on that client in the other SDKs).

pub mod activity;
pub mod args;
pub mod client;
pub mod connect;
mod convert;
pub mod metrics;
#[cfg(feature = "plugin")]
pub mod plugin;
pub mod versions;
pub mod workflow;

use std::path::Path;
use std::sync::Arc;

pub use activity::WasmActivityInterceptor;
pub use client::WasmClientInterceptor;

use crate::chain::Chain;
use crate::config::Config;
use crate::model::Hook;

/// The hooks of the contract the Temporal Rust SDK has no interceptor method for, so that
/// Rust clients and workers never call them, with why (`temporalio-client` 1.1.1's
/// `ClientInterceptor`, `temporalio-sdk` 1.1.1's `src/interceptors.rs`). The `interpose`
/// Python package calls them; its `NOT_ADAPTED` is the same list the other way round.
pub const NOT_IN_RUST_SDK: &[(Hook, &str)] = &[
    (
        Hook::ActivityHeartbeat,
        "the Temporal Rust SDK has no activity outbound interceptor",
    ),
    (Hook::StartActivity, STANDALONE_ACTIVITIES),
    (Hook::CancelActivity, STANDALONE_ACTIVITIES),
    (Hook::TerminateActivity, STANDALONE_ACTIVITIES),
    (Hook::PauseActivity, STANDALONE_ACTIVITIES),
    (Hook::UnpauseActivity, STANDALONE_ACTIVITIES),
    (Hook::UpdateActivityOptions, STANDALONE_ACTIVITIES),
    (Hook::DescribeActivity, STANDALONE_ACTIVITIES),
    (Hook::ListActivities, STANDALONE_ACTIVITIES),
    (Hook::CountActivities, STANDALONE_ACTIVITIES),
    (Hook::StartStandaloneNexusOperation, STANDALONE_NEXUS),
    (Hook::DescribeNexusOperation, STANDALONE_NEXUS),
    (Hook::GetNexusOperationResult, STANDALONE_NEXUS),
    (Hook::CancelNexusOperation, STANDALONE_NEXUS),
    (Hook::TerminateNexusOperation, STANDALONE_NEXUS),
    (Hook::ListNexusOperations, STANDALONE_NEXUS),
    (Hook::CountNexusOperations, STANDALONE_NEXUS),
    (Hook::UpdateWorkerBuildIdCompatibility, BUILD_IDS),
    (Hook::GetWorkerBuildIdCompatibility, BUILD_IDS),
    (Hook::GetWorkerTaskReachability, BUILD_IDS),
];

/// The hooks of `categories` a guest declares (`declared`) that Rust clients and workers
/// never call, by name.
fn never_called(
    categories: &[crate::model::Category],
    declared: impl Fn(Hook) -> bool,
) -> Vec<&'static str> {
    NOT_IN_RUST_SDK
        .iter()
        .filter(|(hook, _)| categories.contains(&hook.category()) && declared(*hook))
        .map(|(hook, _)| hook.name())
        .collect()
}

const STANDALONE_ACTIVITIES: &str =
    "the Temporal Rust SDK's client has no standalone activities (no interceptor method)";
const STANDALONE_NEXUS: &str =
    "the Temporal Rust SDK's client has no standalone Nexus operations (no interceptor method)";
const BUILD_IDS: &str =
    "the Temporal Rust SDK's client interceptor has no worker build-id (versioning v1) methods";
use crate::runtime::Runtime;

/// A loaded config, ready to be registered with a Temporal client and worker.
#[derive(Clone, Debug)]
pub struct Interpose {
    runtime: Runtime,
    chain: Chain,
    args: args::ArgTypes,
}

/// Refuse a config whose explicit `max-instances` cannot hold what the worker can need.
fn fits(config: &Config, chain: &Chain) -> Result<(), crate::Error> {
    let needed = chain.instances_needed(&config.runtime);
    match config.runtime.max_instances {
        Some(max) if u64::from(max) < needed => Err(crate::error::ConfigError::Invalid {
            path: config.origin.clone(),
            message: format!(
                "runtime.max-instances = {max} cannot hold what the worker can need at once: \
                 {needed} instances (2 per cached run per workflow guest, with cached-runs = \
                 {}, plus {} per client or activity guest). Raise max-instances to {needed}, \
                 lower cached-runs with the worker's max_cached_workflows, or leave \
                 max-instances unset to size the pool from cached-runs",
                config.runtime.cached_runs,
                crate::config::CALL_INSTANCES_PER_GUEST
            ),
        }
        .into()),
        _ => Ok(()),
    }
}

impl Interpose {
    /// Load `interpose.toml` and every guest it names (in order). Fails before anything is
    /// registered if any guest is invalid.
    pub fn load(path: impl AsRef<Path>) -> Result<Interpose, crate::Error> {
        Interpose::from_config(&Config::from_file(path)?)
    }

    /// Load `interpose.toml` as [`Interpose::load`] does, with the guests' metrics, log
    /// lines and spans going to `metrics`, `logs` and `traces` (an embedding that has its
    /// own telemetry, such as the Python package's bridges to Python `logging` and
    /// OpenTelemetry).
    pub fn load_with_sinks(
        path: impl AsRef<Path>,
        metrics: Arc<dyn crate::services::MetricsSink>,
        logs: Arc<dyn crate::services::LogSink>,
        traces: Arc<dyn crate::services::TraceSink>,
    ) -> Result<Interpose, crate::Error> {
        let config = Config::from_file(path)?;
        let runtime = Runtime::builder()
            .for_config(&config)
            .traces(traces)
            .build()?
            .with_sinks(metrics, logs);
        let chain = crate::chain::Chain::load(&runtime, &config, Vec::new())?;
        fits(&config, &chain)?;
        Ok(Interpose {
            runtime,
            chain,
            args: args::ArgTypes::default(),
        })
    }

    /// Load the guests of an already parsed config.
    pub fn from_config(config: &Config) -> Result<Interpose, crate::Error> {
        let runtime = Runtime::builder().for_config(config).build()?;
        let chain = crate::chain::Chain::load(&runtime, config, Vec::new())?;
        fits(config, &chain)?;
        Ok(Interpose {
            runtime,
            chain,
            args: args::ArgTypes::default(),
        })
    }

    /// Load `interpose.toml`, binding native Rust interceptors by name to its
    /// `native = true` entries: Wasm guests and native interceptors then run in one
    /// ordered chain, in config order.
    pub fn load_with_natives(
        path: impl AsRef<Path>,
        natives: Vec<(String, Arc<dyn crate::chain::NativeInterceptor>)>,
    ) -> Result<Interpose, crate::Error> {
        let config = Config::from_file(path)?;
        let runtime = Runtime::builder().for_config(&config).build()?;
        let chain = crate::chain::Chain::load(
            &runtime.with_sinks(
                Arc::new(crate::services::NoMetrics),
                Arc::new(crate::services::TracingLogs),
            ),
            &config,
            natives,
        )?;
        fits(&config, &chain)?;
        Ok(Interpose {
            runtime,
            chain,
            args: args::ArgTypes::default(),
        })
    }

    /// Wrap an already loaded chain.
    pub fn from_chain(runtime: Runtime, chain: Chain) -> Interpose {
        Interpose {
            runtime,
            chain,
            args: args::ArgTypes::default(),
        }
    }

    /// Show guests the arguments of these workflow and activity types (see [`args`]).
    #[must_use]
    pub fn with_arg_types(mut self, args: args::ArgTypes) -> Interpose {
        self.args = args;
        self
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The chain's fingerprint (see [`Chain::fingerprint`]).
    pub fn fingerprint(&self) -> &str {
        self.chain.fingerprint()
    }

    /// `build_id` stamped with this chain's fingerprint:
    /// `<build_id>+interpose.<first 12 hex digits>` (see [`versions`]).
    pub fn stamp_build_id(&self, build_id: &str) -> String {
        versions::stamp(build_id, self.chain.fingerprint())
    }

    /// Check that a worker with `options` fits the instance pool: with its cache full
    /// (`max_cached_workflows` runs) the chain can need [`Chain::instances_needed`]
    /// instances, and the pool this chain runs on must hold them. Call it before building
    /// the worker; a worker that does not fit fails workflow tasks (retried, never skipped)
    /// whenever its cache fills up.
    pub fn check_worker(
        &self,
        options: &temporalio_sdk::WorkerOptions,
    ) -> Result<(), crate::Error> {
        let cached = u32::try_from(options.max_cached_workflows).unwrap_or(u32::MAX);
        let runtime = crate::config::RuntimeConfig {
            cached_runs: cached,
            ..Default::default()
        };
        let needed = self.chain.instances_needed(&runtime);
        let pool = self.runtime.max_instances();
        if needed > u64::from(pool) {
            return Err(crate::Error::WorkerDoesNotFit {
                cached_runs: u64::from(cached),
                needed,
                pool,
            });
        }
        Ok(())
    }

    /// Stamp a worker's build id with this chain's fingerprint. Temporal records the build
    /// id on every workflow task the worker completes, so each run's history then says
    /// which interceptor set it started with and when another took over
    /// (`interpose versions`). With Worker Versioning, the stamped build id also makes a
    /// new interceptor set a new deployment version: pinned runs finish on workers with
    /// the set they started with.
    pub fn stamp_worker(&self, options: &mut temporalio_sdk::WorkerOptions) {
        let version = &mut options.deployment_options.version;
        version.build_id = self.stamp_build_id(&version.build_id);
        tracing::info!(
            build_id = %version.build_id,
            chain = %self.chain.fingerprint(),
            guests = ?self.chain.guests().map(|g| format!("{} sha256:{}", g.name, g.hash)).collect::<Vec<_>>(),
            "interpose: worker stamped with its interceptor chain"
        );
    }

    /// The client interceptor, for `ClientOptions::client_interceptors`. Put it first in
    /// the list to make the Wasm chain the outermost interceptor.
    ///
    /// The Temporal Rust SDK's client has no standalone activities, standalone Nexus
    /// operations or worker build-id calls: a guest's hooks for them are never called here
    /// (a warning says so; [`NOT_IN_RUST_SDK`]).
    pub fn client_interceptor(&self) -> Arc<dyn temporalio_client::ClientInterceptor> {
        self.warn_not_in_rust_sdk(&[crate::model::Category::Client]);
        Arc::new(WasmClientInterceptor::new(self.chain.clone()))
    }

    /// The workflow interceptor constructor, for `WorkerOptions::workflow_interceptor`:
    /// one interceptor (and one instance per guest) per workflow run.
    pub fn workflow_interceptor(
        &self,
    ) -> temporalio_workflow::workflow_interceptors::WorkflowInterceptorConstructor {
        workflow::constructor(self.chain.clone(), self.args.clone())
    }

    /// Warn, with one line per guest, of the hooks of `categories` it declares that the
    /// Temporal Rust SDK never calls ([`NOT_IN_RUST_SDK`]); at each registration.
    pub(crate) fn warn_not_in_rust_sdk(&self, categories: &[crate::model::Category]) {
        for g in self.chain.guests() {
            let never = never_called(categories, |hook| {
                g.interests.values().flatten().any(|i| i.hook == hook)
            });
            if !never.is_empty() {
                tracing::warn!(
                    guest = %g.name,
                    hooks = ?never,
                    "guest `{}` declares hooks the Temporal Rust SDK has no interceptor for, \
                     so Rust clients and workers never call them: {} (Python clients and \
                     workers with the `interpose` package do; `NOT_IN_RUST_SDK` says why)",
                    g.name,
                    never.join(", ")
                );
            }
        }
    }

    /// The activity interceptor, for `WorkerOptions::activity_inbound_interceptor`. Guest
    /// heartbeats (`activity-context.heartbeat`) are recorded through `client`, the worker's
    /// (see [`WasmActivityInterceptor::heartbeats_through`]).
    ///
    /// The Temporal Rust SDK has no activity outbound interceptor: a guest's
    /// `activity-heartbeat` hook is never called in a Rust worker (a warning says so).
    pub fn activity_interceptor(
        &self,
        client: &temporalio_client::Client,
    ) -> WasmActivityInterceptor {
        self.warn_not_in_rust_sdk(&[crate::model::Category::ActivityOutbound]);
        WasmActivityInterceptor::new(self.chain.clone())
            .with_arg_types(self.args.clone())
            .heartbeats_through(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;

    #[test]
    fn the_hooks_rust_never_calls_are_named_by_category_and_only_when_declared() {
        let client = never_called(&[Category::Client], |_| true);
        assert_eq!(client.len(), 19, "{client:?}");
        assert!(
            client.contains(&"start-activity") && client.contains(&"get-worker-task-reachability")
        );
        assert!(!client.contains(&"start-workflow") && !client.contains(&"activity-heartbeat"));
        assert_eq!(
            never_called(&[Category::ActivityOutbound], |_| true),
            ["activity-heartbeat"]
        );
        assert!(never_called(&[Category::Client], |h| h == Hook::StartWorkflow).is_empty());
        assert_eq!(
            never_called(&[Category::Client], |h| h == Hook::CountNexusOperations),
            ["count-nexus-operations"]
        );
        // Each hook once, each with its reason.
        let mut hooks: Vec<_> = NOT_IN_RUST_SDK.iter().map(|(h, _)| h.name()).collect();
        hooks.sort_unstable();
        hooks.dedup();
        assert_eq!(hooks.len(), NOT_IN_RUST_SDK.len());
        assert!(
            NOT_IN_RUST_SDK
                .iter()
                .all(|(_, why)| why.contains("Rust SDK"))
        );
    }
}
