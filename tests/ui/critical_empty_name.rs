#[heisen::critical(name = " ")]
fn f() {}
fn main() {}
