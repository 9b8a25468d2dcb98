#[heisen::model(timeout = "30 parsecs")]
fn t() {}
fn main() {}
