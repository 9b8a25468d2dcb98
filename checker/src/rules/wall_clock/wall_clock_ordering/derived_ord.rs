//! The derived-`Ord` sink: a struct whose derived order starts with a wall-clock stamp, when
//! the crate puts values of that struct in order somewhere (`CrateIndex::ordered`).

use super::taint::Crate;
use super::WALL_CLOCK_ORDERING;
use crate::finding::{Finding, Label};
use crate::rules::{finding, CrateContext, FileCx};
use std::collections::HashSet;

/// Reports the derived orders of `file`'s structs (file index `fi`) whose first field is a
/// wall-clock stamp; `seen` holds the positions already reported.
pub(super) fn check(
    c: &Crate<'_, '_>,
    cx: &CrateContext<'_>,
    fi: usize,
    file: &FileCx<'_>,
    seen: &mut HashSet<(usize, usize, usize)>,
    out: &mut Vec<Finding>,
) {
    // A derived order whose first field is a wall-clock stamp, on a struct whose values
    // are put in order somewhere in the crate.
    for s in &file.facts.structs {
        if !s.derives.iter().any(|d| d == "Ord" || d == "PartialOrd") || c.hlc.contains(&s.name) {
            continue;
        }
        let Some(used) = cx.index.ordered.get(&s.name) else {
            continue;
        };
        let Some(first) = s.fields.first() else {
            continue;
        };
        let Some(stamp) = c.wall_fields.get(first).and_then(|v| {
            v.iter()
                .find(|st| st.strukt.as_deref() == Some(s.name.as_str()))
                .or_else(|| {
                    let only_here = cx
                        .index
                        .fields
                        .get(first)
                        .is_some_and(|d| d.iter().all(|d| d.strukt == s.name));
                    v.iter().find(|st| st.strukt.is_none() && only_here)
                })
        }) else {
            continue;
        };
        if !seen.insert((fi, s.region.line, s.region.column)) {
            continue;
        }
        let which = if s.derives.iter().any(|d| d == "Ord") {
            "Ord"
        } else {
            "PartialOrd"
        };
        let mut f = finding(
            &WALL_CLOCK_ORDERING,
            file,
            s.region,
            format!(
                "`{}` derives `{which}` with the wall-clock stamp `{first}` as its first \
                 field; comparing or sorting `{}` values orders them by clock reading",
                s.name, s.name
            ),
            format!(
                "put a logical timestamp first (a Lamport counter or hybrid logical \
                 clock) or implement `{which}` by hand on a sequence assigned by one \
                 authority; keep `{first}` for display"
            ),
        );
        f.labels.push(Label {
            region: stamp.region,
            message: format!("`{first}` is stamped from the wall clock here"),
            file: (stamp.file != fi).then(|| cx.files[stamp.file].source.rel.clone()),
        });
        f.labels.push(Label {
            region: used.region,
            message: format!("`{}` values are ordered here ({})", s.name, used.how),
            file: (used.file != fi).then(|| cx.files[used.file].source.rel.clone()),
        });
        out.push(f);
    }
}
