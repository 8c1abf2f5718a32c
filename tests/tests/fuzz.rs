//! Fuzzing the boundaries a user controls: the config parser and the component loader.
//! Seeds come from `tests/fuzz-corpus` (and, for the loader, every guest built from
//! source); each case mutates a seed or starts from arbitrary input. The property: `Ok` or
//! a typed error, never a panic — and a config that parses satisfies the invariants the
//! loader relies on. Bounded by default; `FUZZ_CASES=n` for long runs.
//!
//! Named `hostile_fuzz_*`: `cargo test --workspace -- hostile` selects them.

use std::path::{Path, PathBuf};

use interpose::config::Config;
use interpose_tests::guests;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence};

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(dir);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let bytes = if p.extension().is_some_and(|x| x == "wat") {
                wat::parse_bytes(&bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                    .into_owned()
            } else {
                bytes
            };
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} holds seeds", dir.display());
    out
}

fn runner(default_cases: u32) -> RunnerConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    RunnerConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "../proptest-regressions",
        ))),
        ..RunnerConfig::default()
    }
}

/// Tokens that mean something to TOML or to our schema, for insertion.
const TOKENS: &[&str] = &[
    "[[guest]]\n",
    "[guest.config]\n",
    "[runtime]\n",
    "name = \"g\"\n",
    "path = \"g.wasm\"\n",
    "native = true\n",
    "fuel = ",
    "deadline = \"",
    "memory = \"",
    "max-output = \"",
    "table-elements = ",
    "on-failure = \"skip\"\n",
    "instances = \"reuse\"\n",
    "clock = \"real\"\n",
    "18446744073709551616",
    "-1",
    "1e400",
    "nan",
    "\"",
    "'''",
    "\\u0000",
    "=",
    "\n",
    "[",
    "]",
    "{",
    "}",
    "ms\"",
    " TiB\"",
];

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Edit::Cut(i, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), 0usize..256).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *e {
            Edit::Flip(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Flip(..) => {}
            Edit::Cut(i, n) => {
                let s = at(i);
                let end = (s + n).min(len);
                bytes.drain(s..end);
            }
            Edit::Insert(i, t) => {
                let s = at(i);
                bytes.splice(s..s, TOKENS[t].bytes());
            }
            Edit::Duplicate(i, n) => {
                let s = at(i);
                let end = (s + n).min(len);
                let chunk = bytes[s..end].to_vec();
                bytes.splice(end..end, chunk);
            }
        }
    }
    bytes
}

/// Parse, and check what a parsed config promises the loader.
fn parse(text: &str) {
    let dir = Path::new("/fuzz");
    match Config::from_toml(text, dir, &dir.join("interpose.toml")) {
        Ok(config) => {
            let mut names = std::collections::BTreeSet::new();
            for g in &config.guests {
                assert!(!g.name.is_empty(), "a parsed guest has a name");
                assert!(names.insert(g.name.clone()), "names are unique");
                if !g.native {
                    assert!(g.path.is_absolute(), "paths are resolved: {:?}", g.path);
                    assert!(g.limits.fuel > 0, "fuel is positive");
                }
            }
        }
        Err(e) => {
            // Typed, and printable without panicking.
            let _ = e.to_string();
        }
    }
}

#[test]
fn hostile_fuzz_config_parser_never_panics() {
    let seeds = corpus("config");
    for (name, bytes) in &seeds {
        let text = String::from_utf8(bytes.clone()).unwrap_or_else(|_| panic!("{name}"));
        parse(&text);
    }
    let mut runner = proptest::test_runner::TestRunner::new(runner(2000));
    let strategy = prop_oneof![
        // A corpus seed with edits.
        (0..seeds.len(), prop::collection::vec(edit(), 1..8)).prop_map({
            let seeds = seeds.clone();
            move |(i, edits)| {
                String::from_utf8_lossy(&apply(seeds[i].1.clone(), &edits)).into_owned()
            }
        }),
        // Arbitrary text.
        ".{0,512}",
    ];
    runner
        .run(&strategy, |text| {
            parse(&text);
            Ok(())
        })
        .unwrap();
}

#[test]
fn hostile_fuzz_component_loader_never_panics() {
    let mut seeds = corpus("components");
    let corpus_seeds = seeds.len();
    for (name, path) in [
        ("probe", guests::PROBE),
        ("hostile", guests::HOSTILE),
        ("wasi-probe", guests::WASI_PROBE),
        ("context-propagation", guests::CONTEXT_PROPAGATION),
    ] {
        seeds.push((name.to_owned(), std::fs::read(path).unwrap()));
    }
    let runtime = interpose::runtime::Runtime::builder()
        .cache(false)
        .max_instances(16)
        .build()
        .expect("engine");
    let dir = tempfile::tempdir().unwrap();
    let inspect = |bytes: &[u8]| {
        let path: PathBuf = dir.path().join("fuzzed.wasm");
        std::fs::write(&path, bytes).unwrap();
        match runtime.inspect(&path) {
            Ok(info) => assert!(!info.hash.is_empty()),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    };
    // Every seed on its own; the real guests (built from source) must load, or the
    // mutations below start from something the loader refuses at its first check.
    for (n, (name, bytes)) in seeds.iter().enumerate() {
        if n >= corpus_seeds {
            let path: PathBuf = dir.path().join(format!("{name}.wasm"));
            std::fs::write(&path, bytes).unwrap();
            let info = runtime
                .inspect(&path)
                .unwrap_or_else(|e| panic!("the real guest `{name}` loads: {e}"));
            assert!(!info.interests.is_empty(), "{name} declares interests");
        } else {
            inspect(bytes);
        }
    }
    let mut runner = proptest::test_runner::TestRunner::new(runner(150));
    let strategy = (0..seeds.len(), prop::collection::vec(edit(), 1..4)).prop_map({
        let seeds = seeds.clone();
        move |(i, edits)| apply(seeds[i].1.clone(), &edits)
    });
    runner
        .run(&strategy, |bytes| {
            inspect(&bytes);
            Ok(())
        })
        .unwrap();
}
