//! Generates the hook catalogue of the `#[interceptor]` attribute and of the guest SDK's
//! `Interceptor` trait from `wit/types.wit`: the WIT is its one source.

fn main() {
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    println!("cargo:rerun-if-changed={}", wit.join("types.wit").display());
    let catalogue = interpose_catalogue::Catalogue::load(&wit).unwrap_or_else(|e| panic!("{e}"));
    let out =
        std::path::Path::new(&std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("catalogue.rs");
    let text = format!(
        "{}\n/// The guest SDK's generated items, expanded by `__catalogue!()`.\nconst GUEST_ITEMS: &str = {:?};\n",
        catalogue.guest_macro_table(),
        catalogue.guest_rust()
    );
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
