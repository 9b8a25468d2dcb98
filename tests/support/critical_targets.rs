//! Every kind of item `#[heisen::critical]` accepts, compiled in both builds (included by
//! `critical.rs` in model builds and by `critical_std.rs` in normal builds): the instrumented
//! expansion must compile wherever the original does.
#![allow(dead_code)]

use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::fmt::Display;

pub struct Counter {
    pub n: AtomicU64,
}

impl Counter {
    #[heisen::critical]
    pub fn bump(&self) -> u64 {
        self.n.fetch_add(1, SeqCst) + 1
    }

    /// Early return, `?`, and a borrowed return type with an elided lifetime.
    #[heisen::critical(name = "checked_bump")]
    pub fn checked(&self, limit: u64) -> Result<&AtomicU64, String> {
        if self.n.load(SeqCst) >= limit {
            return Err(format!("limit {limit}"));
        }
        let v: u64 = "1".parse::<u64>().map_err(|e| e.to_string())?;
        self.n.fetch_add(v, SeqCst);
        Ok(&self.n)
    }

    #[heisen::critical]
    pub fn describe(&self) -> impl Display {
        self.n.load(SeqCst)
    }

    #[heisen::critical]
    pub fn generic<T: Into<u64>>(&self, by: T) {
        self.n.fetch_add(by.into(), SeqCst);
    }

    #[heisen::critical]
    pub async fn bump_async(&self) -> u64 {
        self.n.fetch_add(1, SeqCst) + 1
    }

    #[heisen::critical]
    pub fn diverges_sometimes(&self, boom: bool) -> u64 {
        if boom {
            panic!("boom");
        }
        self.n.load(SeqCst)
    }

    /// Drops a tail temporary (a guard) inside the section.
    #[heisen::critical]
    pub fn locked_len(&self, v: &heisen::sync::Mutex<Vec<u8>>) -> usize {
        v.lock().unwrap().len()
    }
}

pub trait Account {
    fn balance(&self) -> u64;

    #[heisen::critical]
    fn withdraw_all(&self) -> u64 {
        self.balance()
    }
}

impl Account for Counter {
    #[heisen::critical]
    fn balance(&self) -> u64 {
        self.n.load(SeqCst)
    }
}

#[heisen::critical]
pub fn free_fn(c: &Counter, r#type: u64) -> u64 {
    c.n.fetch_add(r#type, SeqCst)
}

#[heisen::critical]
pub unsafe fn unsafe_fn(p: *const u64) -> u64 {
    *p
}

pub fn blocks(c: &Counter) -> u64 {
    let a = heisen::critical_section!(read_twice, { c.n.load(SeqCst) + c.n.load(SeqCst) });
    let b = heisen::critical_section!("named by a string", {
        c.n.fetch_add(1, SeqCst);
        1
    });
    a + b
}
