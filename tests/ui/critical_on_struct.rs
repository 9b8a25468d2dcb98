#[heisen::critical]
struct Account {
    balance: u64,
}
fn main() {}
