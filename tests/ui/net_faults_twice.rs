#[heisen::model(net_faults = "drop, drop")]
fn t() {}
fn main() {}
