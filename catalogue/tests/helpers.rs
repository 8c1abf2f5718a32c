//! The Python and JavaScript helpers' catalogues are the ones the WIT generates.

use std::path::Path;

#[test]
fn helper_catalogues_are_generated_from_the_wit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let catalogue = interpose_catalogue::Catalogue::load(&root.join("wit")).unwrap();
    for helper in interpose_catalogue::HELPERS {
        let file = helper.path;
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let fresh =
            interpose_catalogue::splice(&text, helper.comment, &(helper.render)(&catalogue))
                .unwrap();
        assert!(
            fresh == text,
            "{file}: its hook catalogue is stale; run `cargo xtask catalogue`"
        );
    }
}
