#[heisen::model]
#[test]
fn t() {}
fn main() {}
