// The inner attribute is applied to the body, not dropped: `deny` makes the unused variable an
// error inside it.
#[heisen::model]
fn t() {
    #![deny(unused_variables)]
    let unused = 1;
}
fn main() {}
