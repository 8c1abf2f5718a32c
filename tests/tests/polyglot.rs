//! Integration tier: the seed's context propagation written in Python, JavaScript (both
//! engines) and C, each passing the same end-to-end scenario on the dev server as the Rust
//! guest (`temporal_workflow.rs`). Guests are built from source by `build.rs` with the
//! toolchains `cargo xtask toolchains` installs; a missing toolchain fails these tests with
//! the reason.

use interpose_tests::propagation::user_id_propagates;
use interpose_tests::{guests, polyglot, runtime};

/// The hooks a guest declared, per category, sorted.
fn interests(path: &str) -> Vec<String> {
    let info = runtime()
        .inspect(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut all: Vec<String> = info
        .interests
        .iter()
        .flat_map(|(cat, hooks)| hooks.iter().map(move |i| format!("{cat:?} {i:?}")))
        .collect();
    all.sort();
    all
}

/// The helpers derive interests from the methods written (Python `before_<hook>` and
/// `before_<category>`, JS `before<Hook>`), and C lists them by hand: every language declares
/// exactly the Rust guest's interests — no hook more (the host would call it for nothing),
/// none less.
#[test]
fn polyglot_guests_declare_exactly_the_rust_guests_interests() {
    let rust = interests(guests::CONTEXT_PROPAGATION);
    assert_eq!(rust.len(), 19, "{rust:#?}");
    for guest in [
        guests::CONTEXT_PROPAGATION_PY,
        guests::CONTEXT_PROPAGATION_JS,
        guests::CONTEXT_PROPAGATION_QJS,
        guests::CONTEXT_PROPAGATION_C,
    ] {
        let path = polyglot(guest);
        assert_eq!(interests(path), rust, "{path}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn polyglot_python_guest_propagates_the_user_id_end_to_end() {
    user_id_propagates(
        polyglot(guests::CONTEXT_PROPAGATION_PY),
        "propagation-python",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn polyglot_javascript_starlingmonkey_guest_propagates_the_user_id_end_to_end() {
    user_id_propagates(polyglot(guests::CONTEXT_PROPAGATION_JS), "propagation-js").await;
}

/// A canary, not a feature: the QuickJS backend (componentize-qjs 0.4.5, `jco componentize
/// --backend quickjs`) in its synchronous mode never drops the `call` handle it borrows, so
/// every hook traps in the canonical ABI; its async mode needs the component-model async ABI,
/// which Interpose does not enable. When this starts failing, QuickJS works: it is 7x smaller
/// and compiles 5x faster than StarlingMonkey (docs/languages.md).
#[test]
fn polyglot_javascript_quickjs_guest_traps_on_its_undropped_borrow() {
    use interpose::chain::Outcome;
    use interpose::services::Scope;
    let t = interpose_tests::chain(&interpose_tests::guest(
        "qjs",
        polyglot(guests::CONTEXT_PROPAGATION_QJS),
        "",
    ));
    let mut call = interpose_tests::start_call("X");
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut call, |_| Outcome::Ok(vec![]))
        .expect_err("componentize-qjs 0.4.5 leaves the borrow");
    assert!(
        err.to_string()
            .contains("borrow handles still remain at the end of the call"),
        "{err}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn polyglot_c_guest_propagates_the_user_id_end_to_end() {
    user_id_propagates(polyglot(guests::CONTEXT_PROPAGATION_C), "propagation-c").await;
}

/// `[runtime] memory-images = "copy-on-write"` (the faster start for interpreter guests)
/// still gives every workflow run a fresh memory: run 2 does not see the user run 1
/// remembered, and run 1's instance keeps its own.
#[test]
fn polyglot_copy_on_write_memory_images_keep_runs_apart() {
    use interpose::chain::{Call, Hook, Payload};
    use interpose::config::{Config, MemoryImages};
    use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
    use std::path::Path;

    let rt = interpose::Runtime::builder()
        .cache(false)
        .max_instances(16)
        .memory_images(MemoryImages::CopyOnWrite)
        .build()
        .unwrap();
    for path in [
        guests::CONTEXT_PROPAGATION,
        polyglot(guests::CONTEXT_PROPAGATION_C),
    ] {
        let toml = format!(
            "[runtime]\nmemory-images = 'copy-on-write'\n[[guest]]\nname = 'ctx'\npath = {path:?}\n"
        );
        let config = Config::from_toml(&toml, Path::new("/"), Path::new("t.toml")).unwrap();
        assert_eq!(config.runtime.memory_images, MemoryImages::CopyOnWrite);
        let chain = interpose::chain::Chain::load(&rt, &config, Vec::new()).unwrap();
        let run = |id: &str| {
            chain.session(Scope::Workflow(FixedWorkflow::new(
                WorkflowInfo::new("ns", "wf", id, "T", "q"),
                1,
            )))
        };
        let user = |call: &Call| call.headers().get("user-id").map(|p| p.data.clone());
        let mut one = run("run-1");
        let mut start = Call::new(Hook::ExecuteWorkflow.empty_detail(), None)
            .with_header("user-id", Payload::json("\"alice\""));
        let _ = one.before(&mut start).unwrap();
        let mut two = run("run-2");
        let mut activity = Call::new(Hook::ScheduleActivity.empty_detail(), None);
        let _ = two.before(&mut activity).unwrap();
        assert_eq!(
            user(&activity),
            None,
            "{path}: run 2 starts from a clean memory"
        );
        let mut activity = Call::new(Hook::ScheduleActivity.empty_detail(), None);
        let _ = one.before(&mut activity).unwrap();
        assert_eq!(
            user(&activity),
            Some(b"\"alice\"".to_vec()),
            "{path}: run 1 kept its user"
        );
    }
}

/// Every part of the Python and JavaScript helpers, through a probe guest per language with
/// the same behaviour: a category method covers its hooks, a hook's own method wins over it,
/// `reject` (type, non-retryable), `respond`, an `after`-only hook with `replace` and `fail`,
/// and an exception that is a guest failure with the language's message in the log.
#[test]
fn polyglot_helpers_dispatch_decide_and_fail_as_documented() {
    use interpose::chain::{Call, CallDetail, Hook, Outcome, Payload, WorkflowStart};
    use interpose::services::{ActivityInfo, FixedActivity, FixedWorkflow, Scope, WorkflowInfo};
    use interpose_tests::{chain, guest, header, start_call};

    for (probe, language) in [
        (guests::HELPER_PROBE_PY, "python"),
        (guests::HELPER_PROBE_JS, "javascript"),
    ] {
        let path = polyglot(probe);
        let mut declared = interests(path);
        declared.retain(|i| !i.starts_with("Client"));
        assert_eq!(
            declared,
            [
                "ActivityInbound Interest { hook: Hook::ExecuteActivity, phases: (AFTER), reads: HeaderReads::Keys([\"in\"]) }",
                "WorkflowInbound Interest { hook: Hook::HandleQuery, phases: (BEFORE), reads: HeaderReads::Keys([\"in\"]) }",
            ],
            "{language}: outside the client category, only the hooks written"
        );
        let client_hooks = interests(path)
            .into_iter()
            .filter(|i| i.starts_with("Client"))
            .count();
        assert_eq!(
            client_hooks, 46,
            "{language}: the category method covers every client hook"
        );

        let t = chain(&guest("probe", path, ""));
        let client = |call: &mut Call| {
            t.chain
                .session(Scope::Client)
                .run(call, |_| Outcome::Ok(vec![Payload::json("\"real\"")]))
        };

        // A hook's own method wins over its category's.
        let mut c = start_call("Allowed");
        assert!(matches!(client(&mut c), Ok(Outcome::Ok(_))), "{language}");
        assert_eq!(
            header(&c, "category"),
            None,
            "{language}: specific method won"
        );
        // reject, with type and non-retryable
        let mut c = Call::new(
            CallDetail::StartWorkflow(WorkflowStart {
                workflow_id: "w".into(),
                workflow_type: "Forbidden".into(),
                task_queue: "q".into(),
            }),
            Some(vec![]),
        );
        match client(&mut c) {
            Ok(Outcome::Err(f)) => {
                assert_eq!(f.message, "forbidden by the helper probe", "{language}");
                assert_eq!(f.error_type, "Denied", "{language}");
                assert!(f.non_retryable, "{language}");
            }
            other => panic!("{language}: expected a rejection, got {other:?}"),
        }
        // the category method; headers: declared, undeclared, edited and removed
        let mut c = Call::new(Hook::CancelWorkflow.empty_detail(), None)
            .with_header("in", Payload::json("\"fast\""))
            .with_header("undeclared", Payload::json("\"slow\""))
            .with_header("drop-me", Payload::json("\"x\""));
        client(&mut c).unwrap();
        assert_eq!(
            header(&c, "category").as_deref(),
            Some("client"),
            "{language}"
        );
        assert_eq!(header(&c, "copied").as_deref(), Some("fast"), "{language}");
        assert_eq!(
            header(&c, "copied-slow").as_deref(),
            Some("slow"),
            "{language}: an undeclared key is read from the host"
        );
        assert_eq!(header(&c, "drop-me"), None, "{language}: removed");
        assert_eq!(header(&c, "dropped").as_deref(), Some("yes"), "{language}");
        // respond: the real call does not run
        let mut c = Call::new(Hook::HandleQuery.empty_detail(), Some(vec![]));
        let run = Scope::Workflow(FixedWorkflow::new(
            WorkflowInfo::new("ns", "wf", "run", "T", "q"),
            1,
        ));
        match t
            .chain
            .session(run)
            .run(&mut c, |_| Outcome::Ok(vec![Payload::json("\"real\"")]))
        {
            Ok(Outcome::Ok(p)) => assert_eq!(p, vec![Payload::json("\"answered\"")], "{language}"),
            other => panic!("{language}: expected a response, got {other:?}"),
        }
        // an exception is a guest failure; the language's message reaches the log
        let mut c = Call::new(Hook::SignalWorkflow.empty_detail(), Some(vec![]));
        let err = client(&mut c).expect_err("the exception fails the call");
        assert!(
            err.to_string().contains("probe") && err.to_string().contains("signal-workflow"),
            "{language}: {err}"
        );
        assert!(
            t.logs
                .lines()
                .iter()
                .any(|l| l.message.contains(&format!("kaboom from {language}"))),
            "{language}: {:#?}",
            t.logs.lines()
        );

        // after only: replace a result, wrap a failure
        let activity = || Scope::Activity(FixedActivity::new(ActivityInfo::default()));
        let mut c = Call::new(Hook::ExecuteActivity.empty_detail(), Some(vec![]));
        let out = t
            .chain
            .session(activity())
            .run(&mut c, |_| Outcome::Ok(vec![Payload::json("\"swap me\"")]))
            .unwrap();
        assert!(
            matches!(&out, Outcome::Ok(p) if *p == vec![Payload::json("\"replaced\"")]),
            "{language}: {out:?}"
        );
        let out = t
            .chain
            .session(activity())
            .run(&mut c, |_| Outcome::Ok(vec![Payload::json("\"keep me\"")]))
            .unwrap();
        assert!(
            matches!(&out, Outcome::Ok(p) if *p == vec![Payload::json("\"keep me\"")]),
            "{language}: None is keep: {out:?}"
        );
        let out = t
            .chain
            .session(activity())
            .run(&mut c, |_| {
                Outcome::Err(interpose::chain::Failure::new("disk full"))
            })
            .unwrap();
        match out {
            Outcome::Err(f) => {
                assert_eq!(f.message, "failed: disk full", "{language}");
                assert_eq!(f.error_type, "Wrapped", "{language}");
            }
            other => panic!("{language}: expected a failure, got {other:?}"),
        }
    }
}

/// The Python and JavaScript helpers list every hook of the WIT under its category (they
/// derive interests from those lists): a hook added to the WIT, or moved, without updating
/// them fails here. No guest or toolchain needed.
#[test]
fn polyglot_helper_hook_catalogues_match_the_hosts() {
    use interpose::chain::{Category, Hook};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::fs::read_to_string(root.join("guest-sdk/python/interpose_guest.py")).unwrap();
    let js = std::fs::read_to_string(root.join("guest-sdk/js/interpose.js")).unwrap();
    // The quoted names between `open` and the next `close` after it.
    let listed = |text: &str, open: &str, close: &str, quote: char| -> Vec<String> {
        let start = text
            .find(open)
            .unwrap_or_else(|| panic!("`{open}` not found"))
            + open.len();
        let body = &text[start..start + text[start..].find(close).unwrap()];
        body.split(quote)
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    for cat in Category::ALL {
        let wit: Vec<String> = Hook::ALL
            .iter()
            .filter(|h| h.category() == cat)
            .map(|h| h.name().to_owned())
            .collect();
        let snake = cat.interface().replace('-', "_");
        let py = listed(&python, &format!("\"{snake}\": ("), "),", '"');
        let py: Vec<String> = py.iter().map(|h| h.replace('_', "-")).collect();
        assert_eq!(py, wit, "Python helper, category {snake}");
        let camel = snake
            .split('_')
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_owned()
                } else {
                    w[..1].to_uppercase() + &w[1..]
                }
            })
            .collect::<String>();
        let js_hooks = listed(&js, &format!("{camel}: ["), "],", '\'');
        assert_eq!(js_hooks, wit, "JavaScript helper, category {camel}");
    }
}
