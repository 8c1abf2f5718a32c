//! `interpose new <name> --lang rust|python|js|c`: each scaffold builds with its own
//! `build.sh` (toolchains from `cargo xtask toolchains`; a missing one fails the test with
//! the reason), passes `interpose check` through the real binary, and its example hook works:
//! a start-workflow call through it gets the `<name>` header.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use interpose::Runtime;
use interpose::chain::{Call, CallDetail, Outcome, Payload, WorkflowStart};
use interpose::config::Config;
use interpose::services::{MemoryLogs, MemoryMetrics, Scope};
use interpose_build_support::toolchain::{Installed, Toolchain, cache_dir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn interpose(args: &[&str], dir: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_interpose"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run interpose");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The toolchain a language's build needs, or a panic naming what is missing.
fn toolchain(t: Toolchain) -> Installed {
    let root = root();
    t.find(&root, &cache_dir(&root))
        .unwrap_or_else(|e| panic!("\n\nthe {} toolchain is missing: {e:#}\n", t.name()))
}

fn scaffold_builds_checks_and_works(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("stamp-{lang}");
    let (ok, stdout, stderr) = interpose(&["new", &name, "--lang", lang], tmp.path());
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("build.sh"), "{stdout}");
    let project = tmp.path().join(&name);
    for f in ["README.md", "build.sh", "wit/types.wit", "wit/worlds.wit"] {
        assert!(project.join(f).exists(), "{lang}: {f} missing");
    }

    let mut build = Command::new("sh");
    build
        .arg(project.join("build.sh"))
        .env("INTERPOSE", env!("CARGO_BIN_EXE_interpose"));
    match lang {
        "python" => {
            let Installed::Python { site, .. } = toolchain(Toolchain::Python) else {
                unreachable!()
            };
            build.env("COMPONENTIZE_PY_HOME", site);
        }
        "js" => {
            let Installed::JavaScript { dir, .. } = toolchain(Toolchain::JavaScript) else {
                unreachable!()
            };
            build.env("INTERPOSE_JS_TOOLCHAIN", dir);
        }
        "c" => {
            toolchain(Toolchain::C);
        }
        _ => {
            // One target dir for every run: the SDK's dependencies compile once.
            build.env("CARGO_TARGET_DIR", root().join("target/scaffold-build"));
            for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
                build.env_remove(var);
            }
        }
    }
    let out = build.output().expect("run build.sh");
    assert!(
        out.status.success(),
        "{lang}: build.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let component = project.join(format!("{name}.wasm"));
    assert!(component.exists(), "{lang}: no {}", component.display());

    let (ok, stdout, stderr) = interpose(&["check", component.to_str().unwrap()], tmp.path());
    assert!(ok, "{lang}: check failed: {stdout}{stderr}");
    assert!(
        stdout.contains("client: start-workflow (before)") && stdout.trim_end().ends_with("ok"),
        "{lang}: {stdout}"
    );

    // The example hook does what the template says.
    let toml = format!(
        "[[guest]]\nname = \"{name}\"\npath = {:?}\n",
        component.display()
    );
    let config = Config::from_toml(&toml, Path::new("/"), Path::new("test.toml")).unwrap();
    let runtime = Runtime::builder()
        .cache(false)
        .max_instances(8)
        .build()
        .unwrap();
    let chain = interpose::chain::Chain::load(
        &runtime.with_sinks(
            Arc::new(MemoryMetrics::default()),
            Arc::new(MemoryLogs::default()),
        ),
        &config,
        Vec::new(),
    )
    .unwrap();
    let mut call = Call::new(
        CallDetail::StartWorkflow(WorkflowStart {
            workflow_id: "wf".into(),
            workflow_type: "Order".into(),
            task_queue: "q".into(),
        }),
        Some(vec![Payload::json("{}")]),
    );
    chain
        .session(Scope::Client)
        .run(&mut call, |_| Outcome::Ok(vec![]))
        .unwrap_or_else(|e| panic!("{lang}: {e:#}"));
    let header = call.headers().get(&name).map(|p| p.data.clone());
    assert_eq!(
        header.as_deref(),
        Some(&b"\"seen\""[..]),
        "{lang}: the example hook set its header"
    );
}

#[test]
fn new_rust_guest_builds_checks_and_works() {
    scaffold_builds_checks_and_works("rust");
}

#[test]
fn new_python_guest_builds_checks_and_works() {
    scaffold_builds_checks_and_works("python");
}

#[test]
fn new_js_guest_builds_checks_and_works() {
    scaffold_builds_checks_and_works("js");
}

#[test]
fn new_c_guest_builds_checks_and_works() {
    scaffold_builds_checks_and_works("c");
}

#[test]
fn new_refuses_bad_names_and_non_empty_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = interpose(&["new", "Bad_Name", "--lang", "c"], tmp.path());
    assert!(!ok && stderr.contains("is not a guest name"), "{stderr}");
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/keep.txt"), "mine").unwrap();
    let (ok, _, stderr) = interpose(&["new", "taken", "--lang", "python"], tmp.path());
    assert!(
        !ok && stderr.contains("exists and is not empty; nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("taken")).unwrap().count(),
        1,
        "nothing was added"
    );
    let (ok, _, stderr) = interpose(&["new", "x", "--lang", "cobol"], tmp.path());
    assert!(!ok && stderr.contains("cobol"), "{stderr}");
}

#[test]
fn componentize_refuses_what_is_not_a_guest_module() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("plain.wasm");
    std::fs::write(
        &module,
        wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap(),
    )
    .unwrap();
    let (ok, _, stderr) = interpose(
        &["componentize", "plain.wasm", "-o", "out.wasm"],
        tmp.path(),
    );
    assert!(
        !ok && stderr.contains("cannot become a component"),
        "{stderr}"
    );
    assert!(!tmp.path().join("out.wasm").exists());
}
