// Shared by the fuzz targets (crash regressions live next to the code they hit, e.g. the unit
// test `fuzz regression` in checker/src/rules/memory_ordering/mod.rs).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    run_text(text.to_string());
}

/// Runs [`check_text`] on a thread with the stack the checker's workers have
/// (`engine::WORKER_STACK`), as `cargo heisen check` does: libFuzzer's own thread has 8 MB,
/// and with coverage instrumentation syn's recursive descent can exhaust that on legal nesting
/// below `engine::MAX_NESTING` (a SIGSEGV seen once in the `bytes` target), which the checker
/// never runs into.
pub fn run_text(text: String) {
    std::thread::Builder::new()
        .stack_size(cargo_heisen::engine::WORKER_STACK)
        .spawn(move || check_text(text))
        .expect("spawn a checker-sized thread")
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
}

fn check_text(text: String) {
    use cargo_heisen::{config::Config, engine};
    let path = std::path::Path::new("fuzz.rs");
    if let Ok(parsed) = engine::parse_text(text, path, "fuzz.rs", 0) {
        let parsed = vec![parsed];
        let refs: Vec<&engine::Parsed> = parsed.iter().collect();
        let mut failures = Vec::new();
        let raw = engine::run_rules(&refs, &mut failures);
        assert!(failures.is_empty(), "a rule panicked: {failures:?}");
        let report = engine::filter(raw, &parsed, Vec::new(), 1, &Config::default());
        let mut out = Vec::new();
        for format in [
            cargo_heisen::output::Format::Human,
            cargo_heisen::output::Format::Json,
            cargo_heisen::output::Format::Sarif,
            cargo_heisen::output::Format::Github,
            cargo_heisen::output::Format::CargoJson,
        ] {
            cargo_heisen::output::render(format, &report, &cargo_heisen::rules::all_meta(), &mut out, false)
                .unwrap();
        }
    }
}
