//! Hands the target triple to the tests, so `cargo metadata --filter-platform` reads only the
//! packages this platform builds (all of them are in the local cache; the test needs no network).

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=TIDY_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
