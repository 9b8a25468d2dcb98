#[heisen::model]
#[should_panic(message = "boom")]
fn t() {}
fn main() {}
