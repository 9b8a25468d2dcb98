//! The counterexample as one self-contained HTML page: no script, no network, no external
//! asset (inline CSS only), readable offline and as a CI artifact.
//!
//! - At the top: the headline, the failure (kind, thread, location with its source line,
//!   message) and the replay command.
//! - Then a table with one swimlane column per thread (`th.lane[data-lane]`) and one row per
//!   step in timeline order (`tr.step[data-step][data-thread][data-op]`): the step's cell in
//!   its thread's column holds the operation with its values and memory ordering, the source
//!   line and `file:line`; the other lanes' cells are empty, so two threads interleaving on one
//!   object (a lost update) read side by side, row by row.
//! - Weak-memory stale reads (`tr.stale`), `BLOCKED` lock requests (`tr.blocked`) and the
//!   failing panic (`tr.panic`) are highlighted, with a legend.

use super::Counterexample;
use std::fmt::Write as _;

/// HTML-escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "
:root { --stale: #fff3bf; --blocked: #ffd8d8; --panic: #ffc9c9; --lane: #f8f9fa; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 1.5rem; color: #212529; }
h1 { font-size: 1.25rem; margin: 0 0 .25rem; }
h2 { font-size: 1rem; margin: 1rem 0 .25rem; }
code, pre { font: 12.5px/1.4 ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; }
pre { background: #f1f3f5; padding: .5rem .75rem; border-radius: 4px; white-space: pre-wrap; word-break: break-all; margin: 0; }
.headline { color: #495057; margin: 0 0 .5rem; }
#failure { border-left: 4px solid #e03131; padding: .25rem .75rem; background: #fff5f5; }
#failure dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .25rem 0; }
#failure dt { font-weight: 600; }
#failure dd { margin: 0; }
.legend { margin: 1rem 0 .5rem; color: #495057; }
.legend span { display: inline-block; padding: 0 .4rem; margin-right: .5rem; border-radius: 3px; }
table#timeline { border-collapse: collapse; table-layout: fixed; width: 100%; }
#timeline th, #timeline td { border: 1px solid #dee2e6; padding: .25rem .5rem; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
#timeline thead th { position: sticky; top: 0; background: #e9ecef; }
#timeline th.step-no, #timeline td.step-no { width: 2.5rem; text-align: right; color: #868e96; }
#timeline td.lane-cell { background: var(--lane); }
#timeline td.lane-cell.active { background: #fff; }
#timeline tr.stale td.active, .legend .stale { background: var(--stale); }
#timeline tr.blocked td.active, .legend .blocked { background: var(--blocked); }
#timeline tr.panic td.active, .legend .panic { background: var(--panic); font-weight: 600; }
.op { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 13px; }
.badge { display: inline-block; font-size: 11px; padding: 0 .35rem; margin-right: .25rem; border-radius: 3px; background: #e7f5ff; color: #1864ab; }
.badge.warn { background: #ffe066; color: #5c3c00; }
.badge.err { background: #e03131; color: #fff; }
.line { margin-top: .1rem; display: flex; gap: .75rem; align-items: baseline; }
.line .src { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #343a40; }
.line .loc { flex: none; color: #868e96; font-size: 12px; }
#failure .src { margin-left: .6rem; color: #343a40; }
";

/// The page.
pub(super) fn page(cx: &Counterexample<'_>) -> String {
    let f = cx.failure;
    let t = cx.timeline;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>heisen: {} FAILED</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&f.test)
    );
    let _ = writeln!(
        o,
        "<header>\n<h1>heisen counterexample: <code>{}</code>{}</h1>\n<p class=\"headline\">{}</p>",
        esc(&f.test),
        if cx.status == "xfail" {
            " <span class=\"badge\">expected failure (should_panic)</span>"
        } else {
            ""
        },
        esc(cx.headline())
    );
    // The failure.
    let lane = t
        .lanes
        .get(f.thread)
        .map(|l| l.label())
        .unwrap_or_else(|| format!("T{}", f.thread));
    let _ = writeln!(
        o,
        "<section id=\"failure\">\n<h2>failure: {}</h2>\n<dl>\n<dt>thread</dt><dd>{}</dd>",
        esc(f.kind),
        esc(&lane)
    );
    if let Some(loc) = &f.location {
        let _ = writeln!(
            o,
            "<dt>at</dt><dd><code>{}</code>{}</dd>",
            esc(loc),
            cx.at_source
                .as_deref()
                .map(|s| format!(" <code class=\"src\">{}</code>", esc(s.trim())))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "<dt>message</dt><dd><pre id=\"message\">{}</pre></dd>\n</dl>\n</section>",
        esc(&f.message)
    );
    let _ = writeln!(
        o,
        "<section id=\"replay\">\n<h2>replay ({}, deterministic)</h2>\n<pre><code>{}</code></pre>\n</section>\n</header>",
        esc(f.backend),
        esc(&f.replay)
    );
    // The swimlanes.
    let _ = writeln!(
        o,
        "<main>\n<p class=\"legend\">{} threads, {} steps, top to bottom in the order they ran. \
         <span class=\"stale\">stale read (weak memory)</span><span class=\"blocked\">BLOCKED</span>\
         <span class=\"panic\">failure</span></p>",
        t.lanes.len(),
        t.steps.len()
    );
    o.push_str("<table id=\"timeline\">\n<thead><tr><th class=\"step-no\">#</th>");
    for l in &t.lanes {
        let _ = write!(
            o,
            "<th class=\"lane\" data-lane=\"{}\">{}</th>",
            l.id,
            esc(&l.label())
        );
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for s in &t.steps {
        let mut class = String::from("step");
        for (on, c) in [
            (s.stale_latest.is_some(), " stale"),
            (s.blocked, " blocked"),
            (s.panic, " panic"),
        ] {
            if on {
                class.push_str(c);
            }
        }
        let _ = write!(
            o,
            "<tr class=\"{class}\" data-step=\"{}\" data-thread=\"{}\" data-op=\"{}\"><td class=\"step-no\">{}</td>",
            s.index,
            s.thread,
            esc(&s.op),
            s.index
        );
        for l in &t.lanes {
            if l.id != s.thread {
                let _ = write!(o, "<td class=\"lane-cell\" data-lane=\"{}\"></td>", l.id);
                continue;
            }
            let _ = write!(
                o,
                "<td class=\"lane-cell active\" data-lane=\"{}\"><div class=\"head\">",
                l.id
            );
            // The values and the ordering are in the text (`load balance = 100 (SeqCst)`),
            // also as data attributes for tools.
            let _ = write!(
                o,
                "<span class=\"op\"{}{}>{}</span>",
                s.value
                    .as_deref()
                    .map(|v| format!(" data-value=\"{}\"", esc(v)))
                    .unwrap_or_default(),
                s.ordering
                    .as_deref()
                    .map(|v| format!(" data-ordering=\"{}\"", esc(v)))
                    .unwrap_or_default(),
                esc(&s.text)
            );
            if let Some(w) = &s.stale_latest {
                let _ = write!(
                    o,
                    " <span class=\"badge warn\">stale: latest store was {}</span>",
                    esc(w)
                );
            }
            if s.blocked {
                o.push_str(" <span class=\"badge err\">BLOCKED</span>");
            }
            o.push_str("</div>");
            // The source line, then where it is (the file's name; the full path on hover).
            if s.source.is_some() || s.file.is_some() {
                o.push_str("<div class=\"line\">");
                let _ = write!(
                    o,
                    "<code class=\"src\">{}</code>",
                    esc(s.source.as_deref().unwrap_or(""))
                );
                if let Some(file) = &s.file {
                    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
                    let _ = write!(
                        o,
                        "<span class=\"loc\" title=\"{}:{}\">{}:{}</span>",
                        esc(file),
                        s.line,
                        esc(base),
                        s.line
                    );
                }
                o.push_str("</div>");
            }
            o.push_str("</td>");
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
