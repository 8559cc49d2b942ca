//! Links the system Leptonica, whose image functions `read::ocr` calls
//! directly (decoding, rotating, scaling). Tesseract itself is linked by
//! `tesseract-rs` (feature `use-system-tesseract`), which lists Leptonica
//! only as a private dependency. It also rebuilds the crate when a
//! migration is added.

fn main() {
    // `sqlx::migrate!` embeds the migrations at compile time but does not
    // notice a new file on its own.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(e) = pkg_config::probe_library("lept") {
        println!("cargo:warning=pkg-config cannot find lept ({e}); install libleptonica-dev");
        println!("cargo:rustc-link-lib=lept");
    }
}
