//! Generates the host's hook catalogue (`Hook::ALL`, names, categories, spans,
//! `CallDetail::hook`) from `wit/types.wit`: the WIT is its one source.

fn main() {
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    println!("cargo:rerun-if-changed={}", wit.join("types.wit").display());
    let catalogue = interpose_catalogue::Catalogue::load(&wit).unwrap_or_else(|e| panic!("{e}"));
    let out = std::path::Path::new(&std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("hooks.rs");
    std::fs::write(&out, catalogue.host_rust())
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
