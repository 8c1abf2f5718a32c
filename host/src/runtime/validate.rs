//! What a component must look like to be loaded: it exports at least one interface of
//! `interpose:interceptor` at a compatible version and imports only what the host provides.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::model::Category;

/// The WIT package guests are built against.
pub const PACKAGE: &str = "interpose:interceptor";
/// The version of the WIT package this host implements.
pub const VERSION: &str = "0.5.0";

/// Host interfaces a guest may import.
const HOST_INTERFACES: &[&str] = &[
    "types",
    "log",
    "metrics",
    "config",
    "workflow-context",
    "activity-context",
    "tracing",
];

/// What an operator does with a guest built for another contract version.
pub(crate) fn version_advice(found: &str) -> String {
    let key = semver_key(found);
    if key[0] == 0 && (2..=4).contains(&key[1]) {
        format!(
            "Contract {VERSION} adds hooks to the hook catalogue, which every guest is compiled \
             against (`start-nexus-operation` in 0.3, the `activity-outbound` category with \
             `activity-heartbeat` in 0.4, the standalone-activity, standalone-Nexus and worker \
             build-id client hooks in 0.5), so a {found} guest cannot run here: rebuild it with \
             this release's SDK (Rust: interpose-guest, source unchanged unless it matches \
             `Hook` or `CallDetail` exhaustively; Python and JavaScript guests from before 0.4: \
             also export `ActivityOutbound` / `activityOutbound` from the helper's `export`; C \
             guests from before 0.4: add `IP_NO_HOOKS(activity_outbound)`)"
        )
    } else if key < semver_key(VERSION) {
        format!(
            "Contract {VERSION} hands declared headers to hooks as parameters and takes header \
             edits with the `before` decision, so a {found} guest cannot run here: rebuild it \
             with this release's SDK (Rust: interpose-guest; Python, JavaScript, C: the helpers \
             in guest-sdk/), or scaffold it again with `interpose new` and move its hooks over \
             (docs/languages.md)"
        )
    } else {
        format!(
            "The guest is newer than this host: upgrade Interpose, or rebuild the guest with the \
             SDK of this release ({VERSION})"
        )
    }
}

/// `major.minor.patch` as numbers for ordering (unparsable parts count as 0).
fn semver_key(v: &str) -> [u64; 3] {
    let mut out = [0u64; 3];
    for (slot, part) in out.iter_mut().zip(v.split('.')) {
        *slot = part
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
    }
    out
}

/// Whether `version` is semver-compatible with [`VERSION`] (same major and minor; for 0.x,
/// a minor is a breaking change). Pre-release and build suffixes do not matter.
pub(crate) fn compatible(version: &str) -> bool {
    let (v, ours) = (semver_key(version), semver_key(VERSION));
    v[..2] == ours[..2]
}

/// Split `interpose:interceptor/<iface>@<version>`.
fn ours(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(match rest.split_once('@') {
        Some((iface, v)) => (iface, Some(v)),
        None => (rest, None),
    })
}

/// What a component imports and exports, after validation.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    /// Every import name.
    pub(crate) imports: Vec<String>,
    /// Whether any WASI interface is imported (the instance then gets a virtual WASI).
    pub(crate) uses_wasi: bool,
    /// The `wasi:sockets` imports, satisfied by stubs that trap (no network).
    pub(crate) no_network: Vec<String>,
    /// The exact export name per category, where exported.
    pub(crate) exports: [Option<String>; Category::ALL.len()],
}

/// Why a component's shape is refused.
pub(crate) enum ShapeError {
    /// Built for another (incompatible) version of the contract.
    Version {
        found: String,
    },
    Forbidden {
        import: String,
        reason: String,
    },
    NoExport(String),
}

pub(crate) fn check(engine: &Engine, component: &Component) -> Result<Shape, ShapeError> {
    let ty = component.component_type();
    // A guest built for another contract version is told so first, whatever else it
    // imports or exports: that is the one thing to fix.
    let names = ty
        .imports(engine)
        .map(|(n, _)| n)
        .chain(ty.exports(engine).map(|(n, _)| n));
    for name in names {
        if let Some((_, Some(version))) = ours(name)
            && !compatible(version)
        {
            return Err(ShapeError::Version {
                found: version.to_owned(),
            });
        }
    }
    let mut imports = Vec::new();
    let mut uses_wasi = false;
    let mut no_network = Vec::new();
    for (name, _) in ty.imports(engine) {
        imports.push(name.to_owned());
        if let Some((iface, version)) = ours(name) {
            if !HOST_INTERFACES.contains(&iface) {
                return Err(ShapeError::Forbidden {
                    import: name.into(),
                    reason: format!(
                        "`{iface}` is not a host interface (the host provides {})",
                        HOST_INTERFACES.join(", ")
                    ),
                });
            }
            if !version.is_some_and(compatible) {
                return Err(ShapeError::Forbidden {
                    import: name.into(),
                    reason: format!("this host implements {PACKAGE}@{VERSION}"),
                });
            }
        } else if name.starts_with("wasi:") {
            let provision =
                super::wasi::allowed_wasi(name).map_err(|reason| ShapeError::Forbidden {
                    import: name.into(),
                    reason: reason.into(),
                })?;
            if provision == super::wasi::Provision::NoNetwork {
                no_network.push(name.to_owned());
            }
            uses_wasi = true;
        } else {
            return Err(ShapeError::Forbidden {
                import: name.into(),
                reason: "guests may import only interpose:interceptor host interfaces and the \
                         virtualized WASI"
                    .into(),
            });
        }
    }
    let mut exports: [Option<String>; Category::ALL.len()] = Default::default();
    let mut seen = Vec::new();
    let mut wrong_version = Vec::new();
    for (name, item) in ty.exports(engine) {
        seen.push(name.to_owned());
        let Some((iface, version)) = ours(name) else {
            continue;
        };
        let Some(cat) = Category::ALL.iter().find(|c| c.interface() == iface) else {
            continue;
        };
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            continue;
        }
        if version.is_some_and(compatible) {
            exports[cat.index()] = Some(name.to_owned());
        } else {
            wrong_version.push(name.to_owned());
        }
    }
    if exports.iter().all(Option::is_none) {
        let message = if !wrong_version.is_empty() {
            format!(
                "exports {} at an incompatible version; this host implements {PACKAGE}@{VERSION}",
                wrong_version.join(", ")
            )
        } else if seen.is_empty() {
            format!(
                "exports nothing; an interceptor exports at least one of {PACKAGE}/{{client, workflow-inbound, workflow-outbound, activity-inbound, activity-outbound}}@{VERSION}"
            )
        } else {
            format!(
                "exports no interface of {PACKAGE}@{VERSION} (it exports: {})",
                seen.join(", ")
            )
        };
        return Err(ShapeError::NoExport(message));
    }
    Ok(Shape {
        imports,
        uses_wasi,
        no_network,
        exports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compatible_within_the_same_minor() {
        assert!(compatible("0.5.0"));
        assert!(compatible("0.5.7"));
        assert!(compatible("0.5.0-rc.1"));
        assert!(compatible("0.5.0+build.1"));
        assert!(!compatible("0.1.0"));
        assert!(!compatible("0.2.0"));
        assert!(!compatible("0.3.0"));
        assert!(!compatible("0.4.0"));
        assert!(!compatible("0.6.0"));
        assert!(!compatible("1.1.0"));
        assert!(!compatible("garbage"));
    }

    #[test]
    fn advice_says_rebuild_for_older_guests_and_upgrade_for_newer_ones() {
        assert!(version_advice("0.1.0").contains("interpose new"));
        assert!(version_advice("0.1.0").contains("rebuild"));
        assert!(version_advice("0.2.0").contains("source unchanged"));
        assert!(version_advice("0.3.0").contains("activity-outbound"));
        assert!(version_advice("0.4.0").contains("standalone-activity"));
        assert!(version_advice("0.4.0").contains("source unchanged"));
        assert!(version_advice("0.6.0").contains("upgrade Interpose"));
        assert!(version_advice("1.0.0").contains("upgrade Interpose"));
        assert!(version_advice("garbage").contains("rebuild"));
    }

    #[test]
    fn our_names_are_split_into_interface_and_version() {
        assert_eq!(
            ours("interpose:interceptor/client@0.1.0"),
            Some(("client", Some("0.1.0")))
        );
        assert_eq!(ours("interpose:interceptor/log"), Some(("log", None)));
        assert_eq!(ours("interpose:other/log@0.1.0"), None);
        assert_eq!(ours("wasi:cli/stdout@0.2.0"), None);
    }

    #[test]
    fn only_the_virtualized_wasi_is_allowed() {
        use crate::runtime::wasi::Provision;
        use crate::runtime::wasi::allowed_wasi;
        assert_eq!(
            allowed_wasi("wasi:clocks/wall-clock@0.2.6"),
            Ok(Provision::Virtual)
        );
        assert!(allowed_wasi("wasi:filesystem/preopens@0.2.0").is_ok());
        assert_eq!(
            allowed_wasi("wasi:sockets/tcp@0.2.0"),
            Ok(Provision::NoNetwork)
        );
        assert!(allowed_wasi("wasi:http/outgoing-handler@0.2.0").is_err());
        assert!(
            allowed_wasi("wasi:clocks/wall-clock@0.3.0").is_err(),
            "only wasip2"
        );
        assert!(allowed_wasi("wasi:keyvalue/store@0.2.0").is_err());
    }
}
