//! The per-crate index: what rules need to know across files of one crate, built once from
//! every file's [`FileFacts`] and shared read-only.

use crate::analysis::{
    EventKind, FieldDecl, FileFacts, FnFacts, Place, Root, StaticDecl, StructDecl,
};
use crate::finding::Region;
use std::collections::HashMap;

/// Cross-file declarations of one crate (package), by name.
#[derive(Default, Debug)]
pub struct CrateIndex {
    /// Field name → every declaration of a field with that name (struct, type).
    pub fields: HashMap<String, Vec<FieldDecl>>,
    pub statics: HashMap<String, StaticDecl>,
    pub structs: HashMap<String, StructDecl>,
    /// Function name (last segment, e.g. `now_ms` for `Clock::now_ms`) → (file index, fn index).
    pub functions: HashMap<String, Vec<(usize, usize)>>,
    /// Struct name → the first place where values of that struct are put in order (see
    /// [`CrateIndex::ordered_by`]).
    pub ordered: HashMap<String, OrderUse>,
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

impl CrateIndex {
    pub fn build(files: &[&FileFacts]) -> CrateIndex {
        let mut ix = CrateIndex::default();
        for (fi, facts) in files.iter().enumerate() {
            for f in &facts.fields {
                ix.fields
                    .entry(f.field.clone())
                    .or_default()
                    .push(f.clone());
            }
            for s in &facts.statics {
                ix.statics.insert(s.name.clone(), s.clone());
            }
            for s in &facts.structs {
                ix.structs.insert(s.name.clone(), s.clone());
            }
            for (i, func) in facts.functions.iter().enumerate() {
                let short = func
                    .name
                    .rsplit("::")
                    .next()
                    .unwrap_or(&func.name)
                    .to_string();
                ix.functions.entry(short).or_default().push((fi, i));
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

    /// The declared type of the place's last field or static, when the crate declares one
    /// unambiguously enough: all declarations of that name agree on `pred`.
    pub fn place_type_is(&self, place_text: &str, pred: impl Fn(&str) -> bool) -> bool {
        let last = place_text
            .trim_end_matches("[]")
            .rsplit(['.', ':'])
            .next()
            .unwrap_or(place_text);
        if let Some(s) = self.statics.get(last) {
            return pred(&s.ty);
        }
        let mut any = false;
        for ty in self.field_types(last) {
            if !pred(ty) {
                return false;
            }
            any = true;
        }
        any
    }

    /// `Self` in a type written inside an `impl` block, replaced by the impl's type.
    fn self_type(&self, func: &FnFacts, ty: &str) -> String {
        match func.name.rsplit_once("::") {
            Some((t, _)) if type_words(ty).any(|w| w == "Self") => {
                let t = t.rsplit("::").next().unwrap_or(t);
                type_words(ty)
                    .map(|w| if w == "Self" { t } else { w })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            _ => ty.to_string(),
        }
    }

    /// The declared type of a place in `func`, when the crate states it: a parameter's or an
    /// annotated local's type, the return type of the crate function a local was initialized
    /// by, the type of `self`, or the type of a field whose declarations all agree. `None` for
    /// pattern bindings and other locals of unknown type.
    pub fn type_of_place(&self, files: &[&FileFacts], func: &FnFacts, p: &Place) -> Option<String> {
        let text = p.text.trim_end_matches("[]");
        if let Some((_, member)) = text.rsplit_once('.') {
            let mut types = self.field_types(member);
            let first = types.next()?;
            return types.all(|t| t == first).then(|| first.to_string());
        }
        let ty = match &p.root {
            Root::SelfValue => "Self".to_string(),
            Root::Param => func.params.iter().find(|(n, _)| n == text)?.1.clone(),
            Root::Local { ty: Some(t), .. } => t.clone(),
            Root::Local {
                init: Some(path), ..
            } => {
                let segs: Vec<&str> = path.split("::").collect();
                let last = *segs.last()?;
                let owner_of = |f: &FnFacts| {
                    let (t, _) = f.name.rsplit_once("::")?;
                    Some(t.rsplit("::").next().unwrap_or(t).to_string())
                };
                let owner = match segs.len().checked_sub(2).map(|i| segs[i]) {
                    Some("Self") => owner_of(func),
                    // `crate::clock::now_ms` is a free function.
                    o => o
                        .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()))
                        .map(str::to_string),
                };
                let mut rets = self.functions.get(last)?.iter().filter_map(|&(fi, i)| {
                    let f = files.get(fi)?.functions.get(i)?;
                    (owner_of(f) == owner)
                        .then(|| self.self_type(f, f.ret.as_deref().unwrap_or("()")))
                });
                let first = rets.next()?;
                return rets.all(|t| t == first).then_some(first);
            }
            Root::Static => self.statics.get(text)?.ty.clone(),
            _ => return None,
        };
        Some(self.self_type(func, &ty))
    }
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
            let method = func.name.rsplit("::").next().unwrap_or(&func.name);
            if func.name.contains("::") && ORDER_IMPLS.contains(&method) {
                continue;
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
                        &ix.self_type(func, k),
                        fi,
                        region,
                        "as an ordered-collection key",
                    );
                }
            }
            let ty = |p: &Place| ix.type_of_place(files, func, p);
            for c in &func.comparisons {
                for op in [&c.lhs, &c.rhs] {
                    if let Some(t) = op.place.as_ref().and_then(ty) {
                        mark(&t, fi, c.region, &format!("by `{}`", c.op));
                    }
                }
            }
            for ev in &func.events {
                let name = ev.name.as_str();
                let how = format!("by `{}`", name.rsplit("::").next().unwrap_or(name));
                let arg_places = || ev.args.iter().filter_map(|a| a.place.as_ref());
                match ev.kind {
                    EventKind::MethodCall => {}
                    EventKind::Call
                        if ev.args.len() == 2
                            && matches!(
                                name.rsplit("::").next(),
                                Some("max" | "min" | "cmp" | "partial_cmp")
                            ) =>
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
    }
    // A derived order compares the first field: ordering `Entry { stamp: Hlc, .. }` orders
    // `Hlc` values.
    loop {
        let mut more = Vec::new();
        for (name, u) in &out {
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
    out
}

/// Helper for rules: the functions of a set of files, with their file index.
pub fn functions<'a>(files: &'a [&'a FileFacts]) -> impl Iterator<Item = (usize, &'a FnFacts)> {
    files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.functions.iter().map(move |func| (i, func)))
}
