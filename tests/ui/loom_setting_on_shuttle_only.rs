#[heisen::model(shuttle, preemption_bound = 3)]
fn t() {}
fn main() {}
