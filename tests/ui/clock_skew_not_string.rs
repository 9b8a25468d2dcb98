#[heisen::model(clock_skew = 50)]
fn t() {}
fn main() {}
