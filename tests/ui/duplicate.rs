#[heisen::model(seed = 1, seed = 2)]
fn t() {}
fn main() {}
