#[heisen::model(timeout = 30)]
fn t() {}
fn main() {}
