// Shared by the fuzz targets (and by the regression test in checker/tests/fuzz_regressions.rs).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    run_text(text.to_string());
}

pub fn run_text(text: String) {
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
        ] {
            cargo_heisen::output::render(format, &report, &cargo_heisen::rules::all_meta(), &mut out, false)
                .unwrap();
        }
    }
}
