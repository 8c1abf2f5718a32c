//! A worker process for the crash-recovery test: `crash-worker <server-url> <queue>
//! <interpose.toml>`. Runs the scenario workflows with the config's guests, prints `ready`
//! once polling starts, and runs until it is killed (it also dies with its parent).

use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::scenario;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Never outlive the test that started us, whatever happens to it.
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets this process's parent-death signal.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, queue, config] = args.as_slice() else {
        eprintln!("usage: crash-worker <server-url> <queue> <interpose.toml>");
        std::process::exit(2);
    };
    let interpose = Interpose::load(config).unwrap_or_else(|e| {
        eprintln!("crash-worker: {e}");
        std::process::exit(1);
    });
    let client = scenario::client(url, Some(&interpose)).await;
    let mut options = scenario::worker_options(queue, &interpose, &client);
    // A dead worker's sticky queue hands its runs to the next worker after this long.
    options.sticky_queue_schedule_to_start_timeout = Duration::from_secs(1);
    interpose.check_worker(&options).unwrap_or_else(|e| {
        eprintln!("crash-worker: {e}");
        std::process::exit(1);
    });
    interpose.stamp_worker(&mut options);
    println!("ready");
    scenario::with_worker(&client, options, std::future::pending::<()>()).await;
}
