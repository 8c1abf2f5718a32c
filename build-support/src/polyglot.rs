//! Python, JavaScript and C guests built from source with the toolchains of
//! [`toolchain`](crate::toolchain). Each build stages its inputs, runs the language's
//! componentizer, and writes the component only when it changed; a stamp of the inputs
//! (sources, helpers, WIT, toolchain version) skips builds that would produce the same file.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::toolchain::{COMPONENTIZE_PY, Installed, scratch};

/// The WIT world every guest targets.
pub const WORLD: &str = "interpose:interceptor/interceptor@0.5.0";

/// Which JavaScript engine a JS guest embeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsBackend {
    /// SpiderMonkey, through componentize-js.
    StarlingMonkey,
    /// QuickJS, through componentize-qjs (synchronous mode).
    QuickJs,
}

impl JsBackend {
    /// The name `build.mjs --backend` takes.
    pub fn name(self) -> &'static str {
        match self {
            JsBackend::StarlingMonkey => "starlingmonkey",
            JsBackend::QuickJs => "quickjs",
        }
    }
}

/// Hash every file under `paths` (sorted walk) and `extra` into a stamp.
fn stamp(paths: &[&Path], extra: &str) -> anyhow::Result<String> {
    fn walk(p: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if p.file_name()
            .is_some_and(|n| n == "__pycache__" || n == "node_modules")
        {
            return Ok(());
        }
        if p.is_dir() {
            for e in std::fs::read_dir(p)? {
                walk(&e?.path(), files)?;
            }
        } else if p.is_file() {
            files.push(p.to_owned());
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files).with_context(|| format!("reading {}", p.display()))?;
    }
    files.sort();
    let mut h = std::hash::DefaultHasher::new();
    extra.hash(&mut h);
    for f in files {
        f.hash(&mut h);
        std::fs::read(&f)?.hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// Run `build` unless `out` exists with the same input stamp.
fn cached(
    out: &Path,
    inputs: &[&Path],
    extra: &str,
    build: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // Hidden beside the component: `.<file>.inputs`.
    let stamp_file = out.with_file_name(format!(
        ".{}.inputs",
        out.file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy())
    ));
    let now = stamp(inputs, extra)?;
    if out.exists() && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == now) {
        return Ok(());
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    build()?;
    std::fs::write(&stamp_file, now)?;
    Ok(())
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = cmd
        .output()
        .with_context(|| format!("starting {what}: {cmd:?}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Build the Python guest whose module `app_module` is in `app_dir` against the WIT in `wit`,
/// with the helper module `interpose_guest` from `helpers` (`guest-sdk/python`).
pub fn build_python(
    tc: &Installed,
    wit: &Path,
    helpers: &Path,
    app_dir: &Path,
    app_module: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let Installed::Python { python, site } = tc else {
        bail!("build_python needs the Python toolchain");
    };
    cached(out, &[wit, helpers, app_dir], COMPONENTIZE_PY, || {
        // Staged: componentize-py's interpreter writes `__pycache__` beside the sources it
        // imports, which must not land in the source tree.
        let scratch = scratch("py-guest")?;
        let (app, lib) = (scratch.path().join("app"), scratch.path().join("lib"));
        copy_dir(app_dir, &app)?;
        std::fs::create_dir_all(&lib)?;
        std::fs::copy(
            helpers.join("interpose_guest.py"),
            lib.join("interpose_guest.py"),
        )
        .context("copying interpose_guest.py")?;
        run(
            Command::new(python)
                .arg(site.join("bin/componentize-py"))
                .env("PYTHONPATH", site)
                .env_remove("VIRTUAL_ENV")
                .arg("-d")
                .arg(wit)
                .arg("-w")
                .arg(WORLD)
                .arg("componentize")
                .arg(app_module)
                .arg("-p")
                .arg(&app)
                .arg("-p")
                .arg(&lib)
                .arg("-o")
                .arg(std::path::absolute(out)?),
            &format!("componentize-py for {}", app_dir.display()),
        )
    })
}

/// Copy the files under `from` into `to` (created), leaving out `__pycache__`.
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let p = e?.path();
        let name = p.file_name().context("a directory entry has a name")?;
        if p.is_dir() {
            if name != "__pycache__" {
                copy_dir(&p, &to.join(name))?;
            }
        } else {
            std::fs::copy(&p, to.join(name)).with_context(|| format!("copying {}", p.display()))?;
        }
    }
    Ok(())
}

/// Build the JavaScript guest `entry` (its directory is staged with the helper module
/// `interpose.js` from `helpers`, `guest-sdk/js`) against the WIT in `wit`.
pub fn build_js(
    tc: &Installed,
    wit: &Path,
    helpers: &Path,
    entry: &Path,
    backend: JsBackend,
    out: &Path,
) -> anyhow::Result<()> {
    let Installed::JavaScript { node, dir } = tc else {
        bail!("build_js needs the JavaScript toolchain");
    };
    let src = entry.parent().context("entry has a directory")?;
    // `helpers` holds the toolchain's package-lock.json too: a new toolchain rebuilds.
    cached(out, &[wit, helpers, src], backend.name(), || {
        let scratch = scratch("js-guest")?;
        let stage = scratch.path();
        for e in std::fs::read_dir(src)? {
            let p = e?.path();
            if p.is_file() {
                std::fs::copy(&p, stage.join(p.file_name().expect("a file")))?;
            }
        }
        if !stage.join("interpose.js").exists() {
            std::fs::copy(helpers.join("interpose.js"), stage.join("interpose.js"))?;
        }
        let staged = stage.join(entry.file_name().context("entry is a file")?);
        run(
            Command::new(node)
                .arg(helpers.join("build.mjs"))
                .arg("--backend")
                .arg(backend.name())
                .arg(&staged)
                .arg(wit)
                .arg(std::path::absolute(out)?)
                .current_dir(dir),
            &format!("{} for {}", backend.name(), entry.display()),
        )
    })
}

/// Write the C bindings `wit-bindgen c` generates for the `interceptor` world of `wit` into
/// `dir`: `interceptor.h`, `interceptor.c` and `interceptor_component_type.o`.
pub fn c_bindings(wit: &Path, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut resolve = wit_parser_c::Resolve::default();
    let (pkg, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading the WIT in {}", wit.display()))?;
    let world = resolve.select_world(&[pkg], Some("interceptor"))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&resolve, world, &mut files)?;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, bytes) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Build the C guest in `src_dir` (its `.c` files, the generated bindings and the helper
/// header `interpose.h` from `helpers`, `guest-sdk/c`) into a component: clang for
/// wasm32-wasi (reactor, wasi-libc), then [`componentize`](crate::componentize), which
/// adapts wasi-libc's preview1 imports, if any, to WASI 0.2.
pub fn build_c(
    tc: &Installed,
    wit: &Path,
    helpers: &Path,
    src_dir: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let Installed::C { clang } = tc else {
        bail!("build_c needs the C toolchain");
    };
    cached(out, &[wit, helpers, src_dir], "c", || {
        let scratch = scratch("c-guest")?;
        let stage = scratch.path();
        let bindings = c_bindings(wit, stage)?;
        std::fs::copy(helpers.join("interpose.h"), stage.join("interpose.h"))
            .context("copying guest-sdk/c/interpose.h")?;
        let mut sources: Vec<PathBuf> = std::fs::read_dir(src_dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        sources.sort();
        sources.extend(
            bindings
                .iter()
                .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "o"))
                .cloned(),
        );
        let module = stage.join("guest.core.wasm");
        run(
            Command::new(clang)
                .args([
                    "--target=wasm32-wasi",
                    "-mexec-model=reactor",
                    "-O2",
                    "-Wall",
                ])
                .arg(format!("-Wl,-z,stack-size={}", crate::GUEST_STACK))
                .arg("-I")
                .arg(stage)
                .arg("-I")
                .arg(src_dir)
                .arg("-o")
                .arg(&module)
                .args(&sources),
            &format!("clang for {}", src_dir.display()),
        )
        .and_then(|()| {
            let bytes = std::fs::read(&module)?;
            let component = crate::componentize(&bytes)
                .with_context(|| format!("turning {} into a component", src_dir.display()))?;
            std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))
        })
    })
}

/// Where a Python, JavaScript or C guest's source is, relative to the repository root.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A Python app: the directory and the module name.
    Python(&'static str, &'static str),
    /// A JavaScript entry file and the engine.
    Js(&'static str, JsBackend),
    /// A directory of C files.
    C(&'static str),
}

impl Source {
    /// The toolchain that builds it.
    pub fn toolchain(self) -> crate::toolchain::Toolchain {
        use crate::toolchain::Toolchain;
        match self {
            Source::Python(..) => Toolchain::Python,
            Source::Js(..) => Toolchain::JavaScript,
            Source::C(..) => Toolchain::C,
        }
    }
}

/// The Python, JavaScript and C examples: `(component file stem, source)`.
pub const EXAMPLES: &[(&str, Source)] = &[
    (
        "context-propagation-py",
        Source::Python("guest-examples/python/context-propagation", "app"),
    ),
    (
        "context-propagation-js",
        Source::Js(
            "guest-examples/js/context-propagation/index.js",
            JsBackend::StarlingMonkey,
        ),
    ),
    (
        "context-propagation-qjs",
        Source::Js(
            "guest-examples/js/context-propagation/index.js",
            JsBackend::QuickJs,
        ),
    ),
    (
        "context-propagation-c",
        Source::C("guest-examples/c/context-propagation"),
    ),
    (
        "tracing-py",
        Source::Python("guest-examples/python/tracing", "app"),
    ),
];

/// Build `source` into `<out_dir>/<stem>.wasm` with the toolchains in `cache`.
/// `Ok(Err(reason))`: its toolchain is not installed (nothing was built); `Err`: it does not
/// build.
pub fn build_guest(
    root: &Path,
    cache: &Path,
    stem: &str,
    source: Source,
    out_dir: &Path,
) -> anyhow::Result<Result<PathBuf, String>> {
    let tc = match source.toolchain().find(root, cache) {
        Ok(tc) => tc,
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    let wit = root.join("wit");
    let out = out_dir.join(format!("{stem}.wasm"));
    match source {
        Source::Python(dir, module) => build_python(
            &tc,
            &wit,
            &root.join("guest-sdk/python"),
            &root.join(dir),
            module,
            &out,
        ),
        Source::Js(entry, backend) => build_js(
            &tc,
            &wit,
            &root.join("guest-sdk/js"),
            &root.join(entry),
            backend,
            &out,
        ),
        Source::C(dir) => build_c(&tc, &wit, &root.join("guest-sdk/c"), &root.join(dir), &out),
    }
    .with_context(|| format!("building {stem}"))?;
    Ok(Ok(out))
}
