//! SARIF 2.1.0 for `cargo heisen model --format sarif`: each failing model test is a result
//! whose `codeFlows[0].threadFlows` has one thread flow per model thread, in lane order
//! (`T0` = the test body), each holding that thread's steps as `threadFlowLocation`s in
//! timeline order (`executionOrder` = the step's position in the whole timeline, so a viewer
//! can interleave them again), with the step's text as message and the value it read or
//! wrote as `state` (`{"balance": {"text": "100"}}`).
//!
//! Input: the counterexample JSON files the runtime writes under `HEISEN_REPORT_DIR` (schema
//! in the `heisen` crate's `counterexample` module), as parsed JSON values.
//!
//! - The rule: one, `model-counterexample`; `result.properties` has the test, backend,
//!   failure kind, status and the replay command, and the message says all of it.
//! - Location: the failure's location, else the last step with a location.
//! - A `#[should_panic]` test that failed as expected (`xfail`) is still a result, with an
//!   `inSource` suppression saying so: code scanning lists it as suppressed, not open.
//! - A thread with no recorded step still gets its thread flow, with one location that
//!   says so (SARIF requires at least one).
//! - A failing test without a counterexample file (a smoke run, a non-model test) is a
//!   result with its summary line and no code flow.

use super::sarif::{artifact_location, INFORMATION_URI};
use crate::finding::Region;
use serde_json::{json, Value};

/// A failing test of the run: its name, status (`FAIL` / `xfail`), summary description, and
/// counterexample document when one was written.
pub struct Failed {
    pub test: String,
    pub status: String,
    pub description: String,
    pub counterexample: Option<Value>,
}

const RULE: &str = "model-counterexample";

fn rule() -> Value {
    let text = "A `#[heisen::model]` test failed: the model backends found an interleaving of \
                its threads under which it panics, deadlocks or races. The result's code flow \
                is that interleaving, one thread flow per thread; the replay command in the \
                message reruns exactly it.";
    json!({
        "id": RULE,
        "name": RULE,
        "shortDescription": { "text": "a model test found a failing interleaving" },
        "fullDescription": { "text": text },
        "help": { "text": text, "markdown": text },
        "helpUri": format!("{INFORMATION_URI}#model"),
        "defaultConfiguration": { "level": "error" },
        "properties": { "tags": ["concurrency", "model"] },
    })
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn physical(file: &str, line: u64, column: u64) -> Value {
    let line = line.max(1) as usize;
    let column = column.max(1) as usize;
    json!({
        "artifactLocation": artifact_location(file),
        "region": super::sarif::region(Region { line, column, end_line: line, end_column: column }),
    })
}

fn thread_flows(cx: &Value) -> Vec<Value> {
    let steps = cx["steps"].as_array().cloned().unwrap_or_default();
    let lanes = cx["lanes"].as_array().cloned().unwrap_or_default();
    lanes
        .iter()
        .map(|lane| {
            let id = lane["id"].as_u64().unwrap_or(0);
            let label = match lane["name"].as_str() {
                Some(n) => format!("T{id} ({n})"),
                None => format!("T{id}"),
            };
            let mut locations: Vec<Value> = steps
                .iter()
                .filter(|s| s["thread"].as_u64() == Some(id))
                .map(|s| {
                    let mut location = json!({ "message": { "text": str_of(s, "text") } });
                    if let Some(file) = s["file"].as_str() {
                        location["physicalLocation"] = physical(
                            file,
                            s["line"].as_u64().unwrap_or(1),
                            s["column"].as_u64().unwrap_or(1),
                        );
                    }
                    let essential = s["panic"] == true
                        || s["blocked"] == true
                        || !s["stale_latest"].is_null();
                    let mut tfl = json!({
                        "location": location,
                        "executionOrder": s["index"].as_u64().unwrap_or(0),
                        "importance": if essential { "essential" } else { "important" },
                    });
                    if let Some(v) = s["value"].as_str() {
                        let name = s["object"].as_str().unwrap_or("value");
                        tfl["state"] = json!({ name: { "text": v } });
                    }
                    tfl
                })
                .collect();
            if locations.is_empty() {
                locations.push(json!({
                    "location": { "message": { "text": format!("{label} recorded no step before the failure") } },
                }));
            }
            json!({
                "id": format!("T{id}"),
                "message": { "text": label },
                "locations": locations,
            })
        })
        .collect()
}

fn result(f: &Failed) -> Value {
    let mut r = json!({
        "ruleId": RULE,
        "ruleIndex": 0,
        "level": "error",
        // The test's name is its identity: one open alert per failing test.
        "partialFingerprints": { "heisen-model/v1": f.test },
    });
    let mut props = json!({ "test": f.test, "status": f.status });
    match &f.counterexample {
        Some(cx) => {
            let message = str_of(cx, "message");
            r["message"] = json!({ "text": format!(
                "{} FAILED under {} ({}): {}\nreplay: {}",
                f.test,
                str_of(cx, "backend"),
                str_of(cx, "kind"),
                message.lines().next().unwrap_or(""),
                str_of(cx, "replay"),
            )});
            let at = if cx["location"].is_object() {
                Some(&cx["location"])
            } else {
                cx["steps"]
                    .as_array()
                    .and_then(|s| s.iter().rev().find(|s| s["file"].is_string()))
            };
            if let Some(at) = at {
                r["locations"] = json!([{ "physicalLocation": physical(
                    str_of(at, "file"),
                    at["line"].as_u64().unwrap_or(1),
                    at["column"].as_u64().unwrap_or(1),
                ) }]);
            }
            r["codeFlows"] = json!([{
                "message": { "text": str_of(cx, "headline") },
                "threadFlows": thread_flows(cx),
            }]);
            for k in ["backend", "kind", "replay", "package"] {
                if cx[k].is_string() {
                    props[k] = cx[k].clone();
                }
            }
        }
        None => {
            r["message"] = json!({ "text": format!(
                "{} FAILED: {} (no counterexample was recorded)",
                f.test, f.description
            )});
        }
    }
    if f.status == "xfail" {
        r["suppressions"] = json!([{
            "kind": "inSource",
            "justification": "#[should_panic]: the test expects this failure",
        }]);
    }
    r["properties"] = props;
    r
}

/// The SARIF log of a model run. `ran` is whether cargo ran the tests at all.
pub fn to_value(failed: &[Failed], ran: bool) -> Value {
    super::sarif::log(
        "heisen-model",
        vec![rule()],
        json!({ "executionSuccessful": ran }),
        failed.iter().map(result).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counterexample document in the runtime's shape (two threads, a lost update).
    pub(crate) fn sample() -> Value {
        let step =
            |index: u64, thread: u64, op: &str, text: &str, value: Option<&str>, line: u64| {
                json!({"index": index, "thread": thread, "op": op, "text": text,
                   "object": value.map(|_| "balance"), "value": value, "old": null,
                   "ordering": value.map(|_| "SeqCst"), "file": "pw/src/buggy.rs", "line": line,
                   "column": 9, "source": "…", "stale_latest": null, "blocked": false,
                   "panic": op == "panic"})
            };
        json!({
            "version": 1, "test": "model::in_memory_buggy", "filter": "in_memory_buggy",
            "package": "pw", "status": "xfail", "backend": "shuttle", "kind": "panic",
            "message": "overdraft", "thread": 0,
            "location": {"file": "pw/tests/model.rs", "line": 12, "column": 5},
            "headline": "heisen: model::in_memory_buggy FAILED under shuttle",
            "replay": "HEISEN_REPLAY='shuttle:1:0' cargo test",
            "lanes": [{"id": 0, "name": "main"}, {"id": 1, "name": null}, {"id": 2, "name": null}],
            "steps": [
                step(1, 0, "load", "load balance = 100 (SeqCst)", Some("100"), 28),
                step(2, 1, "load", "load balance = 100 (SeqCst)", Some("100"), 28),
                step(3, 1, "store", "store balance ← 40 (SeqCst)", Some("40"), 32),
                step(4, 0, "store", "store balance ← 40 (SeqCst)", Some("40"), 32),
                step(5, 0, "panic", "PANIC: overdraft", None, 12),
            ],
            "report": "…",
        })
    }

    #[test]
    fn one_thread_flow_per_thread_in_timeline_order() {
        let v = to_value(
            &[Failed {
                test: "model::in_memory_buggy".into(),
                status: "xfail".into(),
                description: String::new(),
                counterexample: Some(sample()),
            }],
            true,
        );
        let r = &v["runs"][0]["results"][0];
        let flows = r["codeFlows"][0]["threadFlows"].as_array().unwrap();
        assert_eq!(flows.len(), 3);
        let order = |t: usize| -> Vec<u64> {
            flows[t]["locations"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| l["executionOrder"].as_u64())
                .collect()
        };
        assert_eq!(order(0), [1, 4, 5]);
        assert_eq!(order(1), [2, 3]);
        assert_eq!(flows[1]["locations"][0]["state"]["balance"]["text"], "100");
        assert_eq!(
            flows[1]["locations"][1]["location"]["message"]["text"],
            "store balance ← 40 (SeqCst)"
        );
        assert!(flows[2]["locations"][0]["location"]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("no step"));
        assert_eq!(r["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            12
        );
    }
}
