//! Re-records the workflow histories the replay tests replay (`tests/fixtures/histories`).
//!
//! ```text
//! cargo xtask record-histories
//! ```
//!
//! Starts an embedded dev server, runs the `Covered` scenario (every workflow hook kind)
//! through the fixture guest set (`interpose_tests::scenario::fixture_config`), and writes
//! the history of every run as JSON. Re-record when the scenario or the guests' intended
//! behaviour changes; the replay tests then prove the new guests replay the new histories.

use std::time::Instant;

use interpose_tests::scenario::{self, Recorder};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    eprintln!("starting the Temporal dev server ...");
    let server = interpose::devserver::DevServer::start(std::time::Duration::from_secs(60))?;
    let toml = scenario::fixture_config(scenario::FIXTURE_PROBE);
    let (interpose, _logs, _metrics) = scenario::load_recorded(&toml, Recorder::new("probe"));
    let client = scenario::client(&server.url(), Some(&interpose)).await;
    let queue = "interpose-fixtures";
    eprintln!("running the Covered scenario on {} ...", server.url());
    let runs = scenario::with_worker(
        &client,
        scenario::worker_options(queue, &interpose, &client),
        scenario::drive(&client, queue, "fixture"),
    )
    .await;
    let dir = scenario::fixtures_dir();
    std::fs::create_dir_all(&dir)?;
    for (name, workflow_id, run_id) in &runs.runs {
        let events = scenario::history(&client, workflow_id, run_id).await;
        let history = temporalio_common::protos::temporal::api::history::v1::History { events };
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&history)?)?;
        eprintln!("wrote {} ({} events)", path.display(), history.events.len());
    }
    eprintln!("done in {:.1?}", started.elapsed());
    Ok(())
}
