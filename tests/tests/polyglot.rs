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
    assert_eq!(rust.len(), 18, "{rust:#?}");
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
