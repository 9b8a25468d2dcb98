#[heisen::model(max_net_faults = 2)]
fn t() {}
fn main() {}
