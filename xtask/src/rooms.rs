//! `cargo xtask rooms`: the host library's rooms and which rooms each one uses.
//!
//! A room is a top-level module of `host/src` (a directory or a file). Rooms are listed in
//! [`ROOMS`] bottom first, as the data flows; a file may use its own room and the rooms below
//! it, never one above. That rules out import cycles between rooms: the check fails, naming
//! the file and line, when a `crate::` or `super::` path reaches up.
//!
//! The scan reads paths, not types: every `crate::<room>` and `super::...` path in code
//! (comments are skipped, intra-doc links included), and the names inside `use crate::{...}`
//! groups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The rooms of `host/src`, bottom first. `lib.rs` is the crate root and re-exports; it is
/// not a room.
pub(crate) const ROOMS: &[&str] = &[
    "model",
    "error",
    "config",
    "services",
    "runtime",
    "chain",
    "devserver",
    "temporal",
    // The OpenTelemetry export of guest spans (feature `otel`): an embedding-side sink, like
    // the Temporal adapters' Prometheus one.
    "otel",
];

/// One use of another room.
#[derive(Debug)]
struct Use {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rs_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The module path of a file under `src`: `runtime/host/mod.rs` is `[runtime, host]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The code of a line, without its `//` comment (strings holding `//` are rare enough in
/// this crate's paths not to matter: a false cut only hides a path after it).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segments each path starting at `text` names: one for `x::...`, several for a
/// `{a, b::c}` group.
fn first_segments(text: &str) -> Vec<String> {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut at_item = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => at_item = true,
                c if at_item && !c.is_whitespace() => {
                    at_item = false;
                    let id = ident_at(&group[i..]);
                    if !id.is_empty() {
                        out.push(id.to_owned());
                    }
                }
                _ => {}
            }
        }
        out
    } else {
        let id = ident_at(text);
        if id.is_empty() {
            Vec::new()
        } else {
            vec![id.to_owned()]
        }
    }
}

fn scan(src: &Path) -> anyhow::Result<Vec<Use>> {
    let mut files = Vec::new();
    rs_files(src, &mut files)?;
    files.sort();
    let mut uses = Vec::new();
    for file in files {
        let module = module_path(src, &file);
        let Some(room) = module.first().cloned() else {
            continue; // lib.rs
        };
        let text = std::fs::read_to_string(&file)?;
        // Join the code of all lines, keeping line starts to report line numbers.
        let mut joined = String::new();
        let mut starts = Vec::new();
        for line in text.lines() {
            starts.push(joined.len());
            joined.push_str(code(line));
            joined.push('\n');
        }
        let line_of = |at: usize| starts.partition_point(|&s| s <= at);
        let bytes = joined.as_bytes();
        let mut at = 0;
        while let Some(found) = joined[at..]
            .find("crate::")
            .map(|i| i + at)
            .into_iter()
            .chain(joined[at..].find("super::").map(|i| i + at))
            .min()
        {
            at = found + 1;
            if found > 0 && (bytes[found - 1].is_ascii_alphanumeric() || bytes[found - 1] == b'_') {
                continue; // `$crate::`, `my_crate::`
            }
            // Resolve the prefix to an absolute module path.
            let mut rest = &joined[found..];
            let mut base: Vec<String> = if rest.starts_with("crate::") {
                rest = &rest["crate::".len()..];
                Vec::new()
            } else {
                let mut base = module.clone();
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
                base
            };
            if !base.is_empty() {
                // `super::x` inside a room stays in that room.
                base.truncate(1);
                let to = base.remove(0);
                if to != room {
                    uses.push(Use {
                        file: file.clone(),
                        line: line_of(found),
                        from: room.clone(),
                        to,
                    });
                }
                continue;
            }
            for to in first_segments(rest) {
                if to != room && ROOMS.contains(&to.as_str()) {
                    uses.push(Use {
                        file: file.clone(),
                        line: line_of(found),
                        from: room.clone(),
                        to,
                    });
                }
            }
        }
    }
    Ok(uses)
}

/// Print the room graph of `host/src` and fail on any use of a room above the user.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let src = root.join("host/src");
    let uses = scan(&src)?;
    let rank = |r: &str| ROOMS.iter().position(|x| *x == r);
    let mut graph: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for u in &uses {
        let (Some(from), Some(to)) = (rank(&u.from), rank(&u.to)) else {
            wrong.push(format!(
                "{}:{}: room `{}` is not in xtask's ROOMS list (add it where it belongs)",
                u.file.strip_prefix(root).unwrap_or(&u.file).display(),
                u.line,
                if rank(&u.from).is_none() {
                    &u.from
                } else {
                    &u.to
                }
            ));
            continue;
        };
        graph.entry(from).or_default().insert(ROOMS[to]);
        if to > from {
            wrong.push(format!(
                "{}:{}: `{}` uses `{}`, a room above it",
                u.file.strip_prefix(root).unwrap_or(&u.file).display(),
                u.line,
                u.from,
                u.to
            ));
        }
    }
    println!("rooms of host/src, bottom first, and the rooms each uses:");
    for (i, room) in ROOMS.iter().enumerate() {
        let used: Vec<&str> = graph
            .get(&i)
            .map_or(Vec::new(), |s| s.iter().copied().collect());
        println!(
            "  {room:<10} -> {}",
            if used.is_empty() {
                "(nothing)".to_owned()
            } else {
                used.join(", ")
            }
        );
    }
    if !wrong.is_empty() {
        bail!(
            "{} use(s) against the room order (a room may use only the rooms listed before it):\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
    println!("no room uses a room above it: the room graph has no cycle");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_paths_name_their_first_segment() {
        assert_eq!(first_segments("chain::Hook;"), ["chain"]);
        assert_eq!(
            first_segments("{config::{A, B}, error::E,\n model::Hook}"),
            ["config", "error", "model"]
        );
    }

    #[test]
    fn a_use_of_a_room_above_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("xtask-rooms-{}", std::process::id()));
        let src = dir.join("host/src");
        std::fs::create_dir_all(src.join("runtime")).unwrap();
        std::fs::write(src.join("model.rs"), "// crate::chain in a comment\n").unwrap();
        std::fs::write(
            src.join("runtime/mod.rs"),
            "use crate::{model::X, chain::Chain};\n",
        )
        .unwrap();
        let err = check(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("runtime/mod.rs:1: `runtime` uses `chain`"),
            "{err}"
        );
        assert!(!err.contains("model.rs"), "{err}");
    }
}
