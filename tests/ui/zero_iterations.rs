#[heisen::model(iterations = 0)]
fn t() {}
fn main() {}
