trait Account {
    #[heisen::critical]
    fn withdraw(&self, amount: u64) -> bool;
}
fn main() {}
