#[heisen::model(shuttle, clock_skew = "0ms")]
fn t() {}
fn main() {}
