#[heisen::model(net_faults = "reorder", max_net_faults = 0)]
fn t() {}
fn main() {}
