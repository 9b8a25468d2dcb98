#[heisen::model(clock_skew = "50 parsecs")]
fn t() {}
fn main() {}
