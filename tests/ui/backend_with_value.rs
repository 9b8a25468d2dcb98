#[heisen::model(loom = true)]
fn t() {}
fn main() {}
