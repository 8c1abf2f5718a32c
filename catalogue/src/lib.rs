//! The hook catalogue of `interpose:interceptor`, read once from `wit/types.wit`, and the
//! code every other place is generated from.
//!
//! The WIT is the one source of truth for which hooks exist, their order and their category:
//! the `hook` enum lists them, grouped under section comments that name the exported
//! interface of their category (`// ---- ... (interface `client`) ----`), and the
//! `call-detail` variant has one case per hook, in the same order. From that this crate
//! renders:
//!
//! - [`Catalogue::host_rust`]: the host's `Hook::ALL`, `name`, `from_name`, `category`,
//!   `span` and `CallDetail::hook` (the host's build script, `host/build.rs`);
//! - [`Catalogue::guest_rust`]: the Rust guest SDK's `Interceptor` trait methods, dispatch,
//!   `hook_name` and `category_of`, and [`Catalogue::guest_macro_table`], the
//!   `#[interceptor]` attribute's table (the macros crate's build script);
//! - [`Catalogue::python`] and [`Catalogue::javascript`]: the `CATEGORIES` tables of the
//!   Python and JavaScript helpers, kept in those files between markers
//!   ([`splice`]) and rewritten by `cargo xtask catalogue`; a test fails when they are stale.
//!
//! Adding a hook is then: its line in the WIT enum and its `call-detail` case, its per-hook
//! properties in the host (`host/src/model/hooks.rs`, an exhaustive match the compiler
//! points to), and its adapter.

use std::fmt::Write as _;
use std::path::Path;

/// One hook of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// WIT name (kebab-case), e.g. `start-workflow`.
    pub name: String,
    /// WIT interface of its category, e.g. `client`, `workflow-inbound`.
    pub category: String,
    /// The `///` docs of the enum case, joined with spaces.
    pub doc: String,
    /// Whether its `call-detail` case carries a value.
    pub detail_has_value: bool,
}

/// Every hook, in WIT order, with its category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    /// The hooks, in WIT order.
    pub hooks: Vec<Hook>,
}

/// Why the WIT could not be read as a catalogue.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hook catalogue of wit/types.wit: {}", self.0)
    }
}

impl std::error::Error for Error {}

/// The body of the block `<keyword> <name> {` in `text`, up to its closing brace, with the
/// line number (1-based) it starts at.
fn block<'a>(text: &'a str, header: &str) -> Result<(&'a str, usize), Error> {
    let start = text
        .find(header)
        .ok_or_else(|| Error(format!("`{header}` not found")))?;
    let body = &text[start + header.len()..];
    let end = body
        .find("\n    }")
        .ok_or_else(|| Error(format!("`{header}` has no closing brace")))?;
    let line = text[..start].lines().count() + 1;
    Ok((&body[..end], line))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Catalogue {
    /// Read the catalogue from the text of `wit/types.wit`.
    pub fn parse(types_wit: &str) -> Result<Catalogue, Error> {
        let (body, first) = block(types_wit, "enum hook {")?;
        let mut hooks = Vec::new();
        let mut category: Option<String> = None;
        let mut doc: Vec<String> = Vec::new();
        for (i, line) in body.lines().enumerate() {
            let line = line.trim();
            let at = first + i;
            if let Some(d) = line.strip_prefix("///") {
                doc.push(d.trim().to_owned());
            } else if let Some(comment) = line.strip_prefix("// ----") {
                // A section: `// ---- <words> (interface `<name>`) ----`.
                let rest = comment
                    .strip_suffix("----")
                    .and_then(|c| c.trim_end().strip_suffix("`)"))
                    .and_then(|c| c.rsplit_once("(interface `"));
                if let Some((_, rest)) = rest {
                    let name = rest.split('`').next().unwrap_or_default();
                    if !is_name(name) {
                        return Err(Error(format!(
                            "line {at}: section names interface `{name}`, not a WIT name"
                        )));
                    }
                    category = Some(name.to_owned());
                } else {
                    return Err(Error(format!(
                        "line {at}: a `// ----` section comment must end in \
                         \"(interface `<name>`) ----\""
                    )));
                }
            } else if line.starts_with("//") {
                // An ordinary comment: names no category.
            } else if let Some(name) = line.strip_suffix(',') {
                if !is_name(name) {
                    return Err(Error(format!("line {at}: `{line}` is not a hook case")));
                }
                let Some(category) = category.clone() else {
                    return Err(Error(format!(
                        "line {at}: hook `{name}` comes before any `(interface `...`)` section \
                         comment, so its category is unknown"
                    )));
                };
                hooks.push(Hook {
                    name: name.to_owned(),
                    category,
                    doc: doc.join(" "),
                    detail_has_value: false,
                });
                doc.clear();
            } else if !line.is_empty() {
                return Err(Error(format!("line {at}: `{line}` is not a hook case")));
            }
        }
        if hooks.is_empty() {
            return Err(Error("the hook enum is empty".into()));
        }
        if hooks.len() > 64 {
            return Err(Error(format!(
                "{} hooks: interest masks are 64 bits wide",
                hooks.len()
            )));
        }
        let (body, first) = block(types_wit, "variant call-detail {")?;
        let mut cases = Vec::new();
        for (i, line) in body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let case = line.trim_end_matches(',');
            let (name, has_value) = match case.split_once('(') {
                Some((name, _)) => (name, true),
                None => (case, false),
            };
            if !is_name(name) {
                return Err(Error(format!(
                    "line {}: `{line}` is not a call-detail case",
                    first + i
                )));
            }
            cases.push((name.to_owned(), has_value));
        }
        let names: Vec<&str> = hooks.iter().map(|h| h.name.as_str()).collect();
        let case_names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
        if names != case_names {
            return Err(Error(format!(
                "`call-detail` must have one case per hook, named and ordered as the hook enum: \
                 hooks {names:?}, cases {case_names:?}"
            )));
        }
        for (hook, (_, has_value)) in hooks.iter_mut().zip(cases) {
            hook.detail_has_value = has_value;
        }
        Ok(Catalogue { hooks })
    }

    /// Read `types.wit` of the WIT directory `wit`.
    pub fn load(wit: &Path) -> Result<Catalogue, Error> {
        let path = wit.join("types.wit");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error(format!("reading {}: {e}", path.display())))?;
        Catalogue::parse(&text)
    }

    /// The categories, in order of first appearance, with their hooks.
    pub fn categories(&self) -> Vec<(&str, Vec<&Hook>)> {
        let mut out: Vec<(&str, Vec<&Hook>)> = Vec::new();
        for h in &self.hooks {
            match out.iter_mut().find(|(c, _)| *c == h.category) {
                Some((_, list)) => list.push(h),
                None => out.push((&h.category, vec![h])),
            }
        }
        out
    }

    /// The host's generated items (included by `host/src/model/hooks.rs`).
    pub fn host_rust(&self) -> String {
        let mut s = String::from(
            "// Generated from wit/types.wit by interpose-catalogue (host/build.rs). Do not edit.\n\n",
        );
        let each =
            |f: &dyn Fn(&Hook) -> String| self.hooks.iter().map(f).collect::<Vec<_>>().join("\n");
        let _ = write!(
            s,
            "impl Hook {{
    /// Every hook, in WIT order.
    pub const ALL: &'static [Hook] = &[
{all}
    ];

    /// The WIT name of the hook (kebab-case).
    pub fn name(self) -> &'static str {{
        match self {{
{names}
        }}
    }}

    /// The category the hook belongs to.
    pub fn category(self) -> Category {{
        match self {{
{cats}
        }}
    }}

    /// A tracing span named after the hook, for one guest and phase.
    pub(crate) fn span(self, guest: &str, phase: Phase) -> tracing::Span {{
        match self {{
{spans}
        }}
    }}

    /// The hook with this WIT name.
    pub fn from_name(name: &str) -> Option<Hook> {{
        match name {{
{froms}
            _ => None,
        }}
    }}
}}

// Interest masks and `Hook::ALL.get(index)` rely on the enum's discriminants being the
// catalogue's order: checked when the crate compiles.
const _: () = {{
    let mut i = 0;
    while i < Hook::ALL.len() {{
        assert!(Hook::ALL[i] as usize == i, \"Hook::ALL is not in discriminant order\");
        i += 1;
    }}
}};

impl CallDetail {{
    /// The hook this detail belongs to.
    pub fn hook(&self) -> Hook {{
        match self {{
{details}
        }}
    }}
}}
",
            all = each(&|h| format!("        Hook::{},", camel(&h.name))),
            names = each(&|h| format!("            Hook::{} => {:?},", camel(&h.name), h.name)),
            cats = each(&|h| format!(
                "            Hook::{} => Category::{},",
                camel(&h.name),
                camel(&h.category)
            )),
            spans = each(&|h| format!(
                "            Hook::{} => tracing::debug_span!({:?}, guest, %phase),",
                camel(&h.name),
                h.name
            )),
            froms = each(&|h| format!(
                "            {:?} => Some(Hook::{}),",
                h.name,
                camel(&h.name)
            )),
            details = each(&|h| format!(
                "            CallDetail::{}{} => Hook::{},",
                camel(&h.name),
                if h.detail_has_value { "(_)" } else { "" },
                camel(&h.name)
            )),
        );
        s
    }

    /// The Rust guest SDK's generated items: the `interceptor_trait!` invocation (trait
    /// methods and dispatch), `hook_name` and `category_of`.
    pub fn guest_rust(&self) -> String {
        let mut s = String::from("interceptor_trait! {\n");
        for (cat, hooks) in self.categories() {
            let c = snake(cat);
            let _ = writeln!(s, "    {cat:?}, before_{c}, after_{c}: [");
            for h in hooks {
                let n = snake(&h.name);
                let _ = writeln!(s, "        (before_{n}, after_{n}, {}),", camel(&h.name));
            }
            s.push_str("    ],\n");
        }
        s.push_str("}\n\n/// The WIT name of a hook (e.g. `start-workflow`).\npub fn hook_name(hook: Hook) -> &'static str {\n    match hook {\n");
        for h in &self.hooks {
            let _ = writeln!(s, "        Hook::{} => {:?},", camel(&h.name), h.name);
        }
        s.push_str("    }\n}\n\n/// The category a hook belongs to, as the name of its WIT interface.\npub fn category_of(hook: Hook) -> &'static str {\n    match hook {\n");
        for h in &self.hooks {
            let _ = writeln!(s, "        Hook::{} => {:?},", camel(&h.name), h.category);
        }
        s.push_str("    }\n}\n");
        s
    }

    /// The `#[interceptor]` attribute's table: categories and their hooks, snake-case.
    pub fn guest_macro_table(&self) -> String {
        let mut s = String::from(
            "/// Hooks per category, snake-case, generated from wit/types.wit.\nconst CATEGORIES: &[(&str, &[&str])] = &[\n",
        );
        for (cat, hooks) in self.categories() {
            let names: Vec<String> = hooks
                .iter()
                .map(|h| format!("{:?}", snake(&h.name)))
                .collect();
            let _ = writeln!(s, "    ({:?}, &[{}]),", snake(cat), names.join(", "));
        }
        s.push_str("];\n");
        s
    }

    /// The Python helper's `CATEGORIES` (snake-case names, as in method names).
    pub fn python(&self) -> String {
        let mut s = String::from(
            "#: Hooks per category, as the snake-case names used in method names.\nCATEGORIES: Dict[str, Tuple[str, ...]] = {\n",
        );
        for (cat, hooks) in self.categories() {
            let _ = writeln!(s, "    \"{}\": (", snake(cat));
            for h in hooks {
                let _ = writeln!(s, "        \"{}\",", snake(&h.name));
            }
            s.push_str("    ),\n");
        }
        s.push_str("}\n");
        s
    }

    /// The JavaScript helper's `CATEGORIES` (WIT names, categories in camelCase).
    pub fn javascript(&self) -> String {
        let mut s = String::from(
            "/** Hooks per category, as the WIT names them. */\nexport const CATEGORIES = {\n",
        );
        for (cat, hooks) in self.categories() {
            let mut key = camel(cat);
            key[..1].make_ascii_lowercase();
            let _ = writeln!(s, "  {key}: [");
            for h in hooks {
                let _ = writeln!(s, "    '{}',", h.name);
            }
            s.push_str("  ],\n");
        }
        s.push_str("};\n");
        s
    }
}

/// `start-workflow` → `StartWorkflow`.
pub fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `start-workflow` → `start_workflow`.
pub fn snake(kebab: &str) -> String {
    kebab.replace('-', "_")
}

/// The marker lines around a generated region, in a file whose line comments start with
/// `comment` (`#` or `//`).
pub fn markers(comment: &str) -> (String, String) {
    (
        format!(
            "{comment} BEGIN hook catalogue, generated from wit/types.wit by `cargo xtask catalogue`: do not edit"
        ),
        format!("{comment} END hook catalogue"),
    )
}

/// `text` with the region between the markers (see [`markers`]) replaced by `generated`.
pub fn splice(text: &str, comment: &str, generated: &str) -> Result<String, Error> {
    let (begin, end) = markers(comment);
    let start = text
        .find(&begin)
        .ok_or_else(|| Error(format!("marker `{begin}` not found")))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| Error(format!("marker `{end}` not found after the begin marker")))?
        + start;
    Ok(format!("{}\n{generated}{}", &text[..start], &text[stop..]))
}

/// A helper file with a generated region.
pub struct Helper {
    /// Path under the workspace root.
    pub path: &'static str,
    /// Line comment prefix of its language.
    pub comment: &'static str,
    /// What renders its region.
    pub render: fn(&Catalogue) -> String,
}

/// The helper files with a generated region.
pub const HELPERS: &[Helper] = &[
    Helper {
        path: "guest-sdk/python/interpose_guest.py",
        comment: "#",
        render: Catalogue::python,
    },
    Helper {
        path: "guest-sdk/js/interpose.js",
        comment: "//",
        render: Catalogue::javascript,
    },
];

/// Rewrite every helper's generated region from the WIT under `root`; returns the files
/// that changed.
pub fn write_helpers(root: &Path) -> Result<Vec<String>, Error> {
    let catalogue = Catalogue::load(&root.join("wit"))?;
    let mut changed = Vec::new();
    for Helper {
        path: file,
        comment,
        render,
    } in HELPERS
    {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error(format!("reading {}: {e}", path.display())))?;
        let new = splice(&text, comment, &render(&catalogue))?;
        if new != text {
            std::fs::write(&path, new)
                .map_err(|e| Error(format!("writing {}: {e}", path.display())))?;
            changed.push((*file).to_owned());
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIT: &str = "interface types {
    enum hook {
        // ---- one (interface `alpha`) ----
        /// First.
        a-one,
        // ---- two (interface `beta-side`) ----
        b-two,
    }

    variant call-detail {
        a-one(string),
        b-two,
    }
}";

    #[test]
    fn reads_hooks_categories_and_detail_shapes() {
        let c = Catalogue::parse(WIT).unwrap();
        assert_eq!(c.hooks.len(), 2);
        assert_eq!(c.hooks[0].category, "alpha");
        assert_eq!(c.hooks[0].doc, "First.");
        assert!(c.hooks[0].detail_has_value);
        assert_eq!(c.hooks[1].category, "beta-side");
        assert!(!c.hooks[1].detail_has_value);
        assert!(c.host_rust().contains("CallDetail::BTwo => Hook::BTwo,"));
        assert!(c.javascript().contains("  betaSide: [\n    'b-two',\n  ],"));
    }

    #[test]
    fn a_hook_without_a_detail_case_or_section_is_refused() {
        let e = Catalogue::parse(&WIT.replace("        b-two,\n    }\n}", "    }\n}")).unwrap_err();
        assert!(e.0.contains("one case per hook"), "{e}");
        let e =
            Catalogue::parse(&WIT.replace("// ---- one (interface `alpha`) ----", "")).unwrap_err();
        assert!(e.0.contains("category is unknown"), "{e}");
        // A section comment that does not name its interface exactly is refused, and an
        // ordinary comment mentioning an interface moves no hook.
        let e = Catalogue::parse(&WIT.replace("(interface `beta-side`) ----", "beta-side ----"))
            .unwrap_err();
        assert!(e.0.contains("must end in"), "{e}");
        let c = Catalogue::parse(&WIT.replace(
            "        b-two,\n    }\n\n",
            "        // see (interface `alpha`) too\n        b-two,\n    }\n\n",
        ))
        .unwrap();
        assert_eq!(c.hooks[1].category, "beta-side");
    }

    #[test]
    fn splice_replaces_only_the_region() {
        let (b, e) = markers("#");
        let text = format!("head\n{b}\nold\n{e}\ntail\n");
        assert_eq!(
            splice(&text, "#", "new\n").unwrap(),
            format!("head\n{b}\nnew\n{e}\ntail\n")
        );
    }
}
