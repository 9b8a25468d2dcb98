#[heisen::model(net_faults = "")]
fn t() {}
fn main() {}
