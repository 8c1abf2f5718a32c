//! The Temporal scenario the replay tests and the history recorder share: workflows that
//! exercise every workflow hook kind, a native recorder that sees what guests did (live and
//! in replay, where guest logs are dropped), and the worker, client and replayer set-up.
//!
//! `Covered` produces, in one run and the run it continues as: execute, signal, update (with
//! its validator), query, activity (its type chosen by the workflow's own random stream),
//! local activity, timer, child start, signal to the child and to an external workflow,
//! cancel of an external workflow, a last activity, continue-as-new.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use interpose::chain::{Call, Category, Hook, NativeDecision, NativeInterceptor};
use interpose::services::Scope;
use interpose::temporal::Interpose;
use serde::{Deserialize, Serialize};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowExecuteUpdateOptions,
    WorkflowGetResultOptions, WorkflowHistory, WorkflowQueryOptions, WorkflowSignalOptions,
    WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::common::v1::Payload as ProtoPayload;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, LocalActivityOptions,
    SyncWorkflowContext, WorkerOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// Input of [`Covered`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CoveredInput {
    /// A workflow to signal from outside the family.
    pub target: String,
    /// A workflow to cancel.
    pub victim: String,
    /// 0 for the first run, 1 for the run after continue-as-new.
    pub round: u32,
}

/// Every workflow hook kind in one workflow (see the module docs).
#[workflow]
#[derive(Default)]
pub struct Covered {
    approved: bool,
    value: u32,
}

#[workflow_methods]
impl Covered {
    /// The run.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: CoveredInput) -> WorkflowResult<u32> {
        if input.round == 1 {
            ctx.timer(Duration::from_millis(5)).await;
            return Ok(ctx.state(|s| s.value));
        }
        // The workflow's own random stream picks the activity type: a guest that drew from
        // this stream would change it, and replay would fail on the activity type.
        let pick: u32 = ctx.random();
        let options = || ActivityOptions::start_to_close_timeout(Duration::from_secs(10));
        if pick.is_multiple_of(2) {
            ctx.execute_activity(Acts::even, pick, options()).await?;
        } else {
            ctx.execute_activity(Acts::odd, pick, options()).await?;
        }
        ctx.execute_local_activity(
            Acts::even,
            2u32,
            LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(10))
                .build(),
        )
        .await?;
        ctx.timer(Duration::from_millis(10)).await;
        let child = ctx
            .start_child_workflow(
                Poked::run,
                (),
                ChildWorkflowOptions::workflow_id(format!("{}-child", ctx.workflow_id())),
            )
            .await?;
        child.signal(Poked::poke, (), Default::default()).await?;
        ctx.external_workflow(input.target.clone(), None)
            .signal(Poked::poke, (), Default::default())
            .await?;
        child.result().await?;
        let _ = ctx
            .external_workflow(input.victim.clone(), None)
            .cancel(Some("cancelled by Covered".into()))
            .await;
        ctx.wait_condition(|s| s.approved).await?;
        // One more command with headers after the cancel, which has none.
        ctx.execute_activity(Acts::odd, 1u32, options()).await?;
        ctx.continue_as_new(
            CoveredInput { round: 1, ..input },
            ContinueAsNewOptions::default(),
        )?;
        unreachable!("continue-as-new does not return")
    }

    /// Lets the run continue as new.
    #[signal]
    pub fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.approved = true;
    }

    /// The value set by updates.
    #[query]
    pub fn value(&self, _ctx: &WorkflowContextView) -> String {
        self.value.to_string()
    }

    /// Refuses values above 10.
    #[update_validator(set_value)]
    pub fn validate_value(
        &self,
        _ctx: &WorkflowContextView,
        v: &u32,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if *v > 10 {
            Err("value must be at most 10".into())
        } else {
            Ok(())
        }
    }

    /// Sets the value, returns the old one.
    #[update]
    pub fn set_value(&mut self, _ctx: &mut SyncWorkflowContext<Self>, v: u32) -> u32 {
        std::mem::replace(&mut self.value, v)
    }
}

/// Waits for `poke` (or cancellation).
#[workflow]
#[derive(Default)]
pub struct Poked {
    poked: bool,
}

#[workflow_methods]
impl Poked {
    /// An `#[init]` method: the SDK calls the initialize-workflow hook only for workflows
    /// that have one.
    #[init]
    pub fn new(_ctx: &WorkflowContextView) -> Self {
        Self::default()
    }

    /// The run.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.poked).await?;
        Ok(())
    }

    /// Ends the run.
    #[signal]
    pub fn poke(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _: ()) {
        self.poked = true;
    }
}

/// Runs `steps` activities, each after one `go` signal; returns what each activity got in
/// its `seen-p` header (the probe's per-run call count). The crash-recovery test kills the
/// worker between steps.
#[workflow]
#[derive(Default)]
pub struct Stepper {
    go: u32,
}

#[workflow_methods]
impl Stepper {
    /// The run.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, steps: u32) -> WorkflowResult<Vec<String>> {
        let mut out = Vec::new();
        for i in 0..steps {
            ctx.wait_condition(move |s| s.go > i).await?;
            let seen = ctx
                .execute_activity(
                    Acts::header,
                    "seen-p".to_string(),
                    // Short: an attempt lost with a killed worker is retried soon.
                    ActivityOptions::start_to_close_timeout(Duration::from_secs(3)),
                )
                .await?;
            out.push(seen);
        }
        Ok(out)
    }

    /// Lets the next step run.
    #[signal]
    pub fn go(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _: ()) {
        self.go += 1;
    }
}

/// Activities of the scenarios.
pub struct Acts;

#[activities]
impl Acts {
    /// Runs when the workflow's random pick is even.
    #[activity]
    pub async fn even(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n / 2)
    }

    /// Runs when the workflow's random pick is odd.
    #[activity]
    pub async fn odd(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n / 2)
    }

    /// Returns the header `key` it was scheduled with (JSON string), or "".
    #[activity]
    pub async fn header(ctx: ActivityContext, key: String) -> Result<String, ActivityError> {
        Ok(ctx
            .headers()
            .get(&key)
            .map(|p| {
                String::from_utf8_lossy(&p.data)
                    .trim_matches('"')
                    .to_owned()
            })
            .unwrap_or_default())
    }
}

/// One thing a guest left in a call's headers, as the [`Recorder`] saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The hook.
    pub hook: Hook,
    /// The header's value (JSON string decoded).
    pub value: String,
    /// Whether the run was replaying.
    pub replaying: bool,
}

/// A native interceptor placed after the guests under test (`native = true` entry named
/// `recorder`): records the value of one header on every workflow hook, live and in replay.
/// It is the tests' window on replay, where guest logs and metrics are dropped by design.
#[derive(Debug)]
pub struct Recorder {
    key: String,
    seen: Mutex<Vec<Seen>>,
}

impl Recorder {
    /// Records header `key`.
    pub fn new(key: &str) -> Arc<Recorder> {
        Arc::new(Recorder {
            key: key.to_owned(),
            seen: Mutex::default(),
        })
    }

    /// Everything recorded so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("recorder lock").clone()
    }

    /// Forget what was recorded.
    pub fn clear(&self) {
        self.seen.lock().expect("recorder lock").clear();
    }
}

impl NativeInterceptor for Recorder {
    fn wants(&self, hook: Hook) -> bool {
        matches!(
            hook.category(),
            Category::WorkflowInbound | Category::WorkflowOutbound
        )
    }

    fn before(&self, call: &mut Call, scope: &Scope) -> NativeDecision {
        let (Scope::Workflow(w), Some(p)) = (scope, call.headers().get(&self.key)) else {
            return NativeDecision::Proceed;
        };
        let info = w.info();
        self.seen.lock().expect("recorder lock").push(Seen {
            workflow_id: info.workflow_id,
            run_id: info.run_id,
            hook: call.hook(),
            value: json_string(&p.data),
            replaying: w.is_replaying(),
        });
        NativeDecision::Proceed
    }
}

fn json_string(data: &[u8]) -> String {
    serde_json::from_slice::<String>(data)
        .unwrap_or_else(|_| String::from_utf8_lossy(data).into_owned())
}

/// A client for `url` (the dev server's), with Interpose's client interceptor if given.
pub async fn client(url: &str, interpose: Option<&Interpose>) -> Client {
    let url = Url::from_str(url).expect("dev server url");
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .expect("connect to the dev server");
    let options = match interpose {
        Some(i) => ClientOptions::new("default")
            .client_interceptors(vec![i.client_interceptor()])
            .build(),
        None => ClientOptions::new("default").build(),
    };
    Client::new(connection, options).expect("client")
}

/// Worker options for `queue` with every scenario workflow and activity, and Interpose's
/// workflow and activity interceptors.
pub fn worker_options(queue: &str, interpose: &Interpose, client: &Client) -> WorkerOptions {
    WorkerOptions::new(queue)
        .register_workflow::<Covered>()
        .expect("register Covered")
        .register_workflow::<Poked>()
        .expect("register Poked")
        .register_workflow::<Stepper>()
        .expect("register Stepper")
        .register_activities(Acts)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(client))
        .build()
}

/// A replayer for the scenario workflows with Interpose's workflow interceptor.
pub fn replayer(interpose: &Interpose) -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<Covered>()
        .expect("register Covered")
        .register_workflow::<Poked>()
        .expect("register Poked")
        .workflow_interceptor(interpose.workflow_interceptor())
        .build();
    WorkflowReplayer::new(options).expect("replayer")
}

/// The runs one [`drive`] produced, by fixture name.
pub struct Runs {
    /// (fixture name, workflow id, run id) of every run whose history matters.
    pub runs: Vec<(String, String, String)>,
    /// What each query of `Covered` returned.
    pub query_answers: Vec<String>,
}

/// Drive one `Covered` family on `queue`: the target and victim, the update accepted and
/// the update rejected by its validator, a query, the approving signal; wait for the end.
pub async fn drive(client: &Client, queue: &str, prefix: &str) -> Runs {
    let target = format!("{prefix}-target");
    let victim = format!("{prefix}-victim");
    let start = |id: &str| WorkflowStartOptions::new(queue, id).build();
    let target_h = client
        .start_workflow(Poked::run, (), start(&target))
        .await
        .expect("start target");
    let victim_h = client
        .start_workflow(Poked::run, (), start(&victim))
        .await
        .expect("start victim");
    let id = format!("{prefix}-covered");
    let handle = client
        .start_workflow(
            Covered::run,
            CoveredInput {
                target: target.clone(),
                victim: victim.clone(),
                round: 0,
            },
            start(&id),
        )
        .await
        .expect("start Covered");
    let first_run = handle.run_id().unwrap_or_default().to_owned();
    let old = handle
        .execute_update(
            Covered::set_value,
            7,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect("update 7 accepted");
    assert_eq!(old, 0);
    let rejected = handle
        .execute_update(
            Covered::set_value,
            99,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await;
    assert!(rejected.is_err(), "the validator rejects 99");
    let mut query_answers = Vec::new();
    for _ in 0..2 {
        query_answers.push(
            handle
                .query(Covered::value, (), WorkflowQueryOptions::default())
                .await
                .expect("query"),
        );
    }
    handle
        .signal(
            Covered::approve,
            "carol".to_string(),
            WorkflowSignalOptions::default(),
        )
        .await
        .expect("signal");
    let result = tokio::time::timeout(
        Duration::from_secs(90),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("Covered finishes within 90 s")
    .expect("Covered completes");
    assert_eq!(
        result, 0,
        "the run after continue-as-new starts with fresh state"
    );
    target_h
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("target completes");
    let _ = victim_h
        .get_result(WorkflowGetResultOptions::default())
        .await;
    let latest = client
        .get_workflow_handle::<Covered>(&id)
        .describe(Default::default())
        .await
        .expect("describe the run after continue-as-new");
    let run_of = |d: &temporalio_client::WorkflowExecutionDescription| d.run_id().to_owned();
    let mut runs = vec![
        ("covered".to_owned(), id.clone(), first_run),
        ("covered-after-can".to_owned(), id.clone(), run_of(&latest)),
    ];
    for (name, wid) in [
        ("child", format!("{id}-child")),
        ("target", target),
        ("victim", victim),
    ] {
        let d = client
            .get_workflow_handle::<Poked>(&wid)
            .describe(Default::default())
            .await
            .expect("describe");
        runs.push((name.to_owned(), wid, run_of(&d)));
    }
    Runs {
        runs,
        query_answers,
    }
}

/// The history of one run.
pub async fn history(client: &Client, workflow_id: &str, run_id: &str) -> Vec<HistoryEvent> {
    temporalio_client::WorkflowHandle::<_, Covered>::new(
        client.clone(),
        temporalio_client::WorkflowExecutionInfo::builder()
            .namespace("default")
            .workflow_id(workflow_id)
            .run_id(run_id)
            .build(),
    )
    .fetch_history(Default::default())
    .into_events()
    .await
    .expect("fetch history")
}

/// The messages of the workflow task failures recorded in `events`, in history order.
pub fn workflow_task_failures(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => Some(
                a.failure
                    .as_ref()
                    .map_or(String::new(), |f| f.message.clone()),
            ),
            _ => None,
        })
        .collect()
}

/// A replayable history from events.
pub fn replayable(events: Vec<HistoryEvent>) -> WorkflowHistory {
    temporalio_common::protos::temporal::api::history::v1::History { events }.into()
}

/// The header `key` of every command recorded in `events` that carries headers (activity
/// scheduled, child started, external signal), in history order, with the hook that made it.
pub fn recorded_headers(events: &[HistoryEvent], key: &str) -> Vec<(Hook, String)> {
    let pick = |h: &Option<temporalio_common::protos::temporal::api::common::v1::Header>| {
        h.as_ref()
            .and_then(|h| h.fields.get(key))
            .map(|p: &ProtoPayload| json_string(&p.data))
    };
    events
        .iter()
        .filter_map(|e| match e.attributes.as_ref()? {
            Attributes::ActivityTaskScheduledEventAttributes(a) => {
                Some((Hook::ScheduleActivity, pick(&a.header)?))
            }
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a) => {
                Some((Hook::StartChildWorkflow, pick(&a.header)?))
            }
            Attributes::SignalExternalWorkflowExecutionInitiatedEventAttributes(a) => {
                Some((Hook::SignalExternalWorkflow, pick(&a.header)?))
            }
            _ => None,
        })
        .collect()
}

/// The hooks whose headers Temporal records in history.
pub fn recorded_hook(hook: Hook) -> bool {
    matches!(
        hook,
        Hook::ScheduleActivity | Hook::StartChildWorkflow | Hook::SignalExternalWorkflow
    )
}

/// Where the committed history fixtures live.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/histories")
}

/// The guest set the fixtures were recorded with (`interpose.toml` text); `probe_extra` is
/// added to the `probe` guest's config (the negative replay test changes it).
pub fn fixture_config(probe_extra: &str) -> String {
    use crate::guests;
    format!(
        r#"
[[guest]]
name = "context"
path = "{ctx}"

[[guest]]
name = "probe"
path = "{probe}"
[guest.config]
tag = "p"
{probe_extra}

[[guest]]
name = "wasi"
path = "{wasi}"

[[guest]]
name = "logger"
path = "{logger}"

[[guest]]
name = "recorder"
native = true
"#,
        ctx = guests::CONTEXT_PROPAGATION,
        probe = guests::PROBE,
        wasi = guests::WASI_PROBE,
        logger = guests::REPLAY_LOGGER,
    )
}

/// The probe's config line that the fixtures were recorded with: its scheduled activities
/// get ids `p-<n>`, an edit that changes the commands.
pub const FIXTURE_PROBE: &str = "activity-id = \"p\"";

/// Load `toml` with the recorder bound to its `recorder` entry, on the shared engine, with
/// memory log and metric sinks.
pub fn load_recorded(
    toml: &str,
    recorder: Arc<Recorder>,
) -> (
    Interpose,
    Arc<interpose::services::MemoryLogs>,
    Arc<interpose::services::MemoryMetrics>,
) {
    let config = interpose::config::Config::from_toml(
        toml,
        std::path::Path::new("/"),
        std::path::Path::new("replay.toml"),
    )
    .expect("config");
    let logs = Arc::new(interpose::services::MemoryLogs::default());
    let metrics = Arc::new(interpose::services::MemoryMetrics::default());
    let chain = interpose::chain::Chain::load(
        &crate::runtime().with_sinks(metrics.clone(), logs.clone()),
        &config,
        vec![("recorder".into(), recorder as Arc<dyn NativeInterceptor>)],
    )
    .expect("load guests");
    (
        Interpose::from_chain(crate::runtime().clone(), chain),
        logs,
        metrics,
    )
}

/// Run a worker with `options` on the current tokio runtime while `body` runs, then shut it
/// down and wait for it.
pub async fn with_worker<T>(
    client: &Client,
    options: WorkerOptions,
    body: impl std::future::Future<Output = T>,
) -> T {
    let sdk = temporalio_sdk::Runtime::from_current_tokio(Default::default()).expect("sdk runtime");
    let mut worker = temporalio_sdk::Worker::new(&sdk, client.clone(), options).expect("worker");
    let shutdown = worker.shutdown_handle();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            let out = body.await;
            shutdown();
            running
                .await
                .expect("worker task")
                .expect("worker ran cleanly");
            out
        })
        .await
}
