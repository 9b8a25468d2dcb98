//! The per-crate index: what rules need to know across files of one crate, built once from
//! every file's [`FileFacts`] and shared read-only.

use crate::analysis::{FieldDecl, FileFacts, FnFacts, StaticDecl, StructDecl};
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
}

/// Helper for rules: the functions of a set of files, with their file index.
pub fn functions<'a>(files: &'a [&'a FileFacts]) -> impl Iterator<Item = (usize, &'a FnFacts)> {
    files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.functions.iter().map(move |func| (i, func)))
}
