#[heisen::model(net_faults = "drop", max_net_faults = "2")]
fn t() {}
fn main() {}
