//! The pinned toolchains that build Python, JavaScript and C guests, found in (and installed
//! into) one cache directory: `target/toolchains/` of the repository, or `$INTERPOSE_TOOLCHAINS`.
//!
//! - Python: componentize-py from PyPI (`pip install --target`);
//! - JavaScript: componentize-js (StarlingMonkey) and componentize-qjs (QuickJS) from npm, at
//!   the versions of `guest-sdk/js/package-lock.json` (`npm ci`);
//! - C: Debian's clang, lld, wasi-libc and the wasm32 compiler runtime (`apt-get install`),
//!   with bindings from `wit-bindgen c`'s generator (a library here, nothing to install);
//! - the Python peer: the Temporal Python SDK and OpenTelemetry's Python SDK from PyPI
//!   (`pip install --target`), the foreign client of the cross-SDK tracing test.
//!
//! [`find`](Toolchain::find) never installs (build scripts use it); [`install`] does
//! (`cargo xtask toolchains`, which `cargo xtask test` runs first).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// componentize-py version Python guests are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The Temporal Python SDK the cross-SDK tests run as a foreign client.
pub const PEER_TEMPORALIO: &str = "1.35.0";
/// OpenTelemetry's Python SDK the cross-SDK tracing test records the client's spans with.
pub const PEER_OPENTELEMETRY_SDK: &str = "1.45.2";
/// maturin, which builds the `interpose` Python package's wheel (`python/`).
pub const MATURIN: &str = "1.16.0";
/// pytest, which runs the `interpose` Python package's suite (`python/tests/`).
pub const PYTEST: &str = "9.2.0";
/// Zig (PyPI's `ziglang`), maturin's linker for the release wheel: it links against glibc
/// 2.17 whatever the build machine has, so the wheel is `manylinux2014`.
pub const ZIGLANG: &str = "0.17.0";

/// The Python peer's pinned packages: (PyPI name, dist-info prefix, version).
fn peer_packages() -> [(&'static str, &'static str, &'static str); 4] {
    [
        ("temporalio", "temporalio", PEER_TEMPORALIO),
        (
            "opentelemetry-sdk",
            "opentelemetry_sdk",
            PEER_OPENTELEMETRY_SDK,
        ),
        ("maturin", "maturin", MATURIN),
        ("pytest", "pytest", PYTEST),
    ]
}
/// Debian packages C guests are built with.
pub const C_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

/// The languages with a toolchain to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// componentize-py.
    Python,
    /// componentize-js and componentize-qjs.
    JavaScript,
    /// clang + wasi-libc.
    C,
    /// The Temporal Python SDK with OpenTelemetry (a test peer, not a guest toolchain).
    PythonPeer,
}

impl Toolchain {
    /// All of them.
    pub const ALL: [Toolchain; 4] = [
        Toolchain::Python,
        Toolchain::JavaScript,
        Toolchain::C,
        Toolchain::PythonPeer,
    ];

    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            Toolchain::Python => "Python (componentize-py)",
            Toolchain::JavaScript => "JavaScript (componentize-js, componentize-qjs)",
            Toolchain::C => "C (clang, lld, wasi-libc)",
            Toolchain::PythonPeer => "the Python peer (temporalio, opentelemetry-sdk)",
        }
    }

    /// Where an installed toolchain is (`cache` is [`cache_dir`]); an error says what is
    /// missing and how to install it.
    pub fn find(self, root: &Path, cache: &Path) -> anyhow::Result<Installed> {
        let how = "`cargo xtask toolchains` installs it (`cargo xtask test` does that first)";
        match self {
            Toolchain::Python => {
                let site = python_dir(cache);
                let script = site.join("bin/componentize-py");
                if !script.exists() {
                    bail!(
                        "componentize-py {COMPONENTIZE_PY} is not installed in {}; {how}",
                        site.display()
                    );
                }
                let python = python()?;
                Ok(Installed::Python { python, site })
            }
            Toolchain::JavaScript => {
                let dir = js_dir(cache);
                let wanted = std::fs::read(root.join("guest-sdk/js/package-lock.json"))
                    .context("reading guest-sdk/js/package-lock.json")?;
                let have = std::fs::read(dir.join("package-lock.json")).ok();
                if have.as_deref() != Some(&wanted[..])
                    || !dir.join("node_modules/.package-lock.json").exists()
                {
                    bail!(
                        "the JavaScript toolchain of guest-sdk/js/package-lock.json is not \
                         installed in {}; {how}",
                        dir.display()
                    );
                }
                let node = which("node").context("node is not on PATH (Node.js 18 or newer)")?;
                Ok(Installed::JavaScript { node, dir })
            }
            Toolchain::PythonPeer => {
                let site = peer_dir(cache);
                let missing: Vec<String> = peer_packages()
                    .iter()
                    .filter(|(_, dist, v)| !site.join(format!("{dist}-{v}.dist-info")).exists())
                    .map(|(name, _, v)| format!("{name}=={v}"))
                    .collect();
                if !missing.is_empty() {
                    bail!(
                        "{} not installed in {}; {how}",
                        missing.join(", "),
                        site.display()
                    );
                }
                let python = python()?;
                Ok(Installed::Python { python, site })
            }
            Toolchain::C => {
                let clang = which("clang").with_context(|| {
                    format!(
                        "clang is not on PATH (Debian: {}); {how}",
                        C_PACKAGES.join(" ")
                    )
                })?;
                c_probe(&clang).with_context(|| {
                    format!(
                        "clang cannot build for wasm32-wasi (Debian packages: {}); {how}",
                        C_PACKAGES.join(" ")
                    )
                })?;
                Ok(Installed::C { clang })
            }
        }
    }
}

/// A toolchain that is there.
#[derive(Clone, Debug)]
pub enum Installed {
    /// Run `python site/bin/componentize-py` with `PYTHONPATH=site`.
    Python {
        /// The interpreter.
        python: PathBuf,
        /// The `pip install --target` directory.
        site: PathBuf,
    },
    /// Run `node build.mjs` in `dir` (it holds node_modules).
    JavaScript {
        /// Node.js.
        node: PathBuf,
        /// The `npm ci` directory.
        dir: PathBuf,
    },
    /// clang with wasm32-wasi support.
    C {
        /// The compiler driver.
        clang: PathBuf,
    },
}

/// The toolchain cache: `$INTERPOSE_TOOLCHAINS`, else `<root>/target/toolchains`.
pub fn cache_dir(root: &Path) -> PathBuf {
    std::env::var_os("INTERPOSE_TOOLCHAINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/toolchains"))
}

fn python_dir(cache: &Path) -> PathBuf {
    cache.join(format!("componentize-py-{COMPONENTIZE_PY}"))
}

/// Where `cargo xtask python-package` installs the `interpose` Python package (from the
/// wheel it builds); put it on `PYTHONPATH` beside the peer's site.
pub fn python_package_dir(cache: &Path) -> PathBuf {
    cache.join("interpose-py")
}

/// Where [`build_python_package`] installs the release build (benchmarks).
pub fn python_release_package_dir(cache: &Path) -> PathBuf {
    cache.join("interpose-py-release")
}

/// Build the `interpose` wheel from `python/` with the peer's maturin into `target/wheels`
/// (`target/wheels-release` for `release`), and install it, without dependencies, into
/// [`python_package_dir`] ([`python_release_package_dir`]). The dev profile reuses the
/// workspace's compiled dependencies and is tagged `linux` (tests, this machine); the
/// release one, what users and benchmarks get, is linked with Zig against glibc 2.17 and
/// tagged `manylinux2014` (maturin checks the symbols it uses), installing Zig into the
/// cache the first time. Returns the wheel.
pub fn build_python_package(root: &Path, cache: &Path, release: bool) -> anyhow::Result<PathBuf> {
    let Installed::Python { python, site } = Toolchain::PythonPeer.find(root, cache)? else {
        bail!("the Python peer is a Python installation");
    };
    let out = root.join(if release {
        "target/wheels-release"
    } else {
        "target/wheels"
    });
    let _ = std::fs::remove_dir_all(&out);
    let mut maturin = Command::new(site.join("bin/maturin"));
    maturin.args([
        "build",
        "--profile",
        if release { "release" } else { "dev" },
        "--quiet",
    ]);
    if release {
        let zig = zig_dir(cache);
        if !zig.join(format!("ziglang-{ZIGLANG}.dist-info")).exists() {
            eprintln!(
                "toolchains: installing Zig {ZIGLANG} (PyPI `ziglang`, about 50 MB) into {}, \
                 the linker of the manylinux wheel",
                zig.display()
            );
            pip_install(&zig, &[format!("ziglang=={ZIGLANG}")])
                .context("installing Zig (PyPI `ziglang`) for the manylinux wheel")?;
        }
        // maturin runs `python -m ziglang`, with the interpreter it was given. A target
        // directory of its own: linking through Zig changes the compiler flags, which would
        // otherwise rebuild the workspace's release artifacts at every switch.
        maturin
            .args(["--zig", "--compatibility", "manylinux2014"])
            .env("PYTHONPATH", &zig)
            .env("CARGO_TARGET_DIR", root.join("target/manylinux"));
    } else {
        maturin.args(["--compatibility", "linux"]);
    }
    run(maturin
        .arg("--manifest-path")
        .arg(root.join("python/Cargo.toml"))
        .arg("--out")
        .arg(&out)
        .arg("--interpreter")
        .arg(&python))
    .context("building the interpose wheel with maturin")?;
    let wheel = std::fs::read_dir(&out)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("maturin wrote no wheel")?;
    let dir = if release {
        python_release_package_dir(cache)
    } else {
        python_package_dir(cache)
    };
    pip_install(&dir, &["--no-deps".to_owned(), wheel.display().to_string()])
        .context("installing the interpose wheel")?;
    Ok(wheel)
}

/// `pip install --target dir` of `packages`, into an emptied `dir`.
fn pip_install(dir: &Path, packages: &[String]) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    run(Command::new(python()?)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
        ])
        .arg("--target")
        .arg(dir)
        .args(packages))
}

fn zig_dir(cache: &Path) -> PathBuf {
    cache.join(format!("ziglang-{ZIGLANG}"))
}

fn peer_dir(cache: &Path) -> PathBuf {
    cache.join(format!("python-peer-{PEER_TEMPORALIO}"))
}

fn js_dir(cache: &Path) -> PathBuf {
    cache.join("js")
}

/// A program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn python() -> anyhow::Result<PathBuf> {
    ["python3", "python"]
        .into_iter()
        .find_map(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| PathBuf::from(p))
        })
        .context("python3 is not on PATH (componentize-py runs on CPython 3.9 or newer)")
}

/// Compile and link an empty reactor: proves clang, wasm-ld, wasi-libc and the compiler
/// runtime are all there.
fn c_probe(clang: &Path) -> anyhow::Result<()> {
    let scratch = scratch("c-probe")?;
    let dir = scratch.path();
    let src = dir.join("probe.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\nint probe(int n) { return (int)(long)malloc(n); }\n",
    )?;
    let out = Command::new(clang)
        .args(["--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-o"])
        .arg(dir.join("probe.wasm"))
        .arg(&src)
        .output()
        .context("running clang")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// A scratch directory, removed when dropped (also on error and panic).
pub(crate) fn scratch(what: &str) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("interpose-{what}-"))
        .tempdir()
        .with_context(|| format!("creating a scratch directory for {what}"))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("toolchains: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Install `which` into the cache (a no-op for what is already there). Loud: every step is
/// printed, and a toolchain that cannot be installed is an error naming what to do.
pub fn install(which_one: Toolchain, root: &Path, cache: &Path) -> anyhow::Result<Installed> {
    if let Ok(found) = which_one.find(root, cache) {
        eprintln!("toolchains: {} is installed", which_one.name());
        return Ok(found);
    }
    eprintln!("toolchains: installing {}", which_one.name());
    match which_one {
        Toolchain::Python => pip_install(
            &python_dir(cache),
            &[format!("componentize-py=={COMPONENTIZE_PY}")],
        )
        .context("installing componentize-py from PyPI")?,
        Toolchain::PythonPeer => pip_install(
            &peer_dir(cache),
            &peer_packages().map(|(name, _, v)| format!("{name}=={v}")),
        )
        .context(
            "installing the Python peer (Temporal and OpenTelemetry SDKs, maturin, pytest) \
             from PyPI",
        )?,
        Toolchain::JavaScript => {
            let dir = js_dir(cache);
            std::fs::create_dir_all(&dir)?;
            for f in ["package.json", "package-lock.json"] {
                std::fs::copy(root.join("guest-sdk/js").join(f), dir.join(f))
                    .with_context(|| format!("copying guest-sdk/js/{f}"))?;
            }
            let npm = which("npm").context("npm is not on PATH (install Node.js 18 or newer)")?;
            run(Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir))
            .context("installing the JavaScript toolchain from npm (npm ci)")?;
        }
        Toolchain::C => {
            let apt = which("apt-get").context(
                "clang for wasm32-wasi is missing and apt-get is not available; install clang, \
                 lld, wasi-libc and the wasm32 compiler-rt builtins by hand",
            )?;
            let root_user = Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
            let cmd = |args: &[&str]| {
                let mut c = if root_user {
                    Command::new(&apt)
                } else {
                    let mut c = Command::new("sudo");
                    c.arg("-n").arg(&apt);
                    c
                };
                c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
                c
            };
            run(&mut cmd(&["update", "-qq"])).context("apt-get update")?;
            run(cmd(&["install", "-y", "-qq", "--no-install-recommends"]).args(C_PACKAGES))
                .with_context(|| format!("apt-get install {}", C_PACKAGES.join(" ")))?;
        }
    }
    which_one
        .find(root, cache)
        .with_context(|| format!("{} was installed but is still not usable", which_one.name()))
}
