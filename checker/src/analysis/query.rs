//! Queries over one function's facts that several rules and the index ask: who owns the
//! function, which binding a name refers to at a point. Computed from the recorded facts (the
//! walk stores nothing extra for them).

use super::{Arg, Binding, Event, FnFacts, Place};
use crate::finding::Region;

/// The last `::` segment of a path (`std::sync::atomic::fence` → `fence`, `now` → `now`).
pub fn last_segment(path: &str) -> &str {
    match last_separator(path) {
        Some(i) => &path[i + 2..],
        None => path,
    }
}

/// The byte offset of the last `::` in `path`. A byte scan: the rules ask for path segments
/// millions of times per corpus, and `str::rsplit("::")` builds a substring searcher each
/// time.
pub fn last_separator(path: &str) -> Option<usize> {
    let b = path.as_bytes();
    (1..b.len())
        .rev()
        .find(|&i| b[i] == b':' && b[i - 1] == b':')
        .map(|i| i - 1)
}

impl Place {
    /// The last field or path segment of the place (`self.inner.ready` → `ready`,
    /// `crate::READY` → `READY`, `self.slots[]` → `slots`).
    pub fn last_name(&self) -> &str {
        self.text
            .trim_end_matches("[]")
            .rsplit(['.', ':'])
            .next()
            .unwrap_or(&self.text)
    }
}

impl Arg {
    /// The argument as a map key: its place when it is one, else its text without a leading
    /// `&` and trailing `.clone()`/`.to_string()`/`.to_owned()`/`.into()` (`&k`, `k.clone()`
    /// and `k` are one key).
    pub fn key_text(&self) -> String {
        if let Some(p) = &self.place {
            return p.text.clone();
        }
        let mut t = self.text.trim_start_matches('&').to_string();
        for suffix in [".clone()", ".to_string()", ".to_owned()", ".into()"] {
            if let Some(s) = t.strip_suffix(suffix) {
                t = s.to_string();
            }
        }
        t
    }
}

impl Event {
    /// Whether two calls name the same key: their first arguments' [`Arg::key_text`] agree.
    pub fn same_key(&self, other: &Event) -> bool {
        match (self.args.first(), other.args.first()) {
            (Some(a), Some(b)) => a.key_text() == b.key_text(),
            _ => false,
        }
    }
}

impl FnFacts {
    /// What decides whether the `while` loop `loops[i]` runs again: its condition's deps and
    /// the values the body assigns to the locals the condition names (`state = x` in the body
    /// of `while state & MASK != 0`): the value carried around the loop into the next test.
    pub fn loop_condition_deps(&self, i: usize) -> super::Deps {
        let Some(lp) = self.loops.get(i) else {
            return super::Deps::new();
        };
        let mut out = lp.header_deps.clone();
        let named = |name: &str| {
            lp.header_text
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == name)
        };
        for e in &self.events {
            let carried = matches!(e.kind, super::EventKind::Assign { .. })
                && e.loops.contains(&i)
                && e.receiver
                    .as_ref()
                    .is_some_and(|p| matches!(p.root, super::Root::Local { .. }) && named(&p.text));
            if carried {
                out.union_with(&e.data_deps);
            }
        }
        out
    }

    /// The type of the function's `impl` (or trait) block, as the item visitor names it: the
    /// last path segment of the self type (`impl<T> store::Bank<T>` → `Bank`). `None` for free
    /// functions, including functions nested in a method's body.
    pub fn owner(&self) -> Option<&str> {
        last_separator(&self.name).map(|i| last_segment(&self.name[..i]))
    }

    /// The function's own name, without its owner (`Bank::deposit` → `deposit`).
    pub fn short_name(&self) -> &str {
        last_segment(&self.name)
    }

    /// The binding that `name` refers to at `at`: the last one named so, declared before `at`,
    /// whose scope contains `at` (shadowing). `None` for names bound elsewhere (parameters are
    /// bindings too; statics are not).
    pub fn binding_at(&self, name: &str, at: &Region) -> Option<&Binding> {
        self.bindings
            .iter()
            .filter(|b| b.name == name && b.region.starts_before(at) && b.scope.contains(at))
            .max_by_key(|b| b.region.start())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn facts(src: &str) -> crate::analysis::FileFacts {
        analyze_file(&syn::parse_file(src).expect("test source parses"))
    }

    #[test]
    fn loop_condition_carries_values_assigned_in_the_body() {
        let f = facts(
            "fn f(&self) { let mut s = self.a.load(Acquire); \
             while s & MASK != 0 { if let Err(x) = self.a.compare_exchange(s, 1, Relaxed, Relaxed) { s = x; continue; } other = self.b.load(Relaxed); } }",
        );
        let func = &f.functions[0];
        let deps: Vec<&str> = func
            .loop_condition_deps(0)
            .iter()
            .map(|&d| func.events[d].name.as_str())
            .collect();
        // The initial load and the CAS whose failure value becomes `s`; not `other`'s load.
        assert_eq!(deps, ["load", "compare_exchange"]);
    }

    #[test]
    fn owner_is_the_impl_or_trait_type() {
        let f = facts(
            "fn free() { fn nested() {} }
             impl<T> store::Bank<T> { fn deposit(&self) { fn helper() {} } }
             impl Clone for Entry { fn clone(&self) -> Self { todo!() } }
             trait Clock { fn now(&self) -> u64 { 0 } }",
        );
        let got: Vec<(&str, Option<&str>, &str)> = f
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.owner(), f.short_name()))
            .collect();
        assert!(got.contains(&("free", None, "free")), "{got:?}");
        assert!(got.contains(&("nested", None, "nested")), "{got:?}");
        assert!(got.contains(&("helper", None, "helper")), "{got:?}");
        assert!(
            got.contains(&("Bank::deposit", Some("Bank"), "deposit")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Entry::clone", Some("Entry"), "clone")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Clock::now", Some("Clock"), "now")),
            "{got:?}"
        );
    }

    #[test]
    fn written_out_receivers_keep_their_type() {
        let f = facts(
            "impl P { fn a(&self) {} fn b(&mut self) {} fn c(self) {} fn d(self: &Arc<Self>) {} \
             fn e(self: Arc<Self>) {} fn f(self: Pin<&mut Self>) {} fn g(self: Box<Self>) {} \
             fn h(self: &Self) {} fn i(&'a mut self) {} }",
        );
        let got: Vec<(&str, &str, bool)> = f
            .functions
            .iter()
            .map(|f| (f.short_name(), f.params[0].1.as_str(), f.exclusive_self()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "&Self", false),
                ("b", "&mut Self", true),
                ("c", "Self", true),
                ("d", "&Arc<Self>", false),
                ("e", "Arc<Self>", false),
                ("f", "Pin<&mut Self>", true),
                ("g", "Box<Self>", true),
                ("h", "&Self", false),
                ("i", "&mut Self", true),
            ]
        );
    }

    #[test]
    fn exclusive_places_are_of_exclusive_self_or_mut_parameters() {
        let f = facts(
            "impl P { fn a(&mut self, s: &mut Store, t: &Store, u: &mut Arc<Store>) { \
             self.x.get(); s.inner.get(); t.get(); u.get(); } fn b(&self) { self.x.get(); } }",
        );
        let got: Vec<(String, bool)> = f
            .functions
            .iter()
            .flat_map(|func| {
                func.events.iter().filter_map(move |e| {
                    let p = e.receiver.as_ref()?;
                    Some((p.text.clone(), func.exclusive_place(p)))
                })
            })
            .collect();
        let want: Vec<(String, bool)> = [
            ("self.x", true),
            ("s.inner", true),
            ("t", false),
            ("u", false),
            ("self.x", false),
        ]
        .iter()
        .map(|(t, b)| (t.to_string(), *b))
        .collect();
        assert_eq!(got, want);
        // A clone of an exclusive field is a shared handle; a temporary is nobody's.
        let f = facts(
            "impl P { fn c(&mut self) { let s = self.store.clone(); s.save(1); \
             self.store.save(2); make().save(3); } }",
        );
        let shared: Vec<bool> = f.functions[0]
            .events
            .iter()
            .filter(|e| e.name == "save")
            .map(|e| f.functions[0].shared_receiver(e))
            .collect();
        assert_eq!(shared, [true, false, false]);
    }

    #[test]
    fn keys_ignore_borrows_and_conversions() {
        let f = facts(
            "fn f(&self, k: String) { m.get(&k); m.insert(k.clone(), 1); m.remove(k.to_string()); \
             m.get(&self.key); m.insert(self.key, 2); m.get(\"a\".into()); m.insert(\"a\", 3); m.get(j); }",
        );
        let ev = &f.functions[0].events;
        let gets: Vec<&Event> = ev.iter().filter(|e| e.name == "get").collect();
        let first = |name: &str, n: usize| ev.iter().filter(|e| e.name == name).nth(n).unwrap();
        assert!(gets[0].same_key(first("insert", 0)));
        assert!(gets[0].same_key(first("remove", 0)));
        assert!(gets[1].same_key(first("insert", 1)));
        assert!(gets[2].same_key(first("insert", 2)));
        assert!(!gets[3].same_key(first("insert", 0)));
        assert!(!gets[0].same_key(first("insert", 1)));
        assert_eq!(gets[1].args[0].key_text(), "self.key");
    }

    #[test]
    fn last_name_of_places() {
        let f = facts(
            "fn f(&self) { self.inner.ready.load(A); crate::READY.load(A); self.slots[i].get(); }",
        );
        let names: Vec<&str> = f.functions[0]
            .events
            .iter()
            .filter_map(|e| e.receiver.as_ref().map(Place::last_name))
            .collect();
        assert_eq!(names, ["ready", "READY", "slots"]);
    }

    #[test]
    fn binding_at_follows_shadowing_and_scope() {
        let src = "fn f() {\n    let g = 1;\n    {\n        let g = 2;\n        use_it(g);\n    }\n    use_it(g);\n}\n";
        let f = &facts(src).functions[0];
        let uses: Vec<_> = f.events.iter().filter(|e| e.name == "use_it").collect();
        let inner = f.binding_at("g", &uses[0].region).expect("inner g");
        let outer = f.binding_at("g", &uses[1].region).expect("outer g");
        assert_eq!((inner.region.line, outer.region.line), (4, 2));
        assert!(f.binding_at("h", &uses[0].region).is_none());
        // Not yet declared: a use before the `let` sees nothing.
        let first = f.bindings.iter().find(|b| b.name == "g").unwrap();
        assert!(f.binding_at("g", &first.region).is_none());
    }
}
