#[heisen::critical(name = "a", name = "b")]
fn f() {}
fn main() {}
