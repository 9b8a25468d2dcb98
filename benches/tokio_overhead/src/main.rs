//! A tokio body under heisen's runner against the same body hand-wired on shuttle +
//! shuttle-tokio, same schedule counts (1,000 random + 1,000 PCT depth 3); minimum of 5
//! rounds. Prints one line per body with the ratio heisen / hand-wired.

use std::time::{Duration, Instant};

const ITERS: usize = 1_000;

/// Two tasks withdraw twice each from a tokio `Mutex` (one lock scope, a yield inside), the
/// body awaits both: written once against a module with tokio's paths.
macro_rules! withdrawals {
    ($m:path) => {{
        use std::sync::Arc;
        use $m as tk;
        let balance = Arc::new(tk::sync::Mutex::new(200u64));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let balance = balance.clone();
                tk::spawn(async move {
                    for _ in 0..2 {
                        let mut b = balance.lock().await;
                        tk::task::yield_now().await;
                        *b -= 50;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(*balance.lock().await, 0);
    }};
}

/// A producer and a consumer over a bounded mpsc channel of capacity 1, three messages.
macro_rules! channel {
    ($m:path) => {{
        use $m as tk;
        let (tx, mut rx) = tk::sync::mpsc::channel(1);
        let producer = tk::spawn(async move {
            for i in 0..3u32 {
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        producer.await.unwrap();
        assert_eq!(got, vec![0, 1, 2]);
    }};
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn compare(name: &str, native: fn(), facade: fn()) {
    use heisen::runner::{check, Config};
    let (mut n, mut h) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        n = n.min(time(|| {
            shuttle::check_random(native, ITERS);
            shuttle::check_pct(native, ITERS, 3);
        }));
        h = h.min(time(|| {
            let cfg = Config::new("bench").shuttle_only().iterations(ITERS);
            check(&cfg, facade).unwrap();
        }));
    }
    println!(
        "{name:<12} shuttle ({ITERS} random + {ITERS} PCT): shuttle-tokio {n:>10.2?}, heisen::tokio {h:>10.2?}, ratio {:.2}",
        h.as_secs_f64() / n.as_secs_f64()
    );
}

fn main() {
    compare(
        "withdrawals",
        || {
            shuttle_tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async { withdrawals!(shuttle_tokio) })
        },
        // What `#[heisen::model] async fn` expands to.
        || heisen::__private::block_on_body(async { withdrawals!(heisen::tokio) }),
    );
    compare(
        "mpsc",
        || {
            shuttle_tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async { channel!(shuttle_tokio) })
        },
        || heisen::__private::block_on_body(async { channel!(heisen::tokio) }),
    );
}
