//! Builds guest crates from source into Wasm components: a nested `cargo build` for a wasm
//! target, then, for `wasm32-unknown-unknown`, `wit-component` to turn each core module into
//! a component with no imports beyond Interpose's own (the pattern of wasmtime's
//! `crates/test-programs/artifacts`). `wasm32-wasip2` builds are components already.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

pub mod polyglot;
pub mod toolchain;

/// The target for guests without WASI.
pub const BARE: &str = "wasm32-unknown-unknown";
/// The target for guests that use Rust std's WASI (clocks, random, stdout).
pub const WASIP2: &str = "wasm32-wasip2";

/// Shadow-stack size Rust guests are linked with (`-C link-arg=-zstack-size=`):
/// small enough that the pages every call touches stay in the region the host keeps
/// resident between instances.
pub const GUEST_STACK: u32 = 128 * 1024;

/// One built guest.
#[derive(Clone, Debug)]
pub struct Built {
    /// Package name (e.g. `context-propagation`).
    pub package: String,
    /// The component file.
    pub path: PathBuf,
}

/// Fail with a clear instruction when a wasm target's standard library is not installed.
pub fn require_target(target: &str) -> anyhow::Result<()> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .with_context(|| format!("running `{rustc} --print sysroot`"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !sysroot.join("lib/rustlib").join(target).exists() {
        bail!(
            "the Rust target `{target}` is not installed, so Interpose guests cannot be built.\n\
             Install it with:\n\n    rustup target add {target}\n\n\
             (`cargo xtask test` and `cargo xtask demo` do this for you.)"
        );
    }
    Ok(())
}

/// Build `packages` of the guest workspace at `manifest` for `target` (release profile)
/// into `target_dir`, and write one component per package into `out_dir` as
/// `<package>.wasm` (dashes kept).
pub fn build(
    manifest: &Path,
    packages: &[&str],
    target: &str,
    target_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Vec<Built>> {
    require_target(target)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(target)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    // Rust's default 1 MiB shadow stack puts the pages every call touches (stack top, data,
    // heap) past the region the host keeps resident between instances; 128 KiB keeps them
    // inside it (BENCHMARKS.md, c). Deep recursion past it traps, as any stack overflow does.
    let var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_uppercase().replace('-', "_")
    );
    cmd.env(var, format!("-C link-arg=-zstack-size={GUEST_STACK}"));
    // A nested build must not inherit the outer build's flags or target.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo for {}", manifest.display()))?;
    if !status.success() {
        bail!(
            "building guests in {} for {target} failed ({status})",
            manifest.display()
        );
    }
    std::fs::create_dir_all(out_dir)?;
    let mut built = Vec::new();
    for p in packages {
        let artifact = target_dir
            .join(target)
            .join("release")
            .join(format!("{}.wasm", p.replace('-', "_")));
        let bytes = std::fs::read(&artifact)
            .with_context(|| format!("reading {} (is `{p}` a cdylib?)", artifact.display()))?;
        let component = if wasmparser::Parser::is_component(&bytes) {
            bytes
        } else {
            componentize(&bytes).with_context(|| format!("turning {p} into a component"))?
        };
        let path = out_dir.join(format!("{p}.wasm"));
        write_if_changed(&path, &component)?;
        built.push(Built {
            package: (*p).to_owned(),
            path,
        });
    }
    Ok(built)
}

/// Turn a core module with an embedded component type (what wit-bindgen's Rust and C
/// generators emit) into a component. A module that imports wasi-libc's
/// `wasi_snapshot_preview1` gets the preview1 reactor adapter, so the component imports WASI
/// 0.2 (which the host virtualizes); one that imports nothing needs no adapter.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider as adapter;
    let mut preview1 = false;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let Ok(wasmparser::Payload::ImportSection(section)) = payload {
            for imports in section.into_iter().flatten() {
                let module_name = match imports {
                    wasmparser::Imports::Single(_, i) => i.module,
                    wasmparser::Imports::Compact1 { module, .. }
                    | wasmparser::Imports::Compact2 { module, .. } => module,
                };
                preview1 |= module_name == adapter::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME;
            }
        }
    }
    let mut encoder = wit_component::ComponentEncoder::default()
        .module(module)
        .context("reading the component type embedded in the module")?
        .validate(true);
    if preview1 {
        encoder = encoder.adapter(
            adapter::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            adapter::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?;
    }
    encoder.encode()
}

/// Write only when the content differs, so that unchanged guests keep their mtime.
fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Packages of the example workspace (`guest-examples/`).
pub const EXAMPLES: &[&str] = &[
    "context-propagation",
    "latency-metrics",
    "deny-list",
    "replay-logger",
    "tracing",
];

/// Build every example guest into `out_dir`. `root` is the repository root.
pub fn build_examples(
    root: &Path,
    target_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Vec<Built>> {
    build(
        &root.join("guest-examples/Cargo.toml"),
        EXAMPLES,
        BARE,
        target_dir,
        out_dir,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_target_says_how_to_install_it() {
        let e = super::require_target("wasm64-no-such-target")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rustup target add wasm64-no-such-target"), "{e}");
    }
}
