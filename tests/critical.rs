//! `#[heisen::critical]` / `heisen::critical_section!`: atomicity violations are found without
//! any assertion in the test; the correct fixes (CAS loop, one guard, versioned update with
//! retry, double-checked init under a lock, read-only sections) pass. Model build only.
#![cfg(feature = "model")]

use heisen::cell::UnsafeCell;
use heisen::runner::{check, Config, Failure, Summary};
use heisen::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use heisen::sync::{Arc, Mutex, RwLock};
use heisen::thread;

#[path = "support/critical_targets.rs"]
mod targets;

fn this_file() -> &'static str {
    file!()
}

fn line_of(needle: &str) -> usize {
    let src = std::fs::read_to_string(this_file()).expect("test source readable");
    src.lines()
        .position(|l| l.contains(needle) && !l.contains("line_of("))
        .expect("needle present")
        + 1
}

fn at(needle: &str) -> String {
    format!("{}:{}", this_file(), line_of(needle))
}

fn expect_violation(r: Result<Summary, Box<Failure>>) -> Box<Failure> {
    let f = match r {
        Ok(s) => panic!("expected an atomicity violation, but it passed:\n{s}"),
        Err(f) => f,
    };
    if std::env::var("HEISEN_SHOW").is_ok() {
        eprintln!("{}", f.report);
    }
    assert_eq!(f.kind, "atomicity violation", "{}", f.report);
    f
}

fn expect_pass(r: Result<Summary, Box<Failure>>) -> Summary {
    let s = r.unwrap_or_else(|f| panic!("expected a pass:\n{f}"));
    if std::env::var("HEISEN_SHOW").is_ok() {
        eprintln!("{s}");
    }
    for run in &s.runs {
        assert!(run.critical_sections > 0, "no section checked: {s}");
        assert!(
            run.description.contains("instances checked"),
            "{}",
            run.description
        );
    }
    s
}

/// Two threads run `op` concurrently; the test body has no assertion at all.
fn two_threads<A: Send + Sync + 'static>(acct: A, op: fn(&A)) {
    let acct = Arc::new(acct);
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let a = acct.clone();
            thread::spawn(move || op(&a))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

// ------------------------------------------------------------ load / check / store (buggy)

struct Account {
    balance: AtomicU64,
}

impl Account {
    fn new() -> Self {
        Account {
            balance: AtomicU64::new(100),
        }
    }

    #[heisen::critical]
    fn withdraw(&self, amount: u64) -> bool {
        let b = self.balance.load(SeqCst); // BUGGY-LOAD
        if b < amount {
            return false;
        }
        self.balance.store(b - amount, SeqCst); // BUGGY-STORE
        true
    }

    #[heisen::critical]
    fn withdraw_cas(&self, amount: u64) -> bool {
        let mut cur = self.balance.load(SeqCst);
        loop {
            if cur < amount {
                return false;
            }
            match self
                .balance
                .compare_exchange(cur, cur - amount, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    #[heisen::critical]
    fn withdraw_fetch_update(&self, amount: u64) -> bool {
        self.balance
            .fetch_update(SeqCst, SeqCst, |b| b.checked_sub(amount))
            .is_ok()
    }
}

fn buggy_withdrawals() {
    two_threads(Account::new(), |a| {
        a.withdraw(50);
    });
}

fn assert_withdraw_report(f: &Failure) {
    let r = &f.report;
    let (load, store) = (at("// BUGGY-LOAD"), at("// BUGGY-STORE"));
    // The story: one section read 100, the other wrote 50 in between, before the first wrote.
    let story = r
        .lines()
        .find(|l| l.contains("read balance = 100") && l.contains(", then `withdraw` on T"))
        .unwrap_or_else(|| panic!("no story line in:\n{r}"));
    assert!(story.trim_start().starts_with("`withdraw` on T"), "{story}");
    assert!(
        story.contains(&format!("read balance = 100 at {load}")),
        "{story}"
    );
    assert!(
        story.contains(&format!("wrote balance ← 50 at {store}")),
        "{story}"
    );
    assert!(story.contains(" before T"), "{story}");
    // Both sections, by name and thread, and the cycle edges with rows.
    assert!(r.contains("`withdraw` on T1"), "{r}");
    assert!(r.contains("`withdraw` on T2"), "{r}");
    assert!(r.contains("cycle (A → B"), "{r}");
    assert!(r.contains("section `withdraw` on T1: entered at"), "{r}");
    // The counterexample timeline shows the section boundaries and the accesses.
    assert!(r.contains("⟦ enter critical `withdraw`"), "{r}");
    assert!(r.contains("⟧ exit critical `withdraw`"), "{r}");
    assert!(r.contains("failure: atomicity violation"), "{r}");
    assert!(r.contains("replay"), "{r}");
}

#[test]
fn lost_update_without_assertion_is_an_atomicity_violation_under_shuttle() {
    let f = expect_violation(check(
        &Config::new("t::crit_withdraw")
            .shuttle_only()
            .iterations(200),
        buggy_withdrawals,
    ));
    assert_eq!(f.backend, "shuttle");
    assert_withdraw_report(&f);
    // The shuttle replay reproduces it.
    let enc = f
        .replay
        .split("HEISEN_REPLAY='shuttle:")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap()
        .to_string();
    let again = expect_violation(check(
        &Config::new("t::crit_withdraw")
            .shuttle_only()
            .replay(format!("shuttle:{enc}")),
        buggy_withdrawals,
    ));
    assert_withdraw_report(&again);
}

#[test]
fn lost_update_without_assertion_is_an_atomicity_violation_under_loom() {
    let f = expect_violation(check(
        &Config::new("t::crit_withdraw").loom_only(),
        buggy_withdrawals,
    ));
    assert_eq!(f.backend, "loom");
    assert_withdraw_report(&f);
}

#[test]
fn cas_loop_withdrawal_passes_both_backends() {
    expect_pass(check(&Config::new("t::crit_cas").iterations(100), || {
        two_threads(Account::new(), |a| {
            a.withdraw_cas(50);
        })
    }));
}

#[test]
fn fetch_update_withdrawal_passes_both_backends() {
    expect_pass(check(
        &Config::new("t::crit_fetch_update").iterations(100),
        || {
            two_threads(Account::new(), |a| {
                a.withdraw_fetch_update(60);
            })
        },
    ));
}

// ------------------------------------------------------------ locks

struct Locked {
    balance: Mutex<u64>,
}

impl Locked {
    fn new() -> Self {
        Locked {
            balance: Mutex::new(100),
        }
    }

    /// The fix: one guard across the check and the write.
    #[heisen::critical]
    fn withdraw_one_guard(&self, amount: u64) -> bool {
        let mut b = self.balance.lock().unwrap();
        if *b < amount {
            return false;
        }
        *b -= amount;
        true
    }

    /// The bug: lock, read, unlock, lock, write.
    #[heisen::critical]
    fn withdraw_split_lock(&self, amount: u64) -> bool {
        let b = *self.balance.lock().unwrap(); // SPLIT-READ
        if b < amount {
            return false;
        }
        *self.balance.lock().unwrap() = b - amount; // SPLIT-WRITE
        true
    }
}

#[test]
fn single_guard_withdrawal_passes_both_backends() {
    expect_pass(check(&Config::new("t::crit_guard").iterations(100), || {
        two_threads(Locked::new(), |a| {
            a.withdraw_one_guard(50);
        })
    }));
}

#[test]
fn split_lock_update_is_reported_under_both_backends() {
    for cfg in [
        Config::new("t::crit_split").shuttle_only().iterations(200),
        Config::new("t::crit_split").loom_only(),
    ] {
        let f = expect_violation(check(&cfg, || {
            two_threads(Locked::new(), |a| {
                a.withdraw_split_lock(50);
            })
        }));
        let r = &f.report;
        assert!(
            r.contains(&format!(
                "read balance (through its guard) at {}",
                at("// SPLIT-READ")
            )),
            "{r}"
        );
        assert!(
            r.contains(&format!(
                "wrote balance (through its guard) at {}",
                at("// SPLIT-WRITE")
            )),
            "{r}"
        );
        assert!(r.contains("read balance (guarded data)"), "{r}");
    }
}

// ------------------------------------------------------------ versioned update with retry

/// A row with a version, as in `UPDATE .. SET balance = ?, version = version + 1
/// WHERE id = ? AND version = ?` (optimistic concurrency control).
struct Row {
    version: u64,
    balance: u64,
}

struct Table {
    row: Mutex<Row>,
}

impl Table {
    fn select(&self) -> (u64, u64) {
        let r = self.row.lock().unwrap();
        (r.version, r.balance)
    }
    /// Applies the write only if nobody updated the row since `version` was read.
    fn update_if(&self, version: u64, balance: u64) -> bool {
        let mut r = self.row.lock().unwrap();
        if r.version != version {
            return false;
        }
        r.balance = balance;
        r.version += 1;
        true
    }

    #[heisen::critical]
    fn withdraw_versioned(&self, amount: u64) -> bool {
        loop {
            let (version, balance) = self.select();
            if balance < amount {
                return false;
            }
            if self.update_if(version, balance - amount) {
                return true;
            }
            // conflict: someone else updated the row; retry with fresh values
        }
    }
}

#[test]
fn versioned_update_with_retry_passes_both_backends() {
    expect_pass(check(
        &Config::new("t::crit_versioned").iterations(100),
        || {
            two_threads(
                Table {
                    row: Mutex::new(Row {
                        version: 0,
                        balance: 100,
                    }),
                },
                |t| {
                    t.withdraw_versioned(50);
                },
            )
        },
    ));
}

// ------------------------------------------------------------ double-checked init under a lock

struct Lazy {
    ready: AtomicBool,
    lock: Mutex<()>,
    value: UnsafeCell<u64>,
}
unsafe impl Sync for Lazy {}

impl Lazy {
    #[heisen::critical]
    fn get(&self) -> u64 {
        if !self.ready.load(SeqCst) {
            let _g = self.lock.lock().unwrap();
            if !self.ready.load(SeqCst) {
                self.value.with_mut(|p| unsafe { *p = 42 });
                self.ready.store(true, SeqCst);
            }
        }
        self.value.with(|p| unsafe { *p })
    }
}

#[test]
fn double_checked_init_under_a_lock_passes_both_backends() {
    expect_pass(check(&Config::new("t::crit_dcl").iterations(100), || {
        two_threads(
            Lazy {
                ready: AtomicBool::new(false),
                lock: Mutex::new(()),
                value: UnsafeCell::new(0),
            },
            |l| {
                l.get();
            },
        )
    }));
}

// ------------------------------------------------------------ read-only sections

struct Pair {
    a: AtomicU64,
    b: AtomicU64,
    m: Mutex<u64>,
    rw: RwLock<u64>,
}

#[test]
fn read_only_sections_interleave_freely() {
    expect_pass(check(
        &Config::new("t::crit_readonly").iterations(100),
        || {
            two_threads(
                Pair {
                    a: AtomicU64::new(1),
                    b: AtomicU64::new(2),
                    m: Mutex::new(3),
                    rw: RwLock::new(4),
                },
                |p| {
                    heisen::critical_section!(audit, {
                        let first = p.a.load(SeqCst) + *p.m.lock().unwrap();
                        let second = p.b.load(SeqCst) + *p.rw.read().unwrap();
                        // two separate read-only holds of the same lock
                        first + second + *p.m.lock().unwrap()
                    });
                },
            )
        },
    ));
}

// ------------------------------------------------------------ nested sections

struct Bank {
    a: AtomicU64,
    b: AtomicU64,
}

#[heisen::critical]
fn debit(x: &AtomicU64, n: u64) {
    x.fetch_sub(n, SeqCst);
}

#[heisen::critical]
fn credit(x: &AtomicU64, n: u64) {
    x.fetch_add(n, SeqCst);
}

/// Outermost rule: `transfer` is the unit; the nested `debit` / `credit` merge into it.
#[heisen::critical]
fn transfer(bank: &Bank) {
    debit(&bank.a, 10); // NESTED-DEBIT
    credit(&bank.b, 10);
}

/// The same two steps, with no outer section: each step is its own unit.
fn transfer_in_two_steps(bank: &Bank) {
    debit(&bank.a, 10);
    credit(&bank.b, 10);
}

fn transfer_and_audit(transfer: fn(&Bank)) {
    let bank = Arc::new(Bank {
        a: AtomicU64::new(100),
        b: AtomicU64::new(0),
    });
    let b2 = bank.clone();
    let h = thread::spawn(move || transfer(&b2));
    heisen::critical_section!("audit", {
        let _total = bank.a.load(SeqCst) + bank.b.load(SeqCst); // AUDIT
    });
    h.join().unwrap();
}

#[test]
fn nested_sections_merge_into_the_outermost() {
    for cfg in [
        Config::new("t::crit_nested").shuttle_only().iterations(200),
        Config::new("t::crit_nested").loom_only(),
    ] {
        let f = expect_violation(check(&cfg, || transfer_and_audit(transfer)));
        let r = &f.report;
        // The unit is `transfer`, not the inner `debit` / `credit`.
        assert!(r.contains("`transfer` on T1"), "{r}");
        assert!(r.contains("`audit` on T0"), "{r}");
        assert!(!r.contains("`debit` on T1"), "{r}");
        assert!(
            r.contains("(nested: merged into the enclosing section)"),
            "{r}"
        );
        assert!(
            r.contains(&at("// NESTED-DEBIT")) || r.contains(&at("// AUDIT")),
            "{r}"
        );
    }
    // Without the outer section, each step is its own unit, and the audit (a unit too) that
    // falls between them sees money in flight: that violation names the inner sections.
    let f = expect_violation(check(
        &Config::new("t::crit_nested_steps")
            .shuttle_only()
            .iterations(200),
        || transfer_and_audit(transfer_in_two_steps),
    ));
    assert!(f.report.contains("`debit` on T1"), "{}", f.report);
    // Nested entries are not instances of their own: a transfer (with its nested debit and
    // credit) racing a lone debit is two instances per execution, and serializable.
    let s = expect_pass(check(
        &Config::new("t::crit_nested_ok").iterations(100),
        || {
            let bank = Arc::new(Bank {
                a: AtomicU64::new(100),
                b: AtomicU64::new(0),
            });
            let b2 = bank.clone();
            let h = thread::spawn(move || transfer(&b2));
            debit(&bank.a, 5);
            h.join().unwrap();
        },
    ));
    for run in &s.runs {
        assert_eq!(run.critical_sections, 2 * run.executions, "{s}");
    }
}

// ------------------------------------------------------------ the attribute on a model test

#[heisen::model(iterations = 50)]
#[should_panic(expected = "atomicity violation")]
fn model_attribute_fails_a_test_with_no_assertion() {
    buggy_withdrawals()
}

// ------------------------------------------------------------ every target kind

#[test]
fn every_target_kind_is_instrumented_and_counted() {
    use targets::{Account, Counter};
    let s = check(&Config::new("t::targets").loom_only(), || {
        let c = Counter {
            n: AtomicU64::new(0),
        };
        c.bump(); // 1 instance each below
        let _ = c.checked(10);
        let _ = c.describe().to_string();
        c.generic(3u8);
        heisen::future::block_on(c.bump_async());
        c.diverges_sometimes(false);
        c.withdraw_all(); // + nested `balance`: still one instance
        targets::free_fn(&c, 1);
        unsafe { targets::unsafe_fn(&7) };
        targets::blocks(&c); // 2 instances
        let v = Mutex::new(vec![1u8]);
        c.locked_len(&v);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        s.runs[0].critical_sections,
        12 * s.runs[0].executions,
        "{s}"
    );
}

// ------------------------------------------------------------ with an assertion as well

#[test]
fn a_failed_assertion_also_names_the_atomicity_violation() {
    let f = check(
        &Config::new("t::crit_assert").shuttle_only().iterations(200),
        || {
            let acct = Arc::new(Account::new());
            let a2 = acct.clone();
            let h = thread::spawn(move || a2.withdraw(50));
            acct.withdraw(50);
            h.join().unwrap();
            assert_eq!(acct.balance.load(SeqCst), 0, "balance == 0");
        },
    )
    .expect_err("lost update");
    let r = &f.report;
    assert_eq!(f.kind, "assertion failed", "{r}");
    assert!(
        r.contains("also an atomicity violation in this execution:"),
        "{r}"
    );
    assert!(
        r.contains("`withdraw` on T0") && r.contains("`withdraw` on T1"),
        "{r}"
    );
}

// ------------------------------------------------------------ the summary counts sections

#[heisen::model(iterations = 20)]
fn model_attribute_counts_sections() {
    two_threads(Account::new(), |a| {
        a.withdraw_cas(50);
    })
}

#[test]
fn summary_file_counts_critical_sections_per_backend() {
    if std::env::var("HEISEN_BACKEND").is_ok() {
        return;
    }
    let path = std::env::temp_dir().join(format!("heisen-crit-{}.tsv", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "model_attribute_counts_sections"])
        .env("HEISEN_SUMMARY_FILE", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let tsv = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 2, "{tsv}");
    for (line, backend) in lines.iter().zip(["shuttle", "loom"]) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 8, "{line}"); // .., description, warning
        assert_eq!((cols[1], cols[4]), (backend, "pass"), "{line}");
        // two instances per execution
        let execs: u64 = cols[2].parse().unwrap();
        let want = format!("critical sections: {} instances checked", 2 * execs);
        let got = cols[6].replace(',', "");
        assert!(got.contains(&want), "{line}");
    }
}
