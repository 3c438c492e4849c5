//! Tells stm-check the optimisation level it is being built with: no `cfg`
//! says it, and a long `check` in an unoptimised test build says how to
//! make it fast (see `src/progress.rs`).

fn main() {
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo:rustc-env=STM_CHECK_OPT_LEVEL={opt_level}");
    println!("cargo:rerun-if-changed=build.rs");
}
