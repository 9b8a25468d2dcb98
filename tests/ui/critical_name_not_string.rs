#[heisen::critical(name = withdraw)]
fn f() {}
fn main() {}
