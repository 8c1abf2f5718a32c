//! `interpose demo`: the example guests on a simulated scenario, every hop printed.
//! (Runs the chain without Temporal; the Temporal-backed demo replaces this scenario when
//! the Temporal adapters land.)

use std::path::PathBuf;
use std::sync::Arc;

use crate::chain::{Call, CallDetail, Chain, Hook, Outcome, Payload, WorkflowStart};
use crate::config::Config;
use crate::runtime::Runtime;
use crate::services::{
    ActivityInfo, FixedActivity, FixedWorkflow, MemoryLogs, MemoryMetrics, Scope, WorkflowInfo,
};

fn show(p: &Payload) -> String {
    String::from_utf8_lossy(&p.data).into_owned()
}

fn print_call(prefix: &str, call: &Call) {
    let headers: Vec<String> = call
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect();
    println!(
        "  {prefix} {:<22} headers [{}]",
        call.hook().name(),
        headers.join(", ")
    );
}

fn hop(
    chain: &Chain,
    session: &mut crate::Session,
    mut call: Call,
) -> anyhow::Result<(Call, Outcome)> {
    print_call("→", &call);
    let before = call.clone();
    let outcome = session.run(&mut call, |_| Outcome::Ok(vec![Payload::json("\"done\"")]));
    let _ = chain;
    match outcome {
        Ok(o) => {
            if call.headers() != before.headers() {
                print_call("  edited:", &call);
            }
            match &o {
                Outcome::Ok(_) => println!("    outcome: ok"),
                Outcome::Err(f) => {
                    println!("    outcome: rejected: {} ({})", f.message, f.error_type)
                }
            }
            Ok((call, o))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn run(config: PathBuf) -> anyhow::Result<()> {
    let cfg = Config::from_file(&config)?;
    let logs = Arc::new(MemoryLogs::default());
    let metrics = Arc::new(MemoryMetrics::default());
    let runtime = Runtime::builder()
        .for_config(&cfg)
        .logs(logs.clone())
        .metrics(metrics.clone())
        .build()?;
    let chain = runtime.load(&cfg)?;
    println!(
        "Interpose chain demo (no Temporal yet): {} guests from {}",
        cfg.guests.len(),
        config.display()
    );
    for (i, g) in chain.guests().enumerate() {
        let hooks: usize = g.interests.values().map(Vec::len).sum();
        println!(
            "  {}. {:<22} {} hooks, {}",
            i + 1,
            g.name,
            hooks,
            bytesize::ByteSize(g.size)
        );
    }

    println!("\nclient: start an order workflow");
    let start = Call::new(
        CallDetail::StartWorkflow(WorkflowStart {
            workflow_id: "order-1".into(),
            workflow_type: "OrderWorkflow".into(),
            task_queue: "orders".into(),
        }),
        Some(vec![Payload::json(r#"{"sku":42}"#)]),
    );
    let (started, _) = hop(&chain, &mut chain.session(Scope::Client), start)?;

    println!("\nclient: start a workflow type on the deny list");
    let denied = Call::new(
        CallDetail::StartWorkflow(WorkflowStart {
            workflow_id: "wipe-1".into(),
            workflow_type: "WipeEverything".into(),
            task_queue: "orders".into(),
        }),
        Some(vec![]),
    );
    hop(&chain, &mut chain.session(Scope::Client), denied)?;

    println!("\nworker: the workflow run (one instance per guest for the run)");
    let wf = FixedWorkflow::new(
        WorkflowInfo::new("default", "order-1", "run-1", "OrderWorkflow", "orders"),
        1_700_000_000_000_000_000,
    );
    let mut run = chain.session(Scope::Workflow(wf.clone()));
    let mut exec = Call::new(CallDetail::ExecuteWorkflow, Some(vec![]));
    *exec.headers_mut() = started.headers().clone();
    hop(&chain, &mut run, exec)?;
    let schedule = Call::new(Hook::ScheduleActivity.empty_detail(), Some(vec![]));
    let (scheduled, _) = hop(&chain, &mut run, schedule)?;
    wf.set_now(1_700_000_000_500_000_000);
    hop(
        &chain,
        &mut run,
        Call::new(Hook::StartTimer.empty_detail(), None),
    )?;

    println!("\nworker: the activity attempt");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let act = FixedActivity::new(ActivityInfo {
        activity_id: "1".into(),
        activity_type: "charge_card".into(),
        workflow_type: "OrderWorkflow".into(),
        attempt: 1,
        scheduled_time: now - 45_000_000,
        current_attempt_scheduled_time: now - 45_000_000,
        started_time: now - 25_000_000,
        ..Default::default()
    });
    let mut exec_act = Call::new(CallDetail::ExecuteActivity, Some(vec![]));
    *exec_act.headers_mut() = scheduled.headers().clone();
    hop(&chain, &mut chain.session(Scope::Activity(act)), exec_act)?;

    println!("\nguest logs:");
    for l in logs.lines() {
        println!("  [{}] {} ({}): {}", l.level, l.guest, l.hook, l.message);
    }
    println!("\nguest metrics:");
    for m in metrics.samples() {
        println!(
            "  {} {} = {:.3} {} {:?}",
            m.guest, m.name, m.value, m.unit, m.attributes
        );
    }
    println!("\nsummary:");
    for g in chain.guests() {
        let s = chain.stats(&g.name).unwrap_or_default();
        println!(
            "  {:<22} {} wasm calls, {} instances, {} fuel, {} failures",
            g.name, s.calls, s.instantiations, s.fuel, s.failures
        );
    }
    Ok(())
}
