use std::sync::atomic::{AtomicI64, Ordering};

pub struct Account {
    balance: AtomicI64,
}

impl Account {
    pub fn withdraw(&self, amount: i64) -> bool {
        let balance = self.balance.load(Ordering::SeqCst);
        if balance < amount {
            return false;
        }
        self.balance.store(balance - amount, Ordering::SeqCst);
        true
    }
}
