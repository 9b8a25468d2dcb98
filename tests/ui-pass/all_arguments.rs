#[heisen::model(loom, shuttle, preemption_bound = 3, max_branches = 5000, iterations = 10, pct_depth = 2, seed = 7, timeout = "500ms", clock_skew = "50ms")]
fn every_argument() {}

#[heisen::model(shuttle, iterations = 10, timeout = "2m", clock_skew = "500us")]
async fn async_body() {}

fn main() {}

#[heisen::model(loom, clock_skew = "2s")]
fn loom_with_skew() {}

#[heisen::model(clock_skew = "7ns")]
fn nanosecond_skew() {}

#[heisen::model(net_faults = "drop, duplicate, reorder", max_net_faults = 2)]
fn every_net_fault() {}

#[heisen::model(shuttle, net_faults = " reorder ")]
fn one_net_fault_default_max() {}

#[heisen::model(max_early_timers = 0)]
async fn timers_only_when_idle() {}

#[heisen::model(shuttle, max_early_timers = 3)]
fn three_early_timers() {}
