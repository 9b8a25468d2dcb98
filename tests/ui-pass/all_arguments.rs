#[heisen::model(loom, shuttle, preemption_bound = 3, max_branches = 5000, iterations = 10, pct_depth = 2, seed = 7, timeout = "500ms")]
fn every_argument() {}

#[heisen::model(shuttle, iterations = 10, timeout = "2m")]
async fn async_body() {}

fn main() {}
