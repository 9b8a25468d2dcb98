//! cargo's JSON message format (`--message-format json`, alias `--format cargo-json`): what
//! `cargo check --message-format json` prints, so that rust-analyzer
//! (`rust-analyzer.check.overrideCommand`) and every tool built on `cargo_metadata::Message`
//! show heisen's findings like compiler diagnostics.
//!
//! One line per finding and per parse failure:
//!
//! ```text
//! {"reason":"compiler-message","package_id":"path+file:///ws/bank#bank@0.1.0",
//!  "manifest_path":"/ws/bank/Cargo.toml","target":{…cargo metadata's target…},
//!  "message":{"$message_type":"diagnostic","message":"…","code":{"code":"heisen::atomic-load-store","explanation":null},
//!             "level":"warning",                 // warn → warning, deny → error
//!             "spans":[{"file_name":"bank/src/lib.rs",   // relative to the workspace root
//!                       "byte_start":120,"byte_end":164,"line_start":6,"line_end":6,
//!                       "column_start":5,"column_end":49,  // 1-based chars, end exclusive
//!                       "is_primary":true,"text":[{"text":"…","highlight_start":5,"highlight_end":49}],
//!                       "label":"…","suggested_replacement":null,"suggestion_applicability":null,"expansion":null},
//!                      {…one secondary span ("is_primary":false) per label, in its own file…}],
//!             "children":[{"message":"<help>","level":"help","spans":[<the fix's region with
//!                           "suggested_replacement" and "MachineApplicable", when there is a fix>]…},
//!                         {"message":"rule `…` (group `…`, level `…`); `cargo heisen explain …`","level":"note",…}],
//!             "rendered":"<the human report of this finding>"}}
//! {"reason":"build-finished","success":false}
//! ```
//!
//! - `success` is `true` exactly when nothing was reported (no finding, no parse failure):
//!   heisen's own verdict, independent of `--exit-zero`.
//! - The primary span's label is the finding's message; the diagnostic's `message` is the
//!   same text (rustc's primary labels are shorter, but heisen has one message per finding).
//! - A parse failure is an `error` with code `heisen::parse-error`; its span has byte offsets
//!   0 (its text is not kept) and no span at all when the failure has no location.
//! - **Packages.** Workspace mode: `package_id`, `manifest_path` and `target` are cargo
//!   metadata's, for the package whose directory holds the file; the target is the one whose
//!   root file is the file, else the one whose root file's directory is the file's closest
//!   ancestor (the library first when several are, then binaries, then by name). PATHS mode
//!   runs no cargo: the nearest `Cargo.toml` gives the package's name and version (the id is
//!   `path+file://<dir>#<name>@<version>`, cargo's form), and the target is named by cargo's
//!   default layout (`src/lib.rs` and everything else under `src/` → the library when
//!   `src/lib.rs` exists, `src/main.rs` → the binary, `src/bin/x.rs` or `src/bin/x/…` → bin
//!   `x`, `tests/x.rs` → test `x`, likewise `examples/`, `benches/`, and `build.rs` → the
//!   build script); explicit `[[bin]]`/`[lib]` paths are not read. A file outside any package
//!   gets the id `path+file://<dir>` of its directory and a `lib` target named after the file.
//! - `rendered` is the human format of the finding without colours, or with ANSI colours for
//!   `--message-format json-diagnostic-rendered-ansi`; `json-diagnostic-short` renders the
//!   one-line `file:line:col: level: message [heisen::rule]`.

use super::human;
use crate::discover::PackageMeta;
use crate::finding::{Finding, Level, ParseFailure, Region, Report};
use crate::source::byte_offset;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// How `message.rendered` is written (cargo's `--message-format` variants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rendered {
    /// The human report, no colours (`json`).
    #[default]
    Plain,
    /// The human report with ANSI colours (`json-diagnostic-rendered-ansi`).
    Ansi,
    /// One line (`json-diagnostic-short`).
    Short,
}

/// A `--message-format` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageFormat {
    /// heisen's human format.
    Human,
    /// cargo's JSON messages.
    Json(Rendered),
}

/// Parses cargo's `--message-format` value: a comma-separated list of `human`, `json`,
/// `json-diagnostic-short` and `json-diagnostic-rendered-ansi`, as cargo accepts it.
pub fn parse_message_format(s: &str) -> Result<MessageFormat, String> {
    let mut json = false;
    let mut rendered = Rendered::Plain;
    for part in s.split(',').map(str::trim) {
        match part {
            "human" => {}
            "json" => json = true,
            "json-diagnostic-short" => {
                json = true;
                rendered = Rendered::Short;
            }
            "json-diagnostic-rendered-ansi" => {
                json = true;
                rendered = Rendered::Ansi;
            }
            other => {
                return Err(format!(
                    "unknown message format `{other}` (expected human, json, \
                     json-diagnostic-short or json-diagnostic-rendered-ansi)"
                ))
            }
        }
    }
    Ok(if json {
        MessageFormat::Json(rendered)
    } else {
        MessageFormat::Human
    })
}

/// Where the reported files live: the workspace root the report's paths are relative to, and
/// the packages discovery found.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub root: PathBuf,
    pub packages: Vec<PackageMeta>,
}

/// Renders cargo's JSON messages (see the module docs).
pub fn render(
    report: &Report,
    ws: &Workspace,
    rendered: Rendered,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for f in &report.findings {
        let message = finding_message(f, report, rendered);
        write_line(out, &compiler_message(ws, &f.file, message))?;
    }
    for p in &report.parse_failures {
        let message = parse_failure_message(p);
        write_line(out, &compiler_message(ws, &p.file, message))?;
    }
    let success = report.findings.is_empty() && report.parse_failures.is_empty();
    write_line(
        out,
        &json!({ "reason": "build-finished", "success": success }),
    )
}

fn write_line(out: &mut dyn std::io::Write, v: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

fn compiler_message(ws: &Workspace, file: &str, message: Value) -> CompilerMessage {
    let abs = ws.root.join(file);
    let (package_id, manifest_path, target) = locate(ws, &abs);
    CompilerMessage {
        reason: "compiler-message",
        package_id,
        manifest_path,
        target,
        message,
    }
}

/// The line's fields in cargo's order (`reason` first, which is what people grep for).
#[derive(serde::Serialize)]
struct CompilerMessage {
    reason: &'static str,
    package_id: String,
    manifest_path: String,
    target: Value,
    message: Value,
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Deny => "error",
        // `allow` findings are never reported (filtered before rendering).
        Level::Warn | Level::Allow => "warning",
    }
}

fn diagnostic(message: &str, code: Option<&str>, level: &str, spans: Vec<Value>) -> Value {
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": code.map(|c| json!({ "code": c, "explanation": null })),
        "level": level,
        "spans": spans,
        "children": [],
        "rendered": null,
    })
}

fn finding_message(f: &Finding, report: &Report, rendered: Rendered) -> Value {
    let text = |file: &str| report.sources.get(file).map(|t| &**t);
    let mut spans = vec![span(
        &f.file,
        f.region,
        text(&f.file),
        true,
        Some(&f.message),
        None,
    )];
    for l in &f.labels {
        let file = l.file.as_deref().unwrap_or(&f.file);
        spans.push(span(
            file,
            l.region,
            text(file),
            false,
            Some(&l.message),
            None,
        ));
    }
    let fix_spans = f
        .fix
        .iter()
        .map(|x| {
            span(
                &f.file,
                x.region,
                text(&f.file),
                true,
                None,
                Some(&x.replacement),
            )
        })
        .collect();
    let children = vec![
        diagnostic(&f.help, None, "help", fix_spans),
        diagnostic(
            &format!(
                "rule `{}` (group `{}`, level `{}`); `cargo heisen explain {}` documents it",
                f.rule, f.group, f.level, f.rule
            ),
            None,
            "note",
            Vec::new(),
        ),
    ];
    let code = format!("heisen::{}", f.rule);
    let mut d = diagnostic(&f.message, Some(&code), level(f.level), spans);
    d["children"] = Value::Array(children);
    d["rendered"] = Value::String(match rendered {
        Rendered::Plain => human::render_finding(f, report, false),
        Rendered::Ansi => human::render_finding(f, report, true),
        Rendered::Short => format!(
            "{}:{}:{}: {}: {} [{code}]\n",
            f.file,
            f.region.line,
            f.region.column,
            level(f.level),
            f.message
        ),
    });
    d
}

fn parse_failure_message(p: &ParseFailure) -> Value {
    let spans = if p.line > 0 {
        let r = Region {
            line: p.line,
            column: p.column.max(1),
            end_line: p.line,
            end_column: p.column.max(1) + 1,
        };
        vec![span(&p.file, r, None, true, Some(&p.message), None)]
    } else {
        Vec::new()
    };
    let message = format!("could not parse {}: {}", p.file, p.message);
    let mut d = diagnostic(&message, Some("heisen::parse-error"), "error", spans);
    d["rendered"] = Value::String(if p.line > 0 {
        format!(
            "error: could not parse {}:{}:{}: {}\n",
            p.file, p.line, p.column, p.message
        )
    } else {
        format!("error: {message}\n")
    });
    d
}

/// One rustc diagnostic span. Regions are clamped like everywhere else (start ≥ 1:1, end ≥
/// start); `text` holds each spanned source line with its highlighted columns.
fn span(
    file: &str,
    r: Region,
    text: Option<&str>,
    primary: bool,
    label: Option<&str>,
    replacement: Option<&str>,
) -> Value {
    let Region {
        line,
        column,
        end_line,
        end_column,
    } = r.clamped();
    let (byte_start, byte_end, lines) = match text {
        Some(t) => {
            let start = byte_offset(t, line, column);
            let end = byte_offset(t, end_line, end_column).max(start);
            let lines: Vec<Value> = t
                .lines()
                .enumerate()
                .skip(line - 1)
                .take(end_line - line + 1)
                .map(|(i, l)| {
                    let n = i + 1;
                    let len = l.chars().count() + 1;
                    json!({
                        "text": l,
                        "highlight_start": if n == line { column.min(len) } else { 1 },
                        "highlight_end": if n == end_line { end_column.min(len) } else { len },
                    })
                })
                .collect();
            (start, end, lines)
        }
        None => (0, 0, Vec::new()),
    };
    json!({
        "file_name": file.replace('\\', "/"),
        "byte_start": byte_start,
        "byte_end": byte_end,
        "line_start": line,
        "line_end": end_line,
        "column_start": column,
        "column_end": end_column,
        "is_primary": primary,
        "text": lines,
        "label": label,
        "suggested_replacement": replacement,
        "suggestion_applicability": replacement.map(|_| "MachineApplicable"),
        "expansion": null,
    })
}

/// `(package_id, manifest_path, target)` of the file at `abs` (see the module docs).
fn locate(ws: &Workspace, abs: &Path) -> (String, String, Value) {
    let package = ws
        .packages
        .iter()
        .filter(|p| abs.starts_with(p.dir()))
        .max_by_key(|p| p.dir().components().count());
    match package {
        Some(p) => {
            let target = if p.targets.is_empty() {
                layout_target(p, abs)
            } else {
                metadata_target(&p.targets, abs)
            };
            (
                p.id.clone(),
                p.manifest_path.to_string_lossy().into_owned(),
                target,
            )
        }
        None => {
            let dir = abs.parent().unwrap_or(Path::new("/"));
            let stem = file_stem(abs);
            (
                format!("path+file://{}", dir.to_string_lossy().replace('\\', "/")),
                String::new(),
                target_value(&stem, "lib", abs, "2021"),
            )
        }
    }
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The workspace target of `abs`: exact root file, else the closest root directory.
fn metadata_target(targets: &[Value], abs: &Path) -> Value {
    let src = |t: &Value| PathBuf::from(t["src_path"].as_str().unwrap_or_default());
    if let Some(t) = targets.iter().find(|t| src(t) == abs) {
        return t.clone();
    }
    let rank = |t: &Value| {
        let kinds: Vec<&str> = t["kind"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if kinds.iter().any(|k| {
            matches!(
                *k,
                "lib" | "rlib" | "proc-macro" | "cdylib" | "dylib" | "staticlib"
            )
        }) {
            0
        } else if kinds.contains(&"bin") {
            1
        } else {
            2
        }
    };
    targets
        .iter()
        .filter_map(|t| {
            let dir = src(t).parent()?.to_path_buf();
            abs.starts_with(&dir).then_some((t, dir))
        })
        .min_by(|(a, da), (b, db)| {
            db.components()
                .count()
                .cmp(&da.components().count())
                .then(rank(a).cmp(&rank(b)))
                .then(a["name"].as_str().cmp(&b["name"].as_str()))
        })
        .map(|(t, _)| t.clone())
        .or_else(|| targets.iter().min_by_key(|t| rank(t)).cloned())
        .unwrap_or(Value::Null)
}

/// The target of `abs` by cargo's default layout (PATHS mode).
fn layout_target(p: &PackageMeta, abs: &Path) -> Value {
    let dir = p.dir();
    let rel = abs.strip_prefix(dir).unwrap_or(abs);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let crate_name = p.name.replace('-', "_");
    let name = if p.name.is_empty() {
        file_stem(abs)
    } else {
        p.name.clone()
    };
    let auto = |kind: &str, sub: &str| -> Value {
        // `tests/x.rs` → x; `tests/x/main.rs` and files below `tests/x/` → x.
        let (tname, root) = match parts.get(2) {
            Some(_) => (
                parts[1].clone(),
                dir.join(sub).join(&parts[1]).join("main.rs"),
            ),
            None => (file_stem(abs), abs.to_path_buf()),
        };
        target_value(&tname, kind, &root, &p.edition)
    };
    match parts.first().map(String::as_str) {
        Some("build.rs") if parts.len() == 1 => {
            target_value("build-script-build", "custom-build", abs, &p.edition)
        }
        Some("tests") => auto("test", "tests"),
        Some("examples") => auto("example", "examples"),
        Some("benches") => auto("bench", "benches"),
        Some("src") if parts.get(1).map(String::as_str) == Some("bin") && parts.len() > 2 => {
            let (tname, root) = match parts.get(3) {
                Some(_) => (
                    parts[2].clone(),
                    dir.join("src/bin").join(&parts[2]).join("main.rs"),
                ),
                None => (file_stem(abs), abs.to_path_buf()),
            };
            target_value(&tname, "bin", &root, &p.edition)
        }
        _ => {
            let lib = dir.join("src/lib.rs");
            let main = dir.join("src/main.rs");
            if abs == main || !lib.is_file() && main.is_file() {
                target_value(&name, "bin", &main, &p.edition)
            } else {
                let mut t = target_value(&crate_name, "lib", &lib, &p.edition);
                if crate_name.is_empty() {
                    t["name"] = Value::String(file_stem(abs));
                }
                t
            }
        }
    }
}

/// A target object in `cargo metadata`'s shape.
fn target_value(name: &str, kind: &str, src_path: &Path, edition: &str) -> Value {
    let crate_type = match kind {
        "lib" => "lib",
        _ => "bin",
    };
    json!({
        "name": name,
        "kind": [kind],
        "crate_types": [crate_type],
        "required-features": [],
        "src_path": src_path.to_string_lossy(),
        "edition": edition,
        "doctest": kind == "lib",
        "test": kind != "custom-build",
        "doc": matches!(kind, "lib" | "bin"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    fn lines(report: &Report, ws: &Workspace) -> Vec<Value> {
        let mut out = Vec::new();
        render(report, ws, Rendered::Plain, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn snapshot() {
        let ws = Workspace {
            root: PathBuf::from("/ws"),
            packages: vec![PackageMeta {
                id: "path+file:///ws#bank@0.1.0".into(),
                manifest_path: "/ws/Cargo.toml".into(),
                targets: vec![target_value(
                    "bank",
                    "lib",
                    Path::new("/ws/src/lib.rs"),
                    "2021",
                )],
                name: "bank".into(),
                edition: "2021".into(),
            }],
        };
        let v = lines(&test_support::report(), &ws);
        assert_eq!(v.len(), 4, "2 findings, 1 parse failure, build-finished");
        let m = &v[0]["message"];
        assert_eq!(m["code"]["code"], "heisen::atomic-load-store");
        assert_eq!(m["spans"][0]["is_primary"], true);
        // "/// Größe: 💰\n" precedes: byte offsets count bytes, columns count chars.
        let bank = test_support::BANK;
        let start = m["spans"][0]["byte_start"].as_u64().unwrap() as usize;
        let end = m["spans"][0]["byte_end"].as_u64().unwrap() as usize;
        assert_eq!(
            &bank[start..end],
            "balance.store(b + amount, Ordering::SeqCst);"
        );
        assert_eq!(m["spans"][1]["is_primary"], false);
        assert_eq!(m["spans"][1]["label"], "loaded here");
        assert_eq!(
            m["children"][0]["spans"][0]["suggested_replacement"],
            "balance.fetch_add(amount, Ordering::SeqCst)"
        );
        // The label in another file is a secondary span in that file.
        assert_eq!(v[1]["message"]["spans"][1]["file_name"], "src/model.rs");
        assert_eq!(v[1]["message"]["level"], "error");
        assert_eq!(v[3], json!({"reason": "build-finished", "success": false}));
        insta::assert_snapshot!(v
            .iter()
            .map(|l| serde_json::to_string_pretty(l).unwrap())
            .collect::<Vec<_>>()
            .join("\n"));
    }

    #[test]
    fn message_format_values() {
        use MessageFormat::*;
        assert_eq!(parse_message_format("json"), Ok(Json(Rendered::Plain)));
        assert_eq!(parse_message_format("human"), Ok(Human));
        assert_eq!(
            parse_message_format("json,json-diagnostic-rendered-ansi"),
            Ok(Json(Rendered::Ansi))
        );
        assert_eq!(
            parse_message_format("json-diagnostic-short"),
            Ok(Json(Rendered::Short))
        );
        assert!(parse_message_format("xml").is_err());
    }

    #[test]
    fn targets_by_metadata_and_by_layout() {
        let lib = target_value("bank", "lib", Path::new("/ws/src/lib.rs"), "2021");
        let bin = target_value("cli", "bin", Path::new("/ws/src/main.rs"), "2021");
        let test = target_value("it", "test", Path::new("/ws/tests/it.rs"), "2021");
        let ts = [bin.clone(), test.clone(), lib.clone()];
        assert_eq!(metadata_target(&ts, Path::new("/ws/src/main.rs")), bin);
        assert_eq!(metadata_target(&ts, Path::new("/ws/src/a/b.rs")), lib);
        assert_eq!(
            metadata_target(&ts, Path::new("/ws/tests/common/mod.rs")),
            test
        );
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("src/bin/tool")).unwrap();
        std::fs::write(tmp.path().join("src/lib.rs"), "").unwrap();
        let p = PackageMeta {
            manifest_path: tmp.path().join("Cargo.toml"),
            name: "my-bank".into(),
            edition: "2021".into(),
            ..Default::default()
        };
        let t = |rel: &str| layout_target(&p, &tmp.path().join(rel));
        assert_eq!(t("src/deep/x.rs")["name"], "my_bank");
        assert_eq!(t("src/deep/x.rs")["kind"][0], "lib");
        assert_eq!(t("src/main.rs")["kind"][0], "bin");
        assert_eq!(t("src/bin/tool/util.rs")["name"], "tool");
        assert_eq!(t("tests/it.rs")["name"], "it");
        assert_eq!(t("tests/it.rs")["kind"][0], "test");
        assert_eq!(t("build.rs")["kind"][0], "custom-build");
    }
}
