#[heisen::model(net_faults = drop)]
fn t() {}
fn main() {}
