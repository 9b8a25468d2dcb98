#[heisen::model]
fn t(x: u32) { let _ = x; }
fn main() {}
