//! The per-crate index: what rules need to know across files of one crate, built once from
//! every file's [`FileFacts`] and shared read-only.

use crate::analysis::{
    last_segment, last_separator, Event, EventKind, FieldDecl, FileFacts, FnFacts, Place, Root,
    StaticDecl, StructDecl, TraitDecl,
};
use crate::finding::Region;
use std::borrow::Cow;
use std::collections::HashMap;

/// Identifies one function of a crate: the index of its file (in the order the index was built
/// from) and of the function in that file's facts. Stable for one run of the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnKey {
    pub file: usize,
    pub func: usize,
}

/// A function of the crate together with its [`FnKey`], for queries that keep per-function
/// results (`FnRef` dereferences to the facts).
#[derive(Clone, Copy, Debug)]
pub struct FnRef<'a> {
    pub key: FnKey,
    pub facts: &'a FnFacts,
}

impl std::ops::Deref for FnRef<'_> {
    type Target = FnFacts;
    fn deref(&self) -> &FnFacts {
        self.facts
    }
}

/// What the index keeps of each function for cross-function questions (calls, return types).
#[derive(Clone, Debug)]
pub struct FnEntry {
    pub key: FnKey,
    /// [`FnFacts::owner`]: the impl type, `None` for free functions.
    pub owner: Option<String>,
    /// The return type as written, `Self` replaced by the owner (`()` when none is written).
    pub ret: String,
    /// A method taking `&self` or `&mut self`: calling it borrows the receiver, never moves it.
    pub self_by_ref: bool,
}

/// Cross-file declarations of one crate (package), by name.
///
/// The index borrows the declarations from the files' facts (`'f`) instead of copying them,
/// so building it allocates little and it adds little to peak memory (generated binding
/// crates declare hundreds of thousands of fields and constants). Keys stay `String`s so
/// lookups by `&str` and `&String` both work.
#[derive(Default, Debug)]
pub struct CrateIndex<'f> {
    /// Field name → every declaration of a field with that name (struct, type).
    pub fields: HashMap<String, Vec<&'f FieldDecl>>,
    pub statics: HashMap<String, &'f StaticDecl>,
    pub structs: HashMap<String, &'f StructDecl>,
    /// Trait name → the crate's declarations of a trait of that name.
    pub traits: HashMap<String, Vec<&'f TraitDecl>>,
    /// Variant name (`Multi` of `TargetKind::Multi`) → the fields of every enum variant of
    /// that name (`FieldDecl::strukt` is `Enum::Variant`).
    pub variant_fields: HashMap<String, Vec<&'f FieldDecl>>,
    /// Function name (last segment, e.g. `now_ms` for `Clock::now_ms`) → its functions.
    pub functions: HashMap<String, Vec<FnEntry>>,
    /// Struct name → the first place where values of that struct are put in order (see
    /// `ordered_structs`).
    pub ordered: HashMap<String, OrderUse>,
    /// The crate's lock summary, computed on first use by the rules that ask for it
    /// (`CrateContext::lock_summary`).
    pub lock_summary: std::sync::OnceLock<crate::analysis::locks::LockSummary>,
    /// Lock fields shared through an `Arc` under different owners, by the crate struct they
    /// protect (`locks::lock_classes`), computed on first use.
    pub lock_classes: std::sync::OnceLock<HashMap<String, String>>,
    /// The crate's atomic getters and setters (`analysis::accessors`), computed on first use
    /// (`CrateContext::accessors`).
    pub accessors: std::sync::OnceLock<crate::analysis::accessors::AccessorSummary>,
    /// Every function's lock nesting (`analysis::locks::Nesting`), by file and function index,
    /// computed on first use (`CrateContext::nesting`): the deadlock rules share one.
    pub nestings: std::sync::OnceLock<Vec<Vec<crate::analysis::locks::Nesting<'f>>>>,
    /// The package's edition, as far as temporary lifetimes go (set by the engine; 2021 when
    /// unknown).
    pub edition: crate::analysis::locks::Edition,
}

/// A place where values of a crate struct are ordered: compared with `<`/`cmp`/`max`, sorted,
/// used as the key of an ordered collection, or the first field of an ordered derived-`Ord`
/// struct.
#[derive(Clone, Debug)]
pub struct OrderUse {
    /// Index of the file (in the order the index was built from).
    pub file: usize,
    pub region: Region,
    /// How they are ordered (``by `sort` ``, ``by `<` ``, `as an ordered-collection key` …).
    pub how: String,
}

impl<'f> CrateIndex<'f> {
    pub fn build(files: &[&'f FileFacts]) -> CrateIndex<'f> {
        let mut ix = CrateIndex::default();
        for (fi, facts) in files.iter().enumerate() {
            for f in &facts.fields {
                // One key per distinct field name, not per declaration.
                match ix.fields.get_mut(f.field.as_str()) {
                    Some(decls) => decls.push(f),
                    None => {
                        ix.fields.insert(f.field.clone(), vec![f]);
                    }
                }
            }
            for s in &facts.statics {
                ix.statics.insert(s.name.clone(), s);
            }
            for s in &facts.structs {
                ix.structs.insert(s.name.clone(), s);
            }
            for t in &facts.traits {
                ix.traits.entry(t.name.clone()).or_default().push(t);
            }
            for f in &facts.variant_fields {
                let variant = last_segment(&f.strukt).to_string();
                ix.variant_fields.entry(variant).or_default().push(f);
            }
            for (i, func) in facts.functions.iter().enumerate() {
                let entry = FnEntry {
                    key: FnKey { file: fi, func: i },
                    owner: func.owner().map(str::to_string),
                    ret: self_replaced(func.owner(), func.ret.as_deref().unwrap_or("()")),
                    self_by_ref: func
                        .params
                        .first()
                        .is_some_and(|(n, t)| n == "self" && t.starts_with('&')),
                };
                match ix.functions.get_mut(func.short_name()) {
                    Some(entries) => entries.push(entry),
                    None => {
                        ix.functions
                            .insert(func.short_name().to_string(), vec![entry]);
                    }
                }
            }
        }
        ix.ordered = ordered_structs(&ix, files);
        ix
    }

    /// The declared types of fields named `field` (any struct of the crate).
    pub fn field_types(&self, field: &str) -> impl Iterator<Item = &str> {
        self.fields
            .get(field)
            .into_iter()
            .flatten()
            .map(|d| d.ty.as_str())
    }

    /// Every type the crate declares for `place` in `func` — the one place-type resolver that
    /// [`CrateIndex::type_of`] and [`CrateIndex::type_is`] decide on:
    ///
    /// * a field (`self.state`, `acct.balance`, `self.slots[]`, a field of a temporary): the
    ///   declaration in the impl's own struct for a direct field of `self`, else every
    ///   declaration of a field of that name;
    /// * `self`: `Self`; a parameter: its type; an annotated local: its annotation;
    /// * an unannotated local initialized by a call (`let m = Registry::open(..)`): the return
    ///   type of every crate function that call may be, else the constructor path as written
    ///   (`moka::sync::Cache::new`), which names the type for the library constructors that
    ///   rules look for;
    /// * a static or const (by its last path segment): its type.
    ///
    /// Types are as written, except that `Self` in a return type is its impl's type. Empty for
    /// temporaries, pattern bindings and other locals of unknown type.
    ///
    /// A lazily initialized cell (`Lazy<T>`, `LazyLock<T>`, `OnceLock<T>`, `OnceCell<T>`, see
    /// [`lazy_inner`]) is seen through to `T`: `REGISTRY.lock()` on a `Lazy<Mutex<..>>` static
    /// locks a `Mutex`.
    pub fn declared_types<'a>(&'a self, func: &'a FnFacts, place: &'a Place) -> Vec<Cow<'a, str>> {
        let mut types = self.declared_types_as_written(func, place);
        for t in &mut types {
            match t {
                Cow::Borrowed(b) => *b = lazy_inner(b),
                Cow::Owned(o) => {
                    let inner = lazy_inner(o);
                    if inner.len() != o.len() {
                        *o = inner.to_string();
                    }
                }
            }
        }
        types
    }

    /// [`CrateIndex::declared_types`] before lazy cells are seen through.
    fn declared_types_as_written<'a>(
        &'a self,
        func: &'a FnFacts,
        place: &'a Place,
    ) -> Vec<Cow<'a, str>> {
        let text = place.text.trim_end_matches("[]");
        if let Some((_, member)) = text.rsplit_once('.') {
            if place.root == Root::SelfValue && text.matches('.').count() == 1 {
                let own = self
                    .fields
                    .get(member)
                    .into_iter()
                    .flatten()
                    .find(|d| func.owner() == Some(d.strukt.as_str()));
                if let Some(d) = own {
                    return vec![Cow::Borrowed(d.ty.as_str())];
                }
            }
            if let (Root::Local { .. }, Some((base, _))) = (&place.root, text.split_once('.')) {
                let guarded = self.guarded_struct(func, base);
                let field = guarded.and_then(|s| {
                    let decls = self.fields.get(member).into_iter().flatten();
                    decls.clone().find(|d| d.strukt == s)
                });
                if let (Some(d), false) = (field, text[base.len() + 1..].contains('.')) {
                    return vec![Cow::Borrowed(d.ty.as_str())];
                }
            }
            return self.field_types(member).map(Cow::Borrowed).collect();
        }
        let one = |t: &'a str| vec![Cow::Borrowed(t)];
        match &place.root {
            Root::SelfValue => one("Self"),
            Root::Param => func
                .params
                .iter()
                .find(|(n, _)| n == text)
                .map_or_else(Vec::new, |(_, t)| one(t)),
            Root::Local { ty: Some(t), .. } => one(t),
            Root::Local {
                init: Some(path), ..
            } => {
                let rets = self.returned_by(func, path);
                if rets.is_empty() {
                    one(path)
                } else {
                    rets.into_iter().map(Cow::Borrowed).collect()
                }
            }
            Root::Static => self
                .statics
                .get(last_segment(text))
                .map_or_else(Vec::new, |s| one(&s.ty)),
            Root::Local { .. } => self.pattern_field_types(func, text),
            Root::Temporary => Vec::new(),
        }
    }

    /// The crate struct that the guards bound to the local `name` in `func` protect: every
    /// binding of that name is initialized by an acquisition chain (`let mut lock =
    /// self.remote_queue.lock().unwrap();`, or through `match … { Ok(lock) => lock, … }`) of a
    /// lock reached from `self`, a parameter or a static whose declared type guards a crate
    /// struct (`Mutex<RemoteQueue<S>>` → `RemoteQueue`), the same one for all. So
    /// `lock.queue` is `RemoteQueue`'s `queue`, not any struct's. (A lock reached from another
    /// local is not followed: the base resolution would recurse.)
    fn guarded_struct(&self, func: &FnFacts, name: &str) -> Option<&'f str> {
        let mut found: Option<&'f str> = None;
        for b in func.bindings.iter().filter(|b| b.name == name) {
            let wrapper = b.field_of.as_ref().map(|(p, _)| p.as_str());
            if !matches!(wrapper, None | Some("Ok" | "Some")) {
                return None;
            }
            let ev = func.events.get(b.init?)?;
            let lock = crate::analysis::locks::guard_source(func, ev)?;
            if !matches!(lock.root, Root::SelfValue | Root::Param | Root::Static) {
                return None;
            }
            let ty = self.type_of(func, lock)?;
            let inner = crate::analysis::locks::guarded_type(&ty)?;
            let head = last_segment(inner.split('<').next().unwrap_or(inner).trim());
            let decl = self.structs.get(head)?;
            match found {
                Some(s) if s != decl.name => return None,
                _ => found = Some(decl.name.as_str()),
            }
        }
        found
    }

    /// The declared types of the field a pattern binds to the local `name` in `func`
    /// ([`crate::analysis::Binding::field_of`]): `TargetKind::Multi { ref state, .. }` gives
    /// the type of variant `Multi`'s field `state`, `Entry { key, .. }` that of `Entry.key`.
    fn pattern_field_types<'a>(&'a self, func: &'a FnFacts, name: &str) -> Vec<Cow<'a, str>> {
        let mut out: Vec<Cow<'a, str>> = Vec::new();
        // Other bindings of the name (`let state = state.write().unwrap();` shadowing the
        // pattern's `state`) are not consulted: places carry no binding, and a lock field
        // bound by a pattern is usually locked right away under the same name.
        for b in func.bindings.iter().filter(|b| b.name == name) {
            if b.field_of.is_none() {
                continue;
            }
            let types = self.binding_field_types(b);
            if types.is_empty() {
                // One field binding of that name has no known type: the type is unknown.
                return Vec::new();
            }
            out.extend(types.into_iter().map(Cow::Borrowed));
        }
        out
    }

    /// The declared types of the field the pattern binding `b` binds (empty when it binds no
    /// field, or one the crate does not declare).
    pub fn binding_field_types(&self, b: &crate::analysis::Binding) -> Vec<&str> {
        let Some((path, field)) = &b.field_of else {
            return Vec::new();
        };
        let last = last_segment(path);
        // `TargetKind::Multi` names its enum; `Self::Multi` or `Multi` any.
        let segs: Vec<&str> = path.rsplitn(3, "::").collect();
        let named = segs.get(1).filter(|e| **e != "Self");
        let structs = self.fields.get(field.as_str()).into_iter().flatten();
        let variants = self.variant_fields.get(last).into_iter().flatten();
        structs
            .filter(|d| d.strukt == last)
            .chain(variants.filter(|d| {
                d.field == *field && named.map_or(true, |e| d.strukt == format!("{e}::{last}"))
            }))
            .map(|d| d.ty.as_str())
            .collect()
    }

    /// The declared type of `place` in `func` when the crate states one unambiguously: every
    /// declaration [`CrateIndex::declared_types`] finds agrees (a field name two structs
    /// declare with different types gives `None`).
    pub fn type_of<'a>(&'a self, func: &'a FnFacts, place: &'a Place) -> Option<Cow<'a, str>> {
        let mut types = self.declared_types(func, place).into_iter();
        let first = types.next()?;
        types.all(|t| t == first).then_some(first)
    }

    /// Whether the crate declares a type for `place` and every declaration satisfies `pred`
    /// (`AtomicPtr<Node>` and `AtomicPtr<Block>` fields of one name are both pointers).
    pub fn type_is(&self, func: &FnFacts, place: &Place, pred: impl Fn(&str) -> bool) -> bool {
        let types = self.declared_types(func, place);
        !types.is_empty() && types.iter().all(|t| pred(t))
    }

    /// The return types of the crate functions a call of `path` (as written, in `func`) may
    /// be: `Type::f` / `Self::f` (the impl of `func`) match methods of that type, a lowercase
    /// qualifier (`crate::clock::now_ms`) or none matches free functions.
    fn returned_by<'a>(&'a self, func: &FnFacts, path: &str) -> Vec<&'a str> {
        let segs: Vec<&str> = path.split("::").collect();
        let Some(entries) = segs.last().and_then(|last| self.functions.get(*last)) else {
            return Vec::new();
        };
        let owner = match segs.len().checked_sub(2).map(|i| segs[i]) {
            Some("Self") => func.owner(),
            o => o.filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase())),
        };
        entries
            .iter()
            .filter(|e| e.owner.as_deref() == owner)
            .map(|e| e.ret.as_str())
            .collect()
    }

    /// The crate functions a call or method call `ev` in `func` may resolve to, by name: a
    /// method call may be any method of that name (the receiver's type is not known); a path
    /// call `Type::f` (`Self::f`: the impl of `func`) a method of `Type`; a path with a
    /// lowercase qualifier (`clock::now`) or none a free function. Macros and assignments call
    /// nothing.
    pub fn callees(&self, func: &FnFacts, ev: &Event) -> Vec<FnKey> {
        let name = last_segment(&ev.name);
        let Some(entries) = self.functions.get(name) else {
            return Vec::new();
        };
        // The segment before the last (`Type` of `m::Type::f`), if any.
        let qualifier = last_separator(&ev.name).map(|i| last_segment(&ev.name[..i]));
        let wanted: Option<Option<&str>> = match ev.kind {
            // Any method: matched below.
            EventKind::MethodCall => None,
            EventKind::Call if qualifier.is_some() => {
                let t = qualifier.unwrap_or_default();
                let t = if t == "Self" {
                    func.owner().unwrap_or(t)
                } else {
                    t
                };
                Some(t.starts_with(|c: char| c.is_ascii_uppercase()).then_some(t))
            }
            EventKind::Call => Some(None),
            _ => return Vec::new(),
        };
        entries
            .iter()
            .filter(|e| match wanted {
                None => e.owner.is_some(),
                Some(owner) => e.owner.as_deref() == owner,
            })
            .map(|e| e.key)
            .collect()
    }
}

impl CrateIndex<'_> {
    /// The crate functions a call `ev` in `func` may resolve to: [`CrateIndex::callees`], and
    /// for a method call narrowed by what the crate tells of the receiver — the one receiver
    /// resolver that the retry rules (every callee) and the lock summary
    /// ([`crate::analysis::locks::crate_callee`], exactly one callee) share:
    ///
    /// * a call on `self` resolves to the methods of `func`'s own impl;
    /// * a receiver of a known type ([`crate::analysis::locks::receiver_type`]: declared,
    ///   a guard's lock, a crate method's return type) resolves to the methods of the types
    ///   it names (`Retry` in `Result<Retry<'a>>`, not `PatientRetry`), and to none of the
    ///   crate's when it names none (`backon::ExponentialBuilder::default`, `Vec<Unknown>`);
    ///   a trait object or `impl Trait` that names none keeps every method of that name (any
    ///   impl may run); a type parameter is not told from a library type (`Arc<T>`: none);
    /// * the value of a call that is no crate function's (`xs.iter().position(..)`) calls
    ///   none of the crate's methods;
    /// * an unknown receiver (a pattern binding, a closure parameter) keeps every method of
    ///   that name.
    pub fn method_callees(&self, func: &FnFacts, ev: &Event) -> Vec<FnKey> {
        if ev.kind != EventKind::MethodCall {
            return self.callees(func, ev);
        }
        self.method_entries(func, ev)
            .iter()
            .map(|e| e.key)
            .collect()
    }

    /// [`CrateIndex::method_callees`] of a method call, as the index's entries (one pass over
    /// the functions of that name: a name like `get` or `new` has hundreds).
    pub fn method_entries(&self, func: &FnFacts, ev: &Event) -> Vec<&FnEntry> {
        use crate::analysis::locks::{receiver_type, RecvType};
        let Some(entries) = self.functions.get(last_segment(&ev.name)) else {
            return Vec::new();
        };
        // By name, any method ([`CrateIndex::callees`]).
        let methods = || entries.iter().filter(|e| e.owner.is_some());
        if ev.receiver.as_ref().is_some_and(|p| p.text == "self") {
            return methods()
                .filter(|e| e.owner.as_deref() == func.owner())
                .collect();
        }
        if methods().next().is_none() {
            return Vec::new();
        }
        match receiver_type(self, func, ev) {
            RecvType::Unknown => methods().collect(),
            RecvType::Foreign => Vec::new(),
            RecvType::Known(t) => {
                let t = self_replaced(func.owner(), &t);
                let typed: Vec<&FnEntry> = methods()
                    .filter(|e| e.owner.as_deref().is_some_and(|o| names_word(&t, o)))
                    .collect();
                if typed.is_empty() && stands_for_any_type(&t) {
                    methods().collect()
                } else {
                    typed
                }
            }
        }
    }
}

/// Whether a type as written may stand for a crate type it does not name: a trait object or
/// `impl Trait` (`&dyn Store`). A type parameter (`Arc<T>`) is not recognized (the facts keep
/// no generics lists): it names no crate type, so it calls none of the crate's methods.
fn stands_for_any_type(ty: &str) -> bool {
    type_words(ty).any(|w| w == "dyn" || w == "impl")
}

/// Whether `word` occurs in `text` as a whole identifier (`Retry` in `Result<Retry<'a>>`, not
/// in `PatientRetry`).
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(ident)
            && !text[i + word.len()..].chars().next().is_some_and(ident)
    })
}

/// `Self` in a type written inside an `impl` block of `owner`, replaced by `owner`; the rest
/// of the text is kept as written (`Option<Self>` → `Option<Entry>`).
pub fn self_replaced(owner: Option<&str>, ty: &str) -> String {
    let Some(owner) = owner else {
        return ty.to_string();
    };
    let mut out = String::with_capacity(ty.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(if word == "Self" { owner } else { word });
        word.clear();
    };
    for c in ty.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Methods whose body defines an order rather than uses one (`impl Ord for T { fn cmp }`).
const ORDER_IMPLS: &[&str] = &[
    "cmp",
    "partial_cmp",
    "lt",
    "le",
    "gt",
    "ge",
    "max",
    "min",
    "clamp",
];

/// The identifiers of a type as written (`Option<Vec<Date>>` → `Option`, `Vec`, `Date`).
fn type_words(ty: &str) -> impl Iterator<Item = &str> {
    ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
}

/// The key types of the ordered collections a type names (`BTreeMap<Date, u32>` → `Date`,
/// `BinaryHeap<Reverse<(Job, u8)>>` → `Reverse<(Job, u8)>`).
fn ordered_keys(ty: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    for coll in ["BTreeMap<", "BTreeSet<", "BinaryHeap<"] {
        for (i, _) in ty.match_indices(coll) {
            let rest = &ty[i + coll.len()..];
            let mut depth = 0usize;
            let end = rest
                .char_indices()
                .find(|&(_, c)| match c {
                    '<' | '(' | '[' => {
                        depth += 1;
                        false
                    }
                    '>' | ')' | ']' if depth > 0 => {
                        depth -= 1;
                        false
                    }
                    ',' | '>' => depth == 0,
                    _ => false,
                })
                .map_or(rest.len(), |(j, _)| j);
            keys.push(&rest[..end]);
        }
    }
    keys
}

/// Where values of each struct of the crate are put in order. Values are recognized by
/// declared types only: parameters, annotated locals, locals initialized by a call of a crate
/// function (its return type), `self`, and fields whose declarations all agree on a type.
fn ordered_structs(ix: &CrateIndex, files: &[&FileFacts]) -> HashMap<String, OrderUse> {
    let mut out: HashMap<String, OrderUse> = HashMap::new();
    // Only consulted for structs that derive an order; most crates have none, and skip the scan.
    if !ix
        .structs
        .values()
        .any(|s| s.derives.iter().any(|d| d == "Ord" || d == "PartialOrd"))
    {
        return out;
    }
    let mut mark = |ty: &str, file: usize, region: Region, how: &str| {
        for w in type_words(ty) {
            if ix.structs.contains_key(w) && !out.contains_key(w) {
                let how = how.to_string();
                out.insert(w.to_string(), OrderUse { file, region, how });
            }
        }
    };
    for (fi, facts) in files.iter().enumerate() {
        for f in &facts.fields {
            for k in ordered_keys(&f.ty) {
                mark(k, fi, f.region, "as an ordered-collection key");
            }
        }
        for s in &facts.statics {
            for k in ordered_keys(&s.ty) {
                mark(k, fi, s.region, "as an ordered-collection key");
            }
        }
        for func in &facts.functions {
            order_uses_in(ix, fi, func, &mut mark);
        }
    }
    through_first_fields(ix, &mut out);
    out
}

/// Where `func` (in file `fi`) puts values in order: declared ordered-collection keys,
/// comparisons, `cmp`/`max`/`min`, sorts, sort keys and ordered-collection inserts; `mark`
/// records the types of the values.
fn order_uses_in(
    ix: &CrateIndex,
    fi: usize,
    func: &FnFacts,
    mark: &mut impl FnMut(&str, usize, Region, &str),
) {
    if func.owner().is_some() && ORDER_IMPLS.contains(&func.short_name()) {
        return;
    }
    let declared = func
        .params
        .iter()
        .map(|(_, t)| (t, func.region))
        .chain(func.ret.iter().map(|t| (t, func.region)))
        .chain(
            func.bindings
                .iter()
                .filter_map(|b| Some((b.ty.as_ref()?, b.region))),
        );
    for (t, region) in declared {
        for k in ordered_keys(t) {
            mark(
                &self_replaced(func.owner(), k),
                fi,
                region,
                "as an ordered-collection key",
            );
        }
    }
    let ty = |p: &Place| ix.type_of(func, p).map(|t| self_replaced(func.owner(), &t));
    for c in &func.comparisons {
        for op in [&c.lhs, &c.rhs] {
            if let Some(t) = op.place.as_ref().and_then(ty) {
                mark(&t, fi, c.region, &format!("by `{}`", c.op));
            }
        }
    }
    for ev in &func.events {
        let name = ev.name.as_str();
        let how = format!("by `{}`", last_segment(name));
        let arg_places = || ev.args.iter().filter_map(|a| a.place.as_ref());
        match ev.kind {
            EventKind::MethodCall => {}
            EventKind::Call
                if ev.args.len() == 2
                    && matches!(last_segment(name), "max" | "min" | "cmp" | "partial_cmp") =>
            {
                for t in arg_places().filter_map(ty) {
                    mark(&t, fi, ev.region, &how);
                }
                continue;
            }
            _ => continue,
        }
        let recv_ty = ev.receiver.as_ref().and_then(ty);
        match name {
            "cmp" | "partial_cmp" | "max" | "min" | "clamp" if !ev.args.is_empty() => {
                for t in recv_ty.into_iter().chain(arg_places().filter_map(ty)) {
                    mark(&t, fi, ev.region, &how);
                }
            }
            "sort" | "sort_unstable" if ev.args.is_empty() => {
                if let Some(t) = recv_ty {
                    mark(&t, fi, ev.region, &how);
                }
            }
            // `v.iter().max()`: the collection the iterator chain starts from.
            "max" | "min" => {
                for &d in &ev.receiver_deps {
                    let e = &func.events[d];
                    let start = matches!(
                        e.name.as_str(),
                        "iter" | "into_iter" | "iter_mut" | "values" | "keys" | "drain"
                    );
                    if let Some(t) = e.receiver.as_ref().filter(|_| start).and_then(ty) {
                        mark(&t, fi, ev.region, &how);
                    }
                }
            }
            "sort_by_key"
            | "sort_unstable_by_key"
            | "sort_by_cached_key"
            | "max_by_key"
            | "min_by_key"
            | "binary_search_by_key" => {
                let key = ev.args.last().into_iter().flat_map(|a| &a.fields);
                for t in key.filter_map(ty) {
                    mark(&t, fi, ev.region, &how);
                }
            }
            "insert" | "entry" | "push" if !ev.args.is_empty() => {
                let ordered = ev.receiver.as_ref().is_some_and(|r| {
                    let init = match &r.root {
                        Root::Local { init, .. } => init.as_deref(),
                        _ => None,
                    };
                    [recv_ty.as_deref(), init].iter().flatten().any(|t| {
                        ["BTreeMap", "BTreeSet", "BinaryHeap"]
                            .iter()
                            .any(|c| t.contains(c))
                    })
                });
                let a = &ev.args[0];
                let key = a
                    .tuple_elems
                    .first()
                    .map_or(a.place.as_ref(), |e| e.place.as_ref());
                if let Some(t) = key.filter(|_| ordered).and_then(ty) {
                    mark(&t, fi, ev.region, "as an ordered-collection key");
                }
            }
            _ => {}
        }
    }
}

/// A derived order compares the first field: ordering `Entry { stamp: Hlc, .. }` orders
/// `Hlc` values. Adds those, transitively, to `out`.
fn through_first_fields(ix: &CrateIndex, out: &mut HashMap<String, OrderUse>) {
    loop {
        let mut more = Vec::new();
        for (name, u) in out.iter() {
            let Some(s) = ix.structs.get(name) else {
                continue;
            };
            if !s.derives.iter().any(|d| d == "Ord" || d == "PartialOrd") {
                continue;
            }
            let Some(first) = s.fields.first() else {
                continue;
            };
            let decl = ix
                .fields
                .get(first)
                .into_iter()
                .flatten()
                .find(|d| d.strukt == *name);
            for w in decl.into_iter().flat_map(|d| type_words(&d.ty)) {
                if ix.structs.contains_key(w) && !out.contains_key(w) {
                    let how = format!("as the first field of the ordered `{name}`");
                    more.push((w.to_string(), OrderUse { how, ..u.clone() }));
                }
            }
        }
        if more.is_empty() {
            break;
        }
        for (w, u) in more {
            out.entry(w).or_insert(u);
        }
    }
}

/// Helper for rules: the functions of a set of files, with their file index.
pub fn functions<'a>(files: &'a [&'a FileFacts]) -> impl Iterator<Item = (usize, &'a FnFacts)> {
    files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.functions.iter().map(move |func| (i, func)))
}

/// Lazily initialized cells whose value is reached through them (`Deref`, or `get()` /
/// `get_or_init(..)`): the type of interest of a place declared with one is its value's.
const LAZY_CELLS: &[&str] = &[
    "Lazy",
    "LazyLock",
    "LazyCell",
    "OnceLock",
    "OnceCell",
    "SyncLazy",
    "SyncOnceCell",
];

/// The value type inside a lazily initialized cell type as written (`once_cell::sync::Lazy<
/// Mutex<u32>>` → `Mutex<u32>`, `LazyLock<T, fn() -> T>` → `T`, nested cells too); any other
/// type unchanged.
pub fn lazy_inner(ty: &str) -> &str {
    let mut ty = ty.trim();
    for _ in 0..4 {
        let Some(lt) = ty.find('<') else { break };
        if !LAZY_CELLS.contains(&last_segment(ty[..lt].trim())) {
            break;
        }
        let Some(inner) = first_generic_arg(ty) else {
            break;
        };
        ty = inner;
    }
    ty
}

/// The first generic argument of a type as written (`LazyLock<T, fn() -> T>` → `T`,
/// `Mutex<Queue<S>>` → `Queue<S>`): up to a comma outside any brackets. `None` when the type
/// has no (non-empty) argument list at its end.
pub fn first_generic_arg(ty: &str) -> Option<&str> {
    let ty = ty.trim();
    let lt = ty.find('<')?;
    if !ty.ends_with('>') {
        return None;
    }
    let args = &ty[lt + 1..ty.len() - 1];
    let mut depth = 0i32;
    let mut end = args.len();
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let inner = args[..end].trim();
    (!inner.is_empty()).then_some(inner)
}

/// For tests: the index of a one-file crate with `facts`, built over a leaked copy (the index
/// borrows from the facts it is built from), so a test can keep both by value. Keys and
/// texts agree with `facts`.
#[cfg(test)]
pub(crate) fn leaked_index(facts: &FileFacts) -> CrateIndex<'static> {
    let leaked: &'static FileFacts = Box::leak(Box::new(facts.clone()));
    CrateIndex::build(&[leaked])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    const SRC: &str = "
        struct Bank { state: Mutex<u64>, head: AtomicPtr<Node> }
        struct Queue { state: AtomicUsize, head: AtomicPtr<Block> }
        static READY: AtomicBool = AtomicBool::new(false);
        impl Bank {
            fn open() -> Self { todo!() }
            fn f(&self, q: &Queue, n: u64) {
                self.state.lock();
                q.state.load(A);
                self.head.load(A);
                q.head.load(A);
                n.count();
                self.count();
                crate::READY.load(A);
                let b = Bank::open(); b.count();
                let m = Mutex::new(0); m.lock();
                let t: Vec<u8> = Vec::new(); t.count();
                for u in n.items() { u.count(); }
                Self::open();
                open();
                clock::open();
                q.open();
            }
        }
        fn open() -> u64 { 0 }
    ";

    /// The facts and index of `SRC`.
    fn parsed() -> (FileFacts, CrateIndex<'static>) {
        let facts = analyze_file(&syn::parse_file(SRC).unwrap());
        let index = leaked_index(&facts);
        (facts, index)
    }

    fn bank_f(facts: &FileFacts) -> &FnFacts {
        facts
            .functions
            .iter()
            .find(|f| f.name == "Bank::f")
            .unwrap()
    }

    fn with_receivers(check: impl Fn(&CrateIndex, &FnFacts, &[&Place])) {
        let (facts, index) = parsed();
        let func = bank_f(&facts);
        let recvs: Vec<&Place> = func
            .events
            .iter()
            .filter_map(|e| e.receiver.as_ref())
            .collect();
        check(&index, func, &recvs);
    }

    #[test]
    fn lazy_cells_are_seen_through() {
        assert_eq!(
            lazy_inner("once_cell::sync::Lazy<Mutex<u32>>"),
            "Mutex<u32>"
        );
        assert_eq!(
            lazy_inner("LazyLock<RwLock<Vec<u8>>, fn() -> RwLock<Vec<u8>>>"),
            "RwLock<Vec<u8>>"
        );
        assert_eq!(lazy_inner("OnceLock<Lazy<Mutex<()>>>"), "Mutex<()>");
        // Not a cell, or a cell without arguments: unchanged.
        assert_eq!(lazy_inner("Arc<Mutex<u32>>"), "Arc<Mutex<u32>>");
        assert_eq!(lazy_inner("MyLazy<u32>"), "MyLazy<u32>");
        assert_eq!(lazy_inner("Lazy<>"), "Lazy<>");
        assert_eq!(lazy_inner("Lazy"), "Lazy");
    }

    #[test]
    fn type_of_places() {
        with_receivers(|ix, func, recvs| {
            let got: Vec<(&str, Option<String>)> = recvs
                .iter()
                .map(|p| (p.text.as_str(), ix.type_of(func, p).map(|t| t.into_owned())))
                .filter(|(t, _)| !t.is_empty())
                .collect();
            let want = |text: &str| {
                let hit = got.iter().find(|(t, _)| *t == text);
                hit.unwrap_or_else(|| panic!("no receiver {text} in {got:?}"))
                    .1
                    .clone()
            };
            // A field of `self`: the impl's own struct wins over another struct's field.
            assert_eq!(want("self.state").as_deref(), Some("Mutex<u64>"));
            assert_eq!(want("self.head").as_deref(), Some("AtomicPtr<Node>"));
            // A field of something else: two structs disagree, so no answer.
            assert_eq!(want("q.state"), None);
            assert_eq!(want("q.head"), None);
            assert_eq!(want("n").as_deref(), Some("u64"));
            assert_eq!(want("self").as_deref(), Some("Self"));
            assert_eq!(want("crate::READY").as_deref(), Some("AtomicBool"));
            // Initialized by a crate function: its return type, `Self` resolved.
            assert_eq!(want("b").as_deref(), Some("Bank"));
            // By a library constructor: the constructor path.
            assert_eq!(want("m").as_deref(), Some("Mutex::new"));
            assert_eq!(want("t").as_deref(), Some("Vec<u8>"));
            assert_eq!(want("u"), None);
        });
    }

    #[test]
    fn type_is_accepts_disagreeing_declarations_that_all_satisfy() {
        with_receivers(|ix, func, recvs| {
            let q_head = recvs.iter().find(|p| p.text == "q.head").unwrap();
            assert!(ix.type_is(func, q_head, |t| t.contains("AtomicPtr")));
            assert!(!ix.type_is(func, q_head, |t| t.contains("Node")));
            let u = recvs.iter().find(|p| p.text == "u").unwrap();
            assert!(!ix.type_is(func, u, |_| true));
        });
    }

    #[test]
    fn callees_resolve_owner_self_and_free_functions() {
        let (facts, index) = parsed();
        let func = bank_f(&facts);
        let name_of = |k: &FnKey| facts.functions[k.func].name.as_str();
        let calls: Vec<(String, Vec<&str>)> = func
            .events
            .iter()
            .filter(|e| e.name.ends_with("open"))
            .map(|e| {
                (
                    e.name.clone(),
                    index.callees(func, e).iter().map(name_of).collect(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("Bank::open".to_string(), vec!["Bank::open"]),
                ("Self::open".to_string(), vec!["Bank::open"]),
                ("open".to_string(), vec!["open"]),
                // A lowercase qualifier is a module: a free function.
                ("clock::open".to_string(), vec!["open"]),
                // A method call may be any method of that name.
                ("open".to_string(), vec!["Bank::open"]),
            ]
        );
    }

    #[test]
    fn self_replaced_keeps_the_text() {
        assert_eq!(
            self_replaced(Some("Entry"), "Option<Self>"),
            "Option<Entry>"
        );
        assert_eq!(self_replaced(Some("E"), "&mut Self"), "&mut E");
        assert_eq!(self_replaced(Some("E"), "SelfRef<Self>"), "SelfRef<E>");
        assert_eq!(self_replaced(None, "Self"), "Self");
    }

    /// The names of the functions `method_callees` gives for `e`, sorted.
    fn callee_names(
        index: &CrateIndex,
        facts: &FileFacts,
        func: &FnFacts,
        e: &Event,
    ) -> Vec<String> {
        let mut o: Vec<String> = index
            .method_callees(func, e)
            .iter()
            .map(|k| facts.functions[k.func].name.clone())
            .collect();
        o.sort();
        o
    }

    #[test]
    fn method_callees_follow_the_receiver_type() {
        let src = "
            struct Retry; struct PatientRetry;
            impl Retry { fn new() -> Retry { Retry } fn attempt(&mut self) {} }
            impl PatientRetry { fn attempt(&mut self) {} fn run(&mut self) { self.attempt(); } }
            fn f(p: &PatientRetry, xs: Vec<Unknown>) {
                let mut r = Retry::new(); r.attempt();
                p.attempt();
                for x in xs { x.attempt(); }
                if let Some(y) = lookup() { y.attempt(); }
                let b = backon::ExponentialBuilder::default(); b.attempt();
            }
        ";
        let facts = analyze_file(&syn::parse_file(src).unwrap());
        let index = CrateIndex::build(&[&facts]);
        let owners = |fname: &str| -> Vec<Vec<String>> {
            let func = facts.functions.iter().find(|f| f.name == fname).unwrap();
            func.events
                .iter()
                .filter(|e| e.name == "attempt")
                .map(|e| callee_names(&index, &facts, func, e))
                .collect()
        };
        assert_eq!(
            owners("f"),
            vec![
                vec!["Retry::attempt".to_string()],
                vec!["PatientRetry::attempt".to_string()],
                // An element of `xs: Vec<Unknown>` (the loop variable stands for `xs[]`):
                // a type the crate does not define, so none of the crate's methods.
                vec![],
                // A pattern binding, of unknown type: every method of that name.
                vec![
                    "PatientRetry::attempt".to_string(),
                    "Retry::attempt".to_string()
                ],
                // A library type: none of the crate's.
                vec![],
            ]
        );
        assert_eq!(
            owners("PatientRetry::run"),
            vec![vec!["PatientRetry::attempt".to_string()]]
        );
    }

    /// The receivers the deadlock rules meet: guards, a crate method's value, temporaries,
    /// trait objects, library values; and `crate_callee`, which needs exactly one callee.
    #[test]
    fn guard_fields_and_container_elements_resolve_calls() {
        // tokio 0.2.6's close_remote: two structs declare `queue`, two types `shutdown`.
        let src = "
            struct Task; struct Job;
            impl Task { fn shutdown(self) {} }
            impl Job { fn shutdown(self) {} }
            struct Remote { queue: VecDeque<Task>, open: bool }
            struct Local { queue: Vec<Job> }
            struct Queues { remote: Mutex<Remote>, local: Arc<Mutex<Local>>, tasks: Mutex<Vec<Task>> }
            impl Queues {
                fn f(&self, other: Remote) {
                    let mut lock = match self.remote.lock() { Ok(lock) => lock, Err(_) => return };
                    while let Some(task) = lock.queue.pop_front() { task.shutdown(); }
                    let mut local = self.local.lock().unwrap();
                    if let Some(job) = local.queue.pop() { job.shutdown(); }
                    let mut tasks = self.tasks.lock().unwrap();
                    while let Some(t) = tasks.pop() { t.shutdown(); }
                    if let Some(x) = other.queue.pop_front() { x.shutdown(); }
                    if let Some(y) = local.queue.first() { y.shutdown(); }
                }
            }
        ";
        let facts = analyze_file(&syn::parse_file(src).unwrap());
        let index = CrateIndex::build(&[&facts]);
        let func = &facts
            .functions
            .iter()
            .find(|f| f.name == "Queues::f")
            .unwrap();
        let queue_types: Vec<Option<String>> = func
            .events
            .iter()
            .filter_map(|e| e.receiver.as_ref().filter(|p| p.text.ends_with(".queue")))
            .map(|p| index.type_of(func, p).map(Cow::into_owned))
            .collect();
        assert_eq!(
            queue_types,
            [
                // A guard's field: the guarded struct's, through a `match` on the lock result.
                Some("VecDeque<Task>".to_string()),
                // Through an `Arc<Mutex<..>>`.
                Some("Vec<Job>".to_string()),
                // A parameter's field: every declaration of `queue`, which disagree.
                None,
                // The `Arc<Mutex<Local>>` guard again.
                Some("Vec<Job>".to_string()),
            ]
        );
        let shutdowns: Vec<Vec<String>> = func
            .events
            .iter()
            .filter(|e| e.name == "shutdown")
            .map(|e| callee_names(&index, &facts, func, e))
            .collect();
        let task = || vec!["Task::shutdown".to_string()];
        let both = || vec!["Job::shutdown".to_string(), "Task::shutdown".to_string()];
        assert_eq!(
            shutdowns,
            [
                // `Some(task)` of an element removed from a guard's `VecDeque<Task>`.
                task(),
                vec!["Job::shutdown".to_string()],
                // The guard itself is the container (`Mutex<Vec<Task>>`).
                task(),
                // A parameter's field: `queue` is ambiguous, so is the element.
                both(),
                // `first()` is a library call of no crate type: unknown, any `shutdown`.
                both(),
            ]
        );
    }

    #[test]
    fn guarded_types_through_pointers() {
        use crate::analysis::locks::guarded_type;
        assert_eq!(
            guarded_type("Mutex<RemoteQueue<S>>"),
            Some("RemoteQueue<S>")
        );
        assert_eq!(
            guarded_type("Arc<parking_lot::RwLock<State>>"),
            Some("State")
        );
        assert_eq!(guarded_type("&'a Mutex<Vec<u8>>"), Some("Vec<u8>"));
        assert_eq!(
            guarded_type("&mut tokio::sync::Mutex<(u8, u16)>"),
            Some("(u8, u16)")
        );
        assert_eq!(guarded_type("Arc<State>"), None);
        assert_eq!(guarded_type("Vec<Mutex<u8>>"), None);
        assert_eq!(guarded_type("Mutex"), None);
        assert_eq!(first_generic_arg("HashMap<K, Vec<(A, B)>>"), Some("K"));
        assert_eq!(first_generic_arg("Lazy<>"), None);
    }

    #[test]
    fn method_callees_follow_guards_returns_and_chains() {
        let src = "
            struct Inner; struct Other; struct Shared { state: Mutex<Inner> }
            impl Inner { fn touch(&mut self) {} }
            impl Other { fn touch(&mut self) {} fn make() -> Other { Other } }
            impl Shared {
                fn inner(&self) -> MutexGuard<'_, Inner> { self.state.lock().unwrap() }
                fn f(&self, d: &dyn Touch, xs: Vec<u8>, t: Arc<T>, a: Arc<Inner>) {
                    self.state.lock().unwrap().touch();
                    let g = self.state.lock().unwrap(); g.touch();
                    let h = self.inner(); h.touch();
                    Other::make().touch();
                    d.touch();
                    t.touch();
                    a.touch();
                    xs.iter().max().touch();
                    |c| c.touch();
                    let h = h.touch();
                }
            }
        ";
        let facts = analyze_file(&syn::parse_file(src).unwrap());
        let index = CrateIndex::build(&[&facts]);
        let func = facts
            .functions
            .iter()
            .find(|f| f.name == "Shared::f")
            .unwrap();
        let touches: Vec<&Event> = func.events.iter().filter(|e| e.name == "touch").collect();
        let owners: Vec<Vec<String>> = touches
            .iter()
            .map(|e| callee_names(&index, &facts, func, e))
            .collect();
        let inner = || vec!["Inner::touch".to_string()];
        let both = || vec!["Inner::touch".to_string(), "Other::touch".to_string()];
        assert_eq!(
            owners,
            vec![
                // The acquisition chain itself: the lock's type names the guarded struct.
                inner(),
                // A binding holding the guard.
                inner(),
                // The value of a crate method: its return type.
                inner(),
                // A temporary from a crate constructor.
                vec!["Other::touch".to_string()],
                // A trait object: any impl.
                both(),
                // A type parameter names no crate type: none (a known loss, see above).
                vec![],
                // A library type naming a crate type: that type's.
                inner(),
                // The value of a library call (`Iterator::max`): none of the crate's.
                vec![],
                // A closure parameter of unknown type: every method of that name.
                both(),
                // Shadowing: `binding_at` finds the `h` being made (its pattern precedes the
                // initializer), whose value is this call's own: unknown, every method (and
                // no endless recursion through the initializer).
                both(),
            ]
        );
        // The lock summary's view: exactly one callee, or none.
        let one: Vec<Option<FnKey>> = touches
            .iter()
            .map(|e| crate::analysis::locks::crate_callee(&index, func, e).map(|(k, _)| k))
            .collect();
        let resolved: Vec<bool> = one.iter().map(Option::is_some).collect();
        assert_eq!(
            resolved,
            [true, true, true, true, false, false, true, false, false, false]
        );
    }
}
