#[heisen::model(iteration = 10)]
fn t() {}
fn main() {}
