//! Bad input at start-up, through the real `interpose` binary: each case is one clear error
//! on stderr and a non-zero exit, with nothing reported as loaded. (The library-level
//! errors, typed, are tested in the workspace tests; this is what an operator sees.)
//!
//! Named `hostile_*`: `cargo test --workspace -- hostile` selects them.

use std::path::Path;
use std::process::Command;

fn validate(dir: &Path, config: &str) -> (bool, String, String) {
    let path = dir.join("interpose.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_interpose"))
        .arg("validate")
        .arg(&path)
        .env("INTERPOSE_LOG", "warn")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run interpose");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn component(export: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $inst (export "f" (func $f)))
            (export "{export}" (instance $inst)))"#
    ))
    .unwrap()
}

#[test]
fn hostile_bad_input_at_start_up_is_one_error_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("corrupt.wasm"), b"\0asm\x0d\0\x01\0garbage").unwrap();
    std::fs::write(
        d.join("core.wasm"),
        wat::parse_str("(module (func (export \"f\")))").unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("other.wasm"), component("other:pkg/thing@1.0.0")).unwrap();
    std::fs::write(
        d.join("future.wasm"),
        component("interpose:interceptor/client@0.6.0"),
    )
    .unwrap();
    std::fs::write(
        d.join("imports.wasm"),
        wat::parse_str(r#"(component (import "acme:spy/exfiltrate@1.0.0" (instance)))"#).unwrap(),
    )
    .unwrap();
    let g = |name: &str, file: &str, extra: &str| {
        format!("[[guest]]\nname = \"{name}\"\npath = \"{file}\"\n{extra}\n")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "corrupt file",
            g("c", "corrupt.wasm", ""),
            "is not a valid component",
        ),
        (
            "core module",
            g("c", "core.wasm", ""),
            "is a core Wasm module",
        ),
        (
            "another WIT package",
            g("c", "other.wasm", ""),
            "exports no interface of interpose:interceptor",
        ),
        (
            "an incompatible version of ours",
            g("c", "future.wasm", ""),
            "was built for interpose:interceptor@0.6.0",
        ),
        (
            "an import the host does not provide",
            g("c", "imports.wasm", ""),
            "acme:spy/exfiltrate@1.0.0",
        ),
        (
            "unknown key",
            g("c", "core.wasm", "feul = 1"),
            "unknown field `feul`",
        ),
        (
            "bad unit",
            g("c", "core.wasm", "memory = \"12 parsecs\""),
            "memory",
        ),
        (
            "bad duration",
            g("c", "core.wasm", "deadline = \"soon\""),
            "deadline",
        ),
        (
            "missing file",
            g("gone", "missing.wasm", ""),
            "guest `gone`: cannot read",
        ),
        (
            "duplicate name",
            g("a", "core.wasm", "") + &g("a", "core.wasm", ""),
            "duplicate guest name `a`",
        ),
        ("not TOML", "[[guest]\nname=".into(), "TOML parse error"),
    ];
    for (what, config, expect) in cases {
        let (ok, stdout, stderr) = validate(d, &config);
        assert!(!ok, "{what}: non-zero exit");
        assert!(
            !stdout.contains("ok:"),
            "{what}: nothing reported as loaded: {stdout}"
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{what}: exactly one error: {stderr}");
        assert!(stderr.contains(expect), "{what}: says `{expect}`: {stderr}");
    }
}
