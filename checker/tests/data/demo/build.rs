fn main() {
    // If this ever runs, the checker executed user code.
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    std::fs::write(std::path::Path::new(&dir).join("BUILD_SCRIPT_RAN"), "oops").unwrap();
}
