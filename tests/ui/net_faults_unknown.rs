#[heisen::model(net_faults = "drop, corrupt")]
fn t() {}
fn main() {}
