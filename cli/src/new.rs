//! `interpose new <name> --lang rust|python|js|c`: a guest project that builds (`sh
//! build.sh`) and passes `interpose check` as written, with the WIT, the language's helpers
//! and a README. `interpose componentize`: the step that turns a Rust or C core module into a
//! component.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use interpose_build_support::polyglot::{WORLD, c_bindings};
use interpose_build_support::toolchain::COMPONENTIZE_PY;

/// The guest languages `interpose new` scaffolds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Lang {
    /// Rust, with the `interpose-guest` crate.
    Rust,
    /// Python, with componentize-py.
    Python,
    /// JavaScript, with componentize-js.
    Js,
    /// C, with clang, wasi-libc and `wit-bindgen c` bindings.
    C,
}

const WIT: &[(&str, &str)] = &[
    ("wit/types.wit", include_str!("../../wit/types.wit")),
    ("wit/host.wit", include_str!("../../wit/host.wit")),
    ("wit/exports.wit", include_str!("../../wit/exports.wit")),
    ("wit/worlds.wit", include_str!("../../wit/worlds.wit")),
];

const README: &str = include_str!("templates/README.md");
const GITIGNORE: &str = include_str!("templates/gitignore");

/// Files of each language's template: (path in the project, contents).
fn files(lang: Lang) -> Vec<(&'static str, &'static str)> {
    match lang {
        Lang::Rust => vec![
            ("Cargo.toml", include_str!("templates/rust/Cargo.toml")),
            (
                ".cargo/config.toml",
                include_str!("templates/rust/.cargo/config.toml"),
            ),
            ("src/lib.rs", include_str!("templates/rust/src/lib.rs")),
            ("build.sh", include_str!("templates/rust/build.sh")),
        ],
        Lang::Python => vec![
            ("app.py", include_str!("templates/python/app.py")),
            (
                "interpose_guest.py",
                include_str!("../../guest-sdk/python/interpose_guest.py"),
            ),
            ("build.sh", include_str!("templates/python/build.sh")),
        ],
        Lang::Js => vec![
            ("index.js", include_str!("templates/js/index.js")),
            (
                "interpose.js",
                include_str!("../../guest-sdk/js/interpose.js"),
            ),
            ("build.mjs", include_str!("../../guest-sdk/js/build.mjs")),
            (
                "package.json",
                include_str!("../../guest-sdk/js/package.json"),
            ),
            (
                "package-lock.json",
                include_str!("../../guest-sdk/js/package-lock.json"),
            ),
            ("build.sh", include_str!("templates/js/build.sh")),
        ],
        Lang::C => vec![
            ("guest.c", include_str!("templates/c/guest.c")),
            ("interpose.h", include_str!("../../guest-sdk/c/interpose.h")),
            ("build.sh", include_str!("templates/c/build.sh")),
        ],
    }
}

/// What differs per language in the README.
fn readme_parts(lang: Lang) -> (&'static str, &'static str, String) {
    match lang {
        Lang::Rust => (
            "Rust",
            "`src/lib.rs`",
            "Needs Rust with the `wasm32-unknown-unknown` target (`build.sh` adds it with \
             rustup) and the `interpose` binary on PATH (or `INTERPOSE=/path/to/interpose`)."
                .into(),
        ),
        Lang::Python => (
            "Python",
            "`app.py`",
            format!(
                "Needs Python 3 with pip: `build.sh` installs componentize-py {COMPONENTIZE_PY} \
                 into `.toolchain/` on first use (or set `COMPONENTIZE_PY_HOME` to a directory \
                 where `pip install --target` put it). `interpose_guest.py` is the helper \
                 module: subclass `Interceptor`, write only the hooks you want. Import every \
                 module at the top of a file: componentize-py snapshots the interpreter after \
                 import, and a module first imported inside a hook is missing at run time."
            ),
        ),
        Lang::Js => (
            "JavaScript",
            "`index.js`",
            "Needs Node.js 18 or newer: `build.sh` runs `npm ci` on the pinned \
             `package-lock.json` on first use (or set `INTERPOSE_JS_TOOLCHAIN` to a directory \
             where it ran). `interpose.js` is the helper module: extend `Interceptor`, write \
             only the hooks you want. The build disables `fetch` (guests get no network)."
                .into(),
        ),
        Lang::C => (
            "C",
            "`guest.c`",
            "Needs clang with wasm32-wasi support, lld and wasi-libc (Debian: `apt-get install \
             clang lld wasi-libc libclang-rt-dev-wasm32`) and the `interpose` binary on PATH \
             (or `INTERPOSE=/path/to/interpose`). `bindings/` holds what `wit-bindgen c \
             --world interceptor wit/` generates; `interpose.h` has helpers (headers, JSON \
             strings, interests, and `ip_done`, which drops the borrowed handles every export \
             must drop before it returns)."
                .into(),
        ),
    }
}

/// Where the Rust guest SDK of this build of Interpose is, if its source is still there.
fn default_sdk() -> Option<PathBuf> {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk"))
        .canonicalize()
        .ok()
        .filter(|p| p.join("Cargo.toml").exists())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Write the project `name` for `lang` into `dir` (default `./<name>`).
pub(crate) fn run(
    name: &str,
    lang: Lang,
    dir: Option<PathBuf>,
    sdk: Option<PathBuf>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    if !valid_name(name) {
        bail!(
            "`{name}` is not a guest name: use lowercase letters, digits and single dashes, \
             starting with a letter (it names the component, the crate and the header the \
             example sets)"
        );
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some())? {
        bail!(
            "`{}` exists and is not empty; nothing was written",
            dir.display()
        );
    }
    let sdk = match (lang, sdk) {
        (Lang::Rust, Some(p)) => Some(
            p.canonicalize()
                .with_context(|| format!("--sdk `{}`", p.display()))?,
        ),
        (Lang::Rust, None) => Some(default_sdk().context(
            "the Rust guest SDK's source is not where this binary was built from; pass \
             --sdk <path to interpose's guest-sdk directory>",
        )?),
        _ => None,
    };
    let type_name = interpose_catalogue::camel(name);
    let (language, source, toolchain) = readme_parts(lang);
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{type}}", &type_name)
            .replace("{{world}}", WORLD)
            .replace("{{componentize_py}}", COMPONENTIZE_PY)
            .replace("{{language}}", language)
            .replace("{{source}}", source)
            .replace("{{toolchain}}", &toolchain)
            .replace(
                "{{sdk}}",
                &sdk.as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
    };

    let mut written = Vec::new();
    let mut write = |rel: &str, text: String| -> anyhow::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        written.push(rel.to_owned());
        Ok(())
    };
    write("README.md", fill(README))?;
    write(".gitignore", GITIGNORE.to_owned())?;
    for (rel, text) in WIT {
        write(rel, (*text).to_owned())?;
    }
    for (rel, text) in files(lang) {
        // Helpers copied from the SDK are written as they are; templates are filled in.
        let verbatim = matches!(
            rel,
            "interpose_guest.py"
                | "interpose.js"
                | "build.mjs"
                | "package.json"
                | "package-lock.json"
        );
        write(
            rel,
            if verbatim {
                text.to_owned()
            } else {
                fill(text)
            },
        )?;
    }
    if lang == Lang::C {
        for path in c_bindings(&dir.join("wit"), &dir.join("bindings"))? {
            written.push(
                path.strip_prefix(&dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
        }
    }

    writeln!(
        out,
        "created {} ({language} guest `{name}`):",
        dir.display()
    )?;
    for w in &written {
        writeln!(out, "  {w}")?;
    }
    writeln!(out, "next:")?;
    writeln!(out, "  sh {}/build.sh", dir.display())?;
    writeln!(out, "  interpose check {}/{name}.wasm", dir.display())?;
    Ok(())
}

/// `interpose componentize <module> -o <component>`.
pub(crate) fn componentize(
    module: &Path,
    output: &Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(module).with_context(|| format!("cannot read `{}`", module.display()))?;
    if wasmparser::Parser::is_component(&bytes) {
        bail!(
            "`{}` is a component already; `interpose check` it",
            module.display()
        );
    }
    let component = interpose_build_support::componentize(&bytes).with_context(|| {
        format!(
            "`{}` cannot become a component (is it a module built with the interpose:interceptor bindings?)",
            module.display()
        )
    })?;
    std::fs::write(output, &component)
        .with_context(|| format!("writing `{}`", output.display()))?;
    writeln!(
        out,
        "{} -> {} ({} bytes)",
        module.display(),
        output.display(),
        component.len()
    )?;
    Ok(())
}
