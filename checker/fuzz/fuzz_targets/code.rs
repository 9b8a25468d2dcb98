//! Structured input: the fuzzer's bytes choose snippets from a small grammar of the shapes the
//! rules look at (atomics with orderings, locks, maps, SQL strings, clocks, loops with sleeps,
//! branches, closures, early returns), so most inputs parse and reach deep rule logic.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod cargo_heisen_fuzz_support {
    include!("support.rs");
}

const STMTS: &[&str] = &[
    "let v = self.x.load(Ordering::Relaxed);",
    "self.x.store(v + 1, Ordering::SeqCst);",
    "self.x.store(0, Relaxed);",
    "let g = self.m.lock().unwrap();",
    "drop(g);",
    "*self.m.lock().unwrap() = v;",
    "if v > 3 { return; }",
    "if self.map.contains_key(&k) { self.map.insert(k, v); }",
    "let row = sqlx::query(\"SELECT balance FROM accounts WHERE id = $1\").bind(id).fetch_one(&db);",
    "sqlx::query(\"UPDATE accounts SET balance = $1 WHERE id = $2\").bind(v).bind(id).execute(&db);",
    "let now = SystemTime::now();",
    "if a.written_at > b.written_at { winner = a; }",
    "loop { match call() { Ok(r) => break, Err(_) => std::thread::sleep(d) } }",
    "delay *= 2;",
    "let f = || v * 2;",
    "unsafe { *self.cell.get() = v; }",
    "while !self.ready.load(Relaxed) { spin_loop(); }",
    "let p = self.ptr.load(Relaxed); if !p.is_null() { unsafe { (*p).x }; }",
    "if self.rc.fetch_sub(1, Relaxed) == 1 { drop(unsafe { Box::from_raw(p) }); }",
    "fence(Ordering::Acquire);",
    "let k = format!(\"{}\", now.as_nanos());",
    "client.post(url).send();",
    "match v { 0 => {}, n => { self.x.store(n, SeqCst); } }",
];

fuzz_target!(|data: &[u8]| {
    let mut body = String::new();
    let mut depth = 0usize;
    for &b in data.iter().take(256) {
        match b % 32 {
            n if (n as usize) < STMTS.len() => body.push_str(STMTS[n as usize]),
            29 if depth < 8 => {
                body.push_str("if v != 0 {");
                depth += 1;
            }
            30 if depth < 8 => {
                body.push_str("for i in 0..3 {");
                depth += 1;
            }
            31 if depth > 0 => {
                body.push('}');
                depth -= 1;
            }
            _ => body.push_str("let _ = 1;"),
        }
        body.push('\n');
    }
    body.push_str(&"}".repeat(depth));
    let text = format!("impl S {{ fn f(&self, k: u64, id: u64) {{\n{body}\n}} }}\n");
    cargo_heisen_fuzz_support::run_text(text);
});
