//! Links the system Leptonica, whose image functions `read::ocr` calls
//! directly (decoding, rotating, scaling). Tesseract itself is linked by
//! `tesseract-rs` (feature `use-system-tesseract`), which lists Leptonica
//! only as a private dependency.

fn main() {
    if let Err(e) = pkg_config::probe_library("lept") {
        println!("cargo:warning=pkg-config cannot find lept ({e}); install libleptonica-dev");
        println!("cargo:rustc-link-lib=lept");
    }
}
