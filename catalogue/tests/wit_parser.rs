//! The catalogue's reading of `types.wit` agrees with a real WIT parser's: same hooks in the
//! same order, and the same `call-detail` cases with the same shapes.

use std::path::Path;

use wit_parser_c::{Resolve, TypeDefKind};

#[test]
fn the_catalogue_reads_the_wit_as_wit_parser_does() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let catalogue = interpose_catalogue::Catalogue::load(&wit).unwrap();
    let mut resolve = Resolve::default();
    resolve.push_dir(&wit).unwrap();
    let types = resolve
        .interfaces
        .iter()
        .find(|(_, i)| i.name.as_deref() == Some("types"))
        .map(|(_, i)| i)
        .unwrap();
    let kind = |name: &str| &resolve.types[types.types[name]].kind;
    let TypeDefKind::Enum(hook) = kind("hook") else {
        panic!("`hook` is not an enum")
    };
    let names: Vec<&str> = hook.cases.iter().map(|c| c.name.as_str()).collect();
    let ours: Vec<&str> = catalogue.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(ours, names);
    let TypeDefKind::Variant(detail) = kind("call-detail") else {
        panic!("`call-detail` is not a variant")
    };
    let shapes: Vec<(&str, bool)> = detail
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.ty.is_some()))
        .collect();
    let ours: Vec<(&str, bool)> = catalogue
        .hooks
        .iter()
        .map(|h| (h.name.as_str(), h.detail_has_value))
        .collect();
    assert_eq!(ours, shapes);
    // Every category names an interface the package exports.
    for (category, _) in catalogue.categories() {
        assert!(
            resolve
                .interfaces
                .iter()
                .any(|(_, i)| i.name.as_deref() == Some(category)),
            "no interface `{category}`"
        );
    }
}
