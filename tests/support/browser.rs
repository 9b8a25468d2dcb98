//! Loads a counterexample page in headless Chromium and reads back what the browser laid out:
//! every lane header and every step row, with its position and computed colour, plus the
//! resources the page fetched. Shared by `tests/counterexample.rs` and the examples'
//! `readme_timelines` (which includes this file by path).
//!
//! Chromium is `$HEISEN_CHROMIUM`, else the first of `chromium`, `chromium-browser`,
//! `google-chrome` on `PATH`; [`chromium`] is `None` when there is none, and callers skip with
//! a message.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The timeline rows of a text report (`   3  T1 │     load …`), to compare a page with.
pub fn report_rows(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            w.next().is_some_and(|n| n.parse::<usize>().is_ok())
                && w.next().is_some_and(|t| t.starts_with('T'))
                && l.contains('│')
        })
        .collect()
}

/// The Chromium binary, if one is installed.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEISEN_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// A lane header as laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneBox {
    pub lane: usize,
    pub left: i64,
    pub width: i64,
    pub label: String,
}

/// A step row as laid out: the cell that holds it (its thread's column).
#[derive(Debug, Clone, PartialEq)]
pub struct RowBox {
    pub step: usize,
    pub thread: usize,
    /// `data-lane` of the cell holding the step.
    pub cell_lane: usize,
    pub left: i64,
    pub top: i64,
    /// The row's classes (`step stale`, …).
    pub class: String,
    /// Computed background colour of the cell.
    pub background: String,
    /// The operation text shown.
    pub text: String,
}

/// What the browser saw.
#[derive(Debug, Default)]
pub struct Layout {
    pub lanes: Vec<LaneBox>,
    pub rows: Vec<RowBox>,
    /// Network or file resources the page loaded (`performance` entries).
    pub resources: usize,
    /// Elements that could pull in something external (`[src]`, `link`, `iframe`, …).
    pub external: usize,
    /// `#failure` and `#replay` texts.
    pub failure: String,
    pub replay: String,
}

/// Runs after load: measures the page into one line-based record appended to the DOM.
const PROBE: &str = r#"<script>
(function () {
  const out = [];
  const clean = (s) => s.replace(/\s+/g, ' ').trim();
  for (const th of document.querySelectorAll('#timeline thead th.lane')) {
    const r = th.getBoundingClientRect();
    out.push(['lane', th.dataset.lane, Math.round(r.left), Math.round(r.width), clean(th.textContent)].join('\t'));
  }
  for (const tr of document.querySelectorAll('#timeline tbody tr.step')) {
    const cell = tr.querySelector('td.active');
    if (!cell) { out.push(['row', tr.dataset.step, tr.dataset.thread, '-', 0, 0, tr.className, '', ''].join('\t')); continue; }
    const r = cell.getBoundingClientRect();
    const op = cell.querySelector('.op');
    out.push(['row', tr.dataset.step, tr.dataset.thread, cell.dataset.lane, Math.round(r.left),
              Math.round(r.top), tr.className, getComputedStyle(cell).backgroundColor,
              clean(op ? op.textContent : '')].join('\t'));
  }
  out.push(['resources', performance.getEntriesByType('resource').length].join('\t'));
  out.push(['external', document.querySelectorAll('[src], link, iframe, object, embed, img').length].join('\t'));
  const text = (id) => { const e = document.getElementById(id); return e ? clean(e.textContent) : ''; };
  out.push(['failure', text('failure')].join('\t'));
  out.push(['replay', text('replay')].join('\t'));
  const pre = document.createElement('pre');
  pre.id = 'heisen-probe';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
})();
</script>"#;

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn base_args(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        // Any attempt to reach the network fails: the page must not need it.
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Loads `page` (a copy with the probe appended) and returns the layout the browser computed.
pub fn layout(chromium: &Path, page: &Path) -> Layout {
    let html = std::fs::read_to_string(page).expect("page readable");
    assert!(html.contains("</body>"), "not a complete page");
    let probed = page.with_extension("probe.html");
    std::fs::write(
        &probed,
        html.replacen("</body>", &format!("{PROBE}</body>"), 1),
    )
    .unwrap();
    let profile = page.with_extension("chromium-profile");
    let out = base_args(chromium, &profile)
        .args(["--window-size=1200,900", "--dump-dom"])
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&probed);
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"heisen-probe\">").unwrap_or_else(|| {
        panic!(
            "the probe did not run; chromium said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let body = &dom[start + "<pre id=\"heisen-probe\">".len()..];
    let body = unescape(&body[..body.find("</pre>").expect("closed probe")]);
    let mut l = Layout::default();
    for line in body.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
        match f[0] {
            "lane" => l.lanes.push(LaneBox {
                lane: num(1) as usize,
                left: num(2),
                width: num(3),
                label: f.get(4).unwrap_or(&"").to_string(),
            }),
            "row" => l.rows.push(RowBox {
                step: num(1) as usize,
                thread: num(2) as usize,
                cell_lane: num(3) as usize,
                left: num(4),
                top: num(5),
                class: f.get(6).unwrap_or(&"").to_string(),
                background: f.get(7).unwrap_or(&"").to_string(),
                text: f.get(8).unwrap_or(&"").to_string(),
            }),
            "resources" => l.resources = num(1) as usize,
            "external" => l.external = num(1) as usize,
            "failure" => l.failure = f[1..].join("\t"),
            "replay" => l.replay = f[1..].join("\t"),
            _ => {}
        }
    }
    l
}

/// Checks what every page must show: the lanes in order, left to right and of equal width;
/// every step once, in timeline order, in its own thread's column, top to bottom; nothing
/// loaded from anywhere.
pub fn assert_well_formed(l: &Layout, lanes: &[&str], steps: usize) {
    let labels: Vec<&str> = l.lanes.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, lanes, "{l:#?}");
    for w in l.lanes.windows(2) {
        assert!(w[0].left < w[1].left, "lanes side by side: {l:#?}");
        assert!((w[0].width - w[1].width).abs() <= 2, "equal lanes: {l:#?}");
    }
    assert_eq!(l.rows.len(), steps, "{l:#?}");
    for (i, r) in l.rows.iter().enumerate() {
        assert_eq!(r.step, i + 1, "timeline order: {l:#?}");
        assert_eq!(
            r.cell_lane, r.thread,
            "step {} in its thread's lane",
            r.step
        );
        let lane = &l.lanes[r.thread];
        assert!(
            (r.left - lane.left).abs() <= 2,
            "step {} sits under its lane header: {r:?} {lane:?}",
            r.step
        );
        assert!(!r.text.is_empty(), "step {} shows its operation", r.step);
    }
    for w in l.rows.windows(2) {
        assert!(w[0].top < w[1].top, "rows top to bottom: {l:#?}");
    }
    // Highlighted rows (stale read, BLOCKED, the failure) look different from plain ones.
    let highlighted = |r: &RowBox| {
        ["stale", "blocked", "panic"]
            .iter()
            .any(|c| r.class.split(' ').any(|x| x == *c))
    };
    if let Some(plain) = l.rows.iter().find(|r| !highlighted(r)) {
        for r in l.rows.iter().filter(|r| highlighted(r)) {
            assert_ne!(
                r.background, plain.background,
                "step {} ({}) is highlighted",
                r.step, r.class
            );
        }
    }
    assert_eq!(l.resources, 0, "the page loads nothing");
    assert_eq!(l.external, 0, "the page references nothing external");
}

/// Takes a screenshot of `page` (`width`×`height` pixels) into `png`.
pub fn screenshot(chromium: &Path, page: &Path, png: &Path, width: u32, height: u32) {
    let profile = page.with_extension("chromium-profile");
    let out = base_args(chromium, &profile)
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let bytes = std::fs::read(png).unwrap_or_else(|_| {
        panic!(
            "no screenshot; chromium said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
}
