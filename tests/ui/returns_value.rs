#[heisen::model]
fn t() -> u32 { 1 }
fn main() {}
