//! `#[heisen::model]` rejects bad arguments with a spanned `compile_error!`.
//! (Normal build only: the macro does not depend on the build, and this saves a model build
//! of the trybuild crates.)
#![cfg(not(feature = "model"))]
#[test]
fn bad_model_arguments_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
