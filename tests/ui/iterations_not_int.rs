#[heisen::model(iterations = "many")]
fn t() {}
fn main() {}
