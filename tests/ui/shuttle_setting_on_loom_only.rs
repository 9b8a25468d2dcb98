#[heisen::model(loom, pct_depth = 2)]
fn t() {}
fn main() {}
