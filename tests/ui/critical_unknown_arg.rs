#[heisen::critical(loom)]
fn f() {}
fn main() {}
