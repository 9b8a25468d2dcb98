use std::sync::atomic::{AtomicI64, Ordering};

pub struct Account {
    balance: AtomicI64,
}

impl Account {
    pub fn withdraw(&self, amount: i64) -> bool {
        self.balance
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
                (b >= amount).then_some(b - amount)
            })
            .is_ok()
    }
}
