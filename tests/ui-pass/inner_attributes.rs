// Inner attributes at the top of a model test body stay inside the body (#15 item 5).
#[heisen::model]
fn inner_attribute_first() {
    #![allow(unused_variables, clippy::no_effect_underscore_binding)]
    let unused = 1;
}

#[heisen::model(shuttle)]
async fn inner_attribute_in_async_body() {
    #![allow(unused_variables)]
    let unused = 2;
}

#[heisen::model]
#[should_panic = "boom"]
fn should_panic_name_value_form() {
    #![allow(unreachable_code)]
    panic!("boom");
}

fn main() {}
