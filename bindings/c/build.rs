//! Regenerates `include/rapport.h` from the crate's sources with cbindgen (configured by
//! `cbindgen.toml`). The header is committed; `ci.sh` fails when a build changes it.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml is readable and valid");
    println!("cargo::rerun-if-changed=cbindgen.toml");
    println!("cargo::rerun-if-changed=src");
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/rapport.h"));
        }
        // A syntax error in src/ is reported by rustc with a better message; keep the old
        // header so that error is the one the user sees.
        Err(e) => println!("cargo::warning=rapport.h not regenerated: {e}"),
    }
}
