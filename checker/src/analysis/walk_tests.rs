//! Unit tests of the walk: each renders the facts of a small function with [`render`] and
//! compares them with the expected text (`UPDATE_EXPECT=1 cargo test -p cargo-heisen --lib
//! walk` rewrites the expectations; review the diff).

use super::super::*;
use expect_test::{expect, Expect};
use std::fmt::Write;

fn set(d: &Deps) -> String {
    let ids: Vec<String> = d.iter().map(|i| format!("e{i}")).collect();
    format!("{{{}}}", ids.join(","))
}

/// A compact rendering of a function's facts: one line per event (id, kind, name, receiver,
/// argument texts, then the non-empty dependency sets, loops and flags), then loops, bindings,
/// cases, exits, comparisons, dereferences and the return deps. Regions are left out.
pub(crate) fn render(f: &FnFacts) -> String {
    let mut out = format!("fn {}\n", f.name);
    for e in &f.events {
        let kind = match &e.kind {
            EventKind::MethodCall => "method",
            EventKind::Call => "call",
            EventKind::Macro => "macro",
            EventKind::Assign { .. } => "assign",
        };
        let _ = write!(out, "  e{} {kind} {}", e.id, e.name);
        if let Some(r) = &e.receiver {
            let _ = write!(out, " recv={}", r.text);
        }
        let args: Vec<&str> = e.args.iter().map(|a| a.text.as_str()).collect();
        if !args.is_empty() {
            let _ = write!(out, " ({})", args.join(", "));
        }
        for (label, d) in [
            ("recv_deps", &e.receiver_deps),
            ("data", &e.data_deps),
            ("ctrl", &e.control_deps),
        ] {
            if !d.is_empty() {
                let _ = write!(out, " {label}={}", set(d));
            }
        }
        if !e.loops.is_empty() {
            let _ = write!(out, " loops={:?}", e.loops);
        }
        if e.closure_depth > 0 {
            let _ = write!(out, " closure={}", e.closure_depth);
        }
        if !e.value_used {
            out.push_str(" unused");
        }
        if e.awaited {
            out.push_str(" awaited");
        }
        out.push('\n');
    }
    for (i, l) in f.loops.iter().enumerate() {
        let _ = writeln!(
            out,
            "  loop{i} {:?} header={} exits={} exit_deps={}",
            l.kind,
            set(&l.header_deps),
            l.exits,
            set(&l.exit_deps)
        );
    }
    for b in &f.bindings {
        let _ = write!(out, "  let {} deps={}", b.name, set(&b.deps));
        if let Some(i) = b.init {
            let _ = write!(out, " init=e{i}");
        }
        out.push('\n');
    }
    for c in &f.cases {
        let neg = if c.negated { "!" } else { "" };
        let _ = writeln!(
            out,
            "  case {neg}{} scrutinee={}",
            c.pattern,
            set(&c.scrutinee)
        );
    }
    for x in &f.exits {
        let kind = if x.is_return { "return" } else { "break" };
        let _ = writeln!(
            out,
            "  exit {kind} ctrl={} loops={:?}",
            set(&x.control_deps),
            x.loops
        );
    }
    for x in &f.continues {
        let label = x
            .label
            .as_deref()
            .map(|l| format!(" '{l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  continue{label} ctrl={} loops={:?}",
            set(&x.control_deps),
            x.loops
        );
    }
    for c in &f.comparisons {
        let _ = writeln!(
            out,
            "  cmp {} {} {} after={}",
            c.lhs.text, c.op, c.rhs.text, c.after
        );
    }
    for d in &f.derefs {
        let w = if d.is_write { " write" } else { "" };
        let _ = writeln!(out, "  deref deps={} after={}{w}", set(&d.deps), d.after);
    }
    if !f.returns.is_empty() {
        let _ = writeln!(out, "  returns={}", set(&f.returns));
    }
    out
}

#[track_caller]
fn check(src: &str, expect: Expect) {
    let file = syn::parse_file(src).expect("test source parses");
    let facts = analyze_file(&file);
    let text: String = facts.functions.iter().map(render).collect();
    expect.assert_eq(&text);
}

#[test]
fn straight_line_data_deps() {
    check(
        r#"fn f(&self) { let v = self.balance.load(Relaxed); let n = v + 1; self.balance.store(n, Relaxed); }"#,
        expect![[r#"
            fn f
              e0 method load recv=self.balance (Relaxed)
              e1 method store recv=self.balance (n, Relaxed) data={e0} unused
              let v deps={e0} init=e0
              let n deps={e0}
        "#]],
    );
}

#[test]
fn method_chain_receiver_deps() {
    check(
        r#"fn f(m: &M) { let g = m.lock().unwrap(); g.push(1); }"#,
        expect![[r#"
            fn f
              e0 method lock recv=m
              e1 method unwrap recv_deps={e0}
              e2 method push recv=g (1) recv_deps={e0,e1} unused
              let g deps={e0,e1} init=e1
        "#]],
    );
}

#[test]
fn alias_by_reference_and_clone() {
    check(
        r#"fn f(&self) { let b = &self.balance; b.load(Acquire); let c = Arc::clone(&self.count); c.fetch_add(1, SeqCst); }"#,
        expect![[r#"
            fn f
              e0 method load recv=self.balance (Acquire) unused
              e1 call Arc::clone (&self.count)
              e2 method fetch_add recv=self.count (1, SeqCst) recv_deps={e1} unused
              let b deps={}
              let c deps={e1} init=e1
        "#]],
    );
}

#[test]
fn alias_through_unsafe_block_and_unchecked_index() {
    check(
        r#"fn f(&mut self, t: &Table) { let b = unsafe { t.buckets.get_unchecked(self.i) }; b.load(Relaxed); let p = unsafe { &*t.head }; p.load(Acquire); }"#,
        expect![[r#"
            fn f
              e0 method get_unchecked recv=t.buckets (self.i)
              e1 method load recv=t.buckets[] (Relaxed) recv_deps={e0} unused
              e2 method load recv=t.head (Acquire) unused
              let b deps={e0}
              let p deps={}
              deref deps={} after=2
        "#]],
    );
}

#[test]
fn join_after_if_keeps_both_values() {
    check(
        r#"fn f() { let mut x = a(); if c() { x = b(); } use_it(x); }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call c
              e2 call b ctrl={e1}
              e3 assign = recv=x (b()) recv_deps={e0} data={e2} ctrl={e1}
              e4 call use_it (x) data={e0,e2} unused
              let x deps={e0} init=e0
        "#]],
    );
}

#[test]
fn join_after_if_else_drops_overwritten_value() {
    check(
        r#"fn f() { let mut x = a(); if c() { x = b(); } else { x = d(); } use_it(x); }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call c
              e2 call b ctrl={e1}
              e3 assign = recv=x (b()) recv_deps={e0} data={e2} ctrl={e1}
              e4 call d ctrl={e1}
              e5 assign = recv=x (d()) recv_deps={e0} data={e4} ctrl={e1}
              e6 call use_it (x) data={e2,e4} unused
              let x deps={e0} init=e0
        "#]],
    );
}

#[test]
fn join_after_match() {
    check(
        r#"fn f(r: R) { let mut x = 0; match r.get() { Some(v) => x = g(v), None => {} } use_it(x); }"#,
        expect![[r#"
            fn f
              e0 method get recv=r
              e1 call g (v) data={e0} ctrl={e0}
              e2 assign = recv=x (g(v)) data={e0,e1} ctrl={e0}
              e3 call use_it (x) data={e0,e1} unused
              let x deps={}
              let v deps={e0} init=e0
              let None deps={e0} init=e0
              case Some scrutinee={e0}
              case None scrutinee={e0}
        "#]],
    );
}

#[test]
fn early_exit_guards_the_rest_of_the_block() {
    check(
        r#"fn f(&self, amount: u64) { let v = self.balance.load(Relaxed); if v < amount { return; } self.balance.store(v - amount, Relaxed); }"#,
        expect![[r#"
            fn f
              e0 method load recv=self.balance (Relaxed)
              e1 method store recv=self.balance (v - amount, Relaxed) data={e0} ctrl={e0} unused
              let v deps={e0} init=e0
              exit return ctrl={e0} loops=[]
              cmp v < amount after=1
        "#]],
    );
}

#[test]
fn ensure_is_an_early_exit_for_the_rest_of_the_block() {
    // `ensure!(cond, err)` is `if !cond { return Err(err) }`: the exit runs under the
    // condition, and so does everything after it in the block, whatever path names the macro.
    check(
        r#"async fn f(db: &Db, id: i64, amount: i64) -> Result<()> { let balance = db.balance(id).await?; anyhow::ensure!(balance >= amount, "insufficient"); db.set_balance(id, balance - amount).await?; Ok(()) }"#,
        expect![[r#"
            fn f
              e0 method balance recv=db (id) awaited
              e1 macro anyhow::ensure (balance>= amount, "insufficient") data={e0} unused
              e2 method set_balance recv=db (id, balance - amount) data={e0} ctrl={e0} awaited
              e3 call Ok (()) ctrl={e0}
              let balance deps={e0} init=e0
              exit return ctrl={e0} loops=[]
              cmp balance >= amount after=1
              returns={e3}
        "#]],
    );
}

#[test]
fn ensure_guards_only_its_own_block() {
    // Inside a block the guard ends with the block; a value-less `ensure!` has nothing to
    // guard with and is no exit; any other macro (`assert_ne!`-like, `debug_assert!`) is none.
    check(
        r#"fn f(s: &S) { { let v = s.get(); ensure!(v > 0, Error::Empty); s.put(v); } s.after(); ensure!(); debug_assert!(s.ok()); s.last(); }"#,
        expect![[r#"
            fn f
              e0 method get recv=s
              e1 macro ensure (v>0, Error::Empty) data={e0} unused
              e2 method put recv=s (v) data={e0} ctrl={e0} unused
              e3 method after recv=s unused
              e4 macro ensure unused
              e5 method ok recv=s
              e6 macro debug_assert (s.ok()) data={e5} unused
              e7 method last recv=s unused
              let v deps={e0} init=e0
              exit return ctrl={e0} loops=[]
              cmp v > 0 after=1
        "#]],
    );
}

#[test]
fn if_without_exit_guards_only_its_branch() {
    check(
        r#"fn f() { if ready() { work(); } after(); }"#,
        expect![[r#"
            fn f
              e0 call ready
              e1 call work ctrl={e0} unused
              e2 call after unused
        "#]],
    );
}

#[test]
fn let_else_guards_the_rest() {
    check(
        r#"fn f(m: &Map) { let Some(v) = m.get(&k) else { return }; m.insert(k, v + 1); }"#,
        expect![[r#"
            fn f
              e0 method get recv=m (&k)
              e1 method insert recv=m (k, v + 1) data={e0} ctrl={e0} unused
              let v deps={e0} init=e0
              exit return ctrl={} loops=[]
        "#]],
    );
}

#[test]
fn if_let_cases_and_binding_init() {
    check(
        r#"fn f(r: &R) { if let Ok(v) = r.fetch() { ok(v); } else { fail(); } }"#,
        expect![[r#"
            fn f
              e0 method fetch recv=r
              e1 call ok (v) data={e0} ctrl={e0} unused
              e2 call fail ctrl={e0} unused
              let v deps={e0} init=e0
              case Ok scrutinee={e0}
              case !Ok scrutinee={e0}
              returns={e0}
        "#]],
    );
}

#[test]
fn match_with_diverging_arm_guards_the_rest() {
    check(
        r#"fn f() { let e = match op() { Ok(v) => return v, Err(e) => e }; sleep(d); }"#,
        expect![[r#"
            fn f
              e0 call op
              e1 call sleep (d) ctrl={e0} unused
              let v deps={e0} init=e0
              let e deps={e0} init=e0
              let e deps={e0} init=e0
              case Ok scrutinee={e0}
              case Err scrutinee={e0}
              case Err scrutinee={e0}
              exit return ctrl={e0} loops=[]
              returns={e0}
        "#]],
    );
}

#[test]
fn match_guard_joins_the_arm_condition() {
    check(
        r#"fn f() { match a() { x if b(x) => c(), _ => d() } }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call b (x) data={e0}
              e2 call c ctrl={e0,e1}
              e3 call d ctrl={e0}
              let x deps={e0} init=e0
              case _ scrutinee={e0}
              case _ scrutinee={e0}
              returns={e0,e2,e3}
        "#]],
    );
}

#[test]
fn closure_depth_and_parameters_carry_nothing() {
    check(
        r#"fn f(v: &V) { let k = key(); v.iter().map(|e| e.ts + k).count(); }"#,
        expect![[r#"
            fn f
              e0 call key
              e1 method iter recv=v
              e2 method map (| e | e.ts + k) recv_deps={e1} data={e0}
              e3 method count recv_deps={e0,e1,e2} unused
              let k deps={e0} init=e0
              let e deps={}
        "#]],
    );
}

#[test]
fn async_block_and_await() {
    check(
        r#"async fn f(c: &C) { let r = c.get().await; spawn(async move { c.put(r).await; }); }"#,
        expect![[r#"
            fn f
              e0 method get recv=c awaited
              e1 method put recv=c (r) data={e0} closure=1 unused awaited
              e2 call spawn (async move { c.put(r).await ; }) unused
              let r deps={e0} init=e0
        "#]],
    );
}

#[test]
fn loop_with_conditional_break() {
    check(
        r#"fn f(flag: &AtomicBool) { loop { if flag.load(Acquire) { break; } spin(); } }"#,
        expect![[r#"
            fn f
              e0 method load recv=flag (Acquire) loops=[0]
              e1 call spin ctrl={e0} loops=[0] unused
              loop0 Loop header={} exits=1 exit_deps={e0}
              exit break ctrl={e0} loops=[0]
        "#]],
    );
}

#[test]
fn continues_are_recorded_with_their_guards_and_labels() {
    check(
        r#"fn f(p: &P) { 'outer: loop { match p.open() { Ok(Some(c)) => return, Ok(None) => continue, Err(e) => { if e.transient() { continue 'outer; } return; } } } }"#,
        expect![[r#"
            fn f
              e0 method open recv=p loops=[0]
              e1 method transient recv=e recv_deps={e0} ctrl={e0} loops=[0]
              loop0 Loop header={} exits=2 exit_deps={e0,e1}
              let c deps={e0} init=e0
              let None deps={e0} init=e0
              let e deps={e0} init=e0
              case Ok(Some) scrutinee={e0}
              case Ok(None) scrutinee={e0}
              case Err scrutinee={e0}
              exit return ctrl={e0} loops=[0]
              exit return ctrl={e0,e1} loops=[0]
              continue ctrl={e0} loops=[0]
              continue 'outer ctrl={e0,e1} loops=[0]
              returns={e0}
        "#]],
    );
}

#[test]
fn while_condition_guards_the_body() {
    check(
        r#"fn f(q: &Q) { while let Some(j) = q.pop() { run(j); } }"#,
        expect![[r#"
            fn f
              e0 method pop recv=q
              e1 call run (j) data={e0} ctrl={e0} loops=[0] unused
              loop0 While header={e0} exits=0 exit_deps={}
              let j deps={e0} init=e0
              case Some scrutinee={e0}
        "#]],
    );
}

#[test]
fn for_loop_binds_the_iterator_and_joins() {
    check(
        r#"fn f() { let mut last = 0; for attempt in 0..5 { last = try_it(attempt); } report(last); }"#,
        expect![[r#"
            fn f
              e0 call try_it (attempt) loops=[0]
              e1 assign = recv=last (try_it(attempt)) data={e0} loops=[0]
              e2 call report (last) data={e0} unused
              loop0 For header={} exits=0 exit_deps={}
              let last deps={}
              let attempt deps={}
        "#]],
    );
}

#[test]
fn closures_do_not_inherit_loops() {
    check(
        r#"fn f() { for x in xs() { spawn(move || work(x)); } }"#,
        expect![[r#"
            fn f
              e0 call xs
              e1 call work (x) data={e0} closure=1
              e2 call spawn (move | | work(x)) data={e0,e1} loops=[0] unused
              loop0 For header={e0} exits=0 exit_deps={}
              let x deps={e0}
        "#]],
    );
}

#[test]
fn compound_assignment_adds_to_a_local() {
    check(
        r#"fn f() { let mut t = a(); t += b(); t = c(); use_it(t); }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call b
              e2 assign += recv=t (b()) recv_deps={e0} data={e1}
              e3 call c
              e4 assign = recv=t (c()) recv_deps={e0,e1} data={e3}
              e5 call use_it (t) data={e3} unused
              let t deps={e0} init=e0
        "#]],
    );
}

#[test]
fn shadowing_replaces_the_binding() {
    check(
        r#"fn f() { let x = a(); let x = b(); use_it(x); }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call b
              e2 call use_it (x) data={e1} unused
              let x deps={e0} init=e0
              let x deps={e1} init=e1
        "#]],
    );
}

#[test]
fn inner_scope_binding_ends_with_its_block() {
    check(
        r#"fn f() { let x = a(); { let x = b(); inner(x); } outer(x); }"#,
        expect![[r#"
            fn f
              e0 call a
              e1 call b
              e2 call inner (x) data={e1} unused
              e3 call outer (x) data={e0} unused
              let x deps={e0} init=e0
              let x deps={e1} init=e1
        "#]],
    );
}

#[test]
fn comparisons_and_derefs() {
    check(
        r#"fn f(p: &AtomicPtr<T>) { let q = p.load(Acquire); if now() > deadline() { *q = v(); } let _ = *q; }"#,
        expect![[r#"
            fn f
              e0 method load recv=p (Acquire)
              e1 call now
              e2 call deadline
              e3 call v ctrl={e1,e2}
              e4 assign = recv=q (v()) recv_deps={e0} data={e3} ctrl={e1,e2}
              let q deps={e0} init=e0
              cmp now() > deadline() after=3
              deref deps={e0} after=4 write
              deref deps={e0,e3} after=5
        "#]],
    );
}

#[test]
fn macro_arguments_and_discarded_values() {
    check(
        r#"fn f(c: &C) { println!("{}", c.get()); c.touch(); tx.send(x).unwrap() }"#,
        expect![[r#"
            fn f
              e0 method get recv=c
              e1 macro println ("{}", c.get()) data={e0} unused
              e2 method touch recv=c unused
              e3 method send recv=tx (x)
              e4 method unwrap recv_deps={e3}
              returns={e3,e4}
        "#]],
    );
}

#[test]
fn returns_collect_tail_and_return_values() {
    check(
        r#"fn f(c: &C) -> u64 { if c.empty() { return zero(); } c.total() }"#,
        expect![[r#"
            fn f
              e0 method empty recv=c
              e1 call zero ctrl={e0}
              e2 method total recv=c ctrl={e0}
              exit return ctrl={e0} loops=[]
              returns={e1,e2}
        "#]],
    );
}

#[test]
fn methods_are_named_by_their_impl_type_and_nested_fns_walked() {
    check(
        r#"impl Bank { fn deposit(&self) { fn helper() { inner(); } self.n.fetch_add(1, Relaxed); } }"#,
        expect![[r#"
            fn Bank::deposit
              e0 method fetch_add recv=self.n (1, Relaxed) unused
            fn helper
              e0 call inner unused
        "#]],
    );
}

#[test]
fn iteration_variables_stand_for_an_element() {
    // A loop variable over a place, and the first parameter of an iterator adapter's closure,
    // are one element of it (`self.shards[]`); a range or a computed iterator is not a place.
    check(
        r#"fn f(&self) { for s in self.shards.iter() { s.write(); } self.shards.iter().for_each(|s| { s.read(); }); for s in &self.slots { s.lock(); } self.shards.iter().fold(0, |a, s| a); for i in 0..3 { i.lock(); } }"#,
        expect![[r#"
            fn f
              e0 method iter recv=self.shards
              e1 method write recv=self.shards[] recv_deps={e0} loops=[0] unused
              e2 method iter recv=self.shards
              e3 method read recv=self.shards[] closure=1 unused
              e4 method for_each (| s | { s.read(); }) recv_deps={e2} unused
              e5 method lock recv=self.slots[] loops=[1] unused
              e6 method iter recv=self.shards
              e7 method fold (0, | a , s | a) recv_deps={e6} unused
              e8 method lock recv=i loops=[2] unused
              loop0 For header={e0} exits=0 exit_deps={}
              loop1 For header={} exits=0 exit_deps={}
              loop2 For header={} exits=0 exit_deps={}
              let s deps={e0}
              let s deps={}
              let s deps={}
              let a deps={}
              let s deps={}
              let i deps={}
        "#]],
    );
}

#[test]
fn local_macro_in_expression_position_is_walked_as_its_expansion() {
    // `$m:expr` is spliced; the transcriber's `.lock()` runs on it; `bump!` is walked where
    // it is invoked (between `a` and `b`), in order.
    check(
        r#"
        macro_rules! bump {
            ($m:expr, $by:expr) => {{ let mut g = $m.lock().unwrap(); *g += $by; }};
        }
        fn f(&self) { self.a(); bump!(self.total, 2); self.b(); }
        "#,
        expect![[r#"
            fn f
              e0 method a recv=self unused
              e1 method lock recv=self.total
              e2 method unwrap recv_deps={e1}
              e3 assign += recv=g (2) recv_deps={e1,e2}
              e4 method b recv=self unused
              let g deps={e1,e2} init=e2
              deref deps={e1,e2} after=3 write
        "#]],
    );
}

#[test]
fn local_macro_in_statement_position_binds_in_the_enclosing_block() {
    // Statement position: the expansion's statements (two of them, no braces) run in the
    // enclosing block; repetitions expand once per argument; a nested local macro expands.
    check(
        r#"
        macro_rules! each { ($($x:ident),*) => { $( $x.touch(); )* } }
        macro_rules! both { ($a:ident, $b:ident) => { let n = $a.get(); each!($a, $b); } }
        fn f(x: &X, y: &Y) { both!(x, y); y.set(n); }
        "#,
        expect![[r#"
            fn f
              e0 method get recv=x
              e1 method touch recv=x unused
              e2 method touch recv=y unused
              e3 method set recv=y (n) data={e0} unused
              let n deps={e0} init=e0
        "#]],
    );
}

#[test]
fn unmatched_unknown_and_recursive_macros_stay_macro_events() {
    // No rule matches `one!(a b)`; `vec!` is not local; `down!` recurses without end and
    // stops at the depth limit; nothing panics.
    check(
        r#"
        macro_rules! one { ($x:expr) => { $x.go() } }
        macro_rules! down { ($($t:tt)*) => { down!($($t)* x) } }
        fn f(a: A) { one!(a b); let v = vec![a]; down!(a); one!(a); }
        "#,
        expect![[r#"
            fn f
              e0 macro one (a) unused
              e1 macro vec (a)
              e2 macro down (a) unused
              e3 method go recv=a unused
              let v deps={e1} init=e1
        "#]],
    );
}

#[test]
fn operator_arguments_keep_their_grouping() {
    // `$e:expr` bound to `a + b` stays one operand: `scale((a + b) * c)`, as the compiler
    // groups it, not `a + b * c`; a field chain is spliced as written.
    check(
        r#"
        macro_rules! top { ($e:expr, $c:expr) => { scale($e * $c) } }
        fn f(&self, a: u32, b: u32, c: u32) -> u32 { top!(a + b, c) + top!(self.k, c) }
        "#,
        expect![[r#"
            fn f
              e0 call scale ((a + b)* c)
              e1 call scale (self.k * c)
              returns={e0,e1}
        "#]],
    );
}

#[test]
fn thread_local_with_parameter_is_the_static() {
    // `STATE.with(|s| ..)`: `s` is the static's value (place `STATE`); `with` on anything
    // but a static path (a local, a field) gives its closure parameter no place.
    check(
        r#"fn f(&self, cell: &Cell) {
            STATE.with(|s| s.lock().unwrap().push(1));
            cell.with(|c| c.lock().unwrap().push(2));
            self.slot.with(|p| p.lock());
        }"#,
        expect![[r#"
            fn f
              e0 method lock recv=STATE closure=1
              e1 method unwrap recv_deps={e0} closure=1
              e2 method push (1) recv_deps={e0,e1} closure=1
              e3 method with recv=STATE (| s | s.lock().unwrap().push(1)) data={e0,e1,e2} unused
              e4 method lock recv=c closure=1
              e5 method unwrap recv_deps={e4} closure=1
              e6 method push (2) recv_deps={e4,e5} closure=1
              e7 method with recv=cell (| c | c.lock().unwrap().push(2)) data={e4,e5,e6} unused
              e8 method lock recv=p closure=1
              e9 method with recv=self.slot (| p | p.lock()) data={e8} unused
              let s deps={}
              let c deps={}
              let p deps={}
        "#]],
    );
}
