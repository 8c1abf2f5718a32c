//! `interpose versions`: which interceptor chain handled each workflow task of a run, from
//! the build ids Temporal recorded (see [`interpose::temporal::versions`]), and whether a
//! config's chain is the one a run started with.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use temporalio_common::protos::temporal::api::history::v1::{History, HistoryEvent};

use interpose::config::Config;
use interpose::runtime::Runtime;
use interpose::temporal::versions::{self, RunVersions};

/// Where the history comes from.
pub(super) enum Source {
    /// A server: workflow id, optional run id, optional address and namespace.
    Server {
        workflow_id: String,
        run_id: Option<String>,
        address: Option<String>,
        namespace: Option<String>,
    },
    /// A history file as the Temporal Rust SDK writes it (`WorkflowHistory::to_json`).
    File(PathBuf),
}

pub(super) fn run(
    source: Source,
    config: Option<PathBuf>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (label, events) = match source {
        Source::File(path) => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let history: History = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a workflow history in the Temporal Rust SDK's JSON form",
                    path.display()
                )
            })?;
            (path.display().to_string(), history.events)
        }
        Source::Server {
            workflow_id,
            run_id,
            address,
            namespace,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let events = rt.block_on(fetch(&workflow_id, run_id.as_deref(), address, namespace))?;
            (format!("workflow {workflow_id}"), events)
        }
    };
    if events.is_empty() {
        bail!("{label}: the history has no events");
    }
    let stamps = versions::stamps(&events);
    let summary = versions::summarize(&stamps);
    report(out, &label, &events, &stamps, &summary)?;
    if let Some(config) = config {
        compare(out, &config, &summary)?;
    }
    Ok(())
}

async fn fetch(
    workflow_id: &str,
    run_id: Option<&str>,
    address: Option<String>,
    namespace: Option<String>,
) -> anyhow::Result<Vec<HistoryEvent>> {
    use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};
    let (connection, ns) = match address {
        Some(a) => {
            let url = if a.contains("://") {
                a
            } else {
                format!("http://{a}")
            };
            let url = Url::parse(&url).with_context(|| format!("bad --address {url}"))?;
            (ConnectionOptions::new(url).build(), None)
        }
        None => {
            let target = interpose::temporal::connect::configured()?.context(
                "no Temporal server configured: pass --address, set TEMPORAL_ADDRESS (and \
                 TEMPORAL_NAMESPACE) or a temporal.toml profile, or read a file with --history",
            )?;
            (target.connection, Some(target.namespace))
        }
    };
    let namespace = namespace.or(ns).unwrap_or_else(|| "default".into());
    let conn = Connection::connect(connection)
        .await
        .context("connecting to Temporal")?;
    let client = Client::new(conn, ClientOptions::new(namespace.clone()).build())?;
    let base = || {
        temporalio_client::WorkflowExecutionInfo::builder()
            .namespace(namespace.clone())
            .workflow_id(workflow_id)
    };
    let info = match run_id {
        Some(r) => base().run_id(r).build(),
        None => base().build(),
    };
    let handle = temporalio_client::WorkflowHandle::<_, temporalio_common::UntypedWorkflow>::new(
        client, info,
    );
    handle
        .fetch_history(Default::default())
        .into_events()
        .await
        .with_context(|| format!("fetching the history of workflow {workflow_id}"))
}

fn report(
    out: &mut dyn Write,
    label: &str,
    events: &[HistoryEvent],
    stamps: &[versions::TaskStamp],
    summary: &RunVersions,
) -> std::io::Result<()> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let run = match events.first().and_then(|e| e.attributes.as_ref()) {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            format!(
                " ({} run {})",
                a.workflow_type.as_ref().map_or("?", |t| t.name.as_str()),
                a.original_execution_run_id
            )
        }
        _ => String::new(),
    };
    writeln!(
        out,
        "{label}{run}: {} events, {} workflow tasks completed",
        events.len(),
        summary.tasks
    )?;
    match (&summary.started_with, stamps.first()) {
        (Some(chain), Some(first)) => writeln!(
            out,
            "  started with interceptor chain {chain} (build id {})",
            first.build_id
        )?,
        (None, Some(first)) => writeln!(
            out,
            "  started on a worker without an interceptor stamp (build id {:?}); stamp workers \
             with Interpose::stamp_worker to record their interceptor chain",
            first.build_id
        )?,
        (_, None) => writeln!(out, "  no workflow task completed yet")?,
    }
    for (event, from, to) in &summary.changes {
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "(unstamped)".into());
        writeln!(
            out,
            "  event {event}: interceptor chain {} -> {}",
            show(from),
            show(to)
        )?;
    }
    if summary.changes.is_empty() && summary.tasks > 1 {
        writeln!(out, "  every workflow task ran under the same chain")?;
    }
    Ok(())
}

fn compare(out: &mut dyn Write, config: &Path, summary: &RunVersions) -> anyhow::Result<()> {
    let cfg = Config::from_file(config)?;
    let runtime = Runtime::builder().for_config(&cfg).build()?;
    let chain = interpose::chain::Chain::load(&runtime, &cfg, Vec::new())?;
    let fp = chain.fingerprint();
    writeln!(
        out,
        "{}: interceptor chain {} ({fp})",
        config.display(),
        &fp[..versions::STAMP_DIGITS]
    )?;
    for (i, g) in chain.guests().enumerate() {
        writeln!(out, "  {}. {} sha256:{}", i + 1, g.name, g.hash)?;
    }
    let latest = summary
        .changes
        .last()
        .map_or(summary.started_with.clone(), |(_, _, to)| to.clone());
    let is = |c: &Option<String>| c.as_deref().is_some_and(|c| versions::same_chain(c, fp));
    let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "(unstamped)".into());
    if summary.started_with.is_none() && summary.changes.is_empty() {
        writeln!(
            out,
            "  the run's workers were not stamped: which chain it ran under is unknown"
        )?;
    } else if is(&summary.started_with) && summary.changes.is_empty() {
        writeln!(
            out,
            "  same chain as every workflow task of the run: replaying it with this config \
             reproduces what its guests did"
        )?;
    } else if is(&summary.started_with) {
        writeln!(
            out,
            "  same chain as the run started with; its later tasks ran under {}",
            show(&latest)
        )?;
    } else if is(&latest) {
        writeln!(
            out,
            "  same chain as the run's latest workflow task; the run started under {}",
            show(&summary.started_with)
        )?;
    } else {
        writeln!(
            out,
            "  DIFFERENT from every chain the run ran under (started with {}): replaying the \
             run with this config fails if the change alters the commands the run produced \
             (activity or child ids and types, rejections, failures); header, log and metric \
             changes replay. See README, \"Interceptor versions\".",
            show(&summary.started_with)
        )?;
    }
    Ok(())
}
