#!/usr/bin/env bash
# The main job on the bundled examples, from the repository root:
#   1. `cargo heisen check` on examples/: every buggy variant reported, no fixed one;
#   2. `cargo heisen model` on the examples: buggy models fail as expected (xfail), fixed pass;
#   3. one counterexample printed in full: the parallel withdrawal, as a per-thread timeline.
set -uo pipefail
cd "$(dirname "$0")/.."
heisen() { cargo run -q -p cargo-heisen -- heisen "$@"; }

echo "== 1. cargo heisen check examples"
heisen check examples
echo
echo "== 2. cargo heisen model --manifest-path examples/Cargo.toml"
heisen model --manifest-path examples/Cargo.toml
echo
echo "== 3. the counterexample heisen prints for examples/parallel_withdrawal (in_memory_buggy)"
# The test is #[should_panic]: run it ignoring that, so its report is printed as a failure.
report=$(cargo test -q --manifest-path examples/Cargo.toml -p parallel_withdrawal --test model \
  -- --exact in_memory_buggy --nocapture 2>&1 | sed -n '/FAILED under/,/HEISEN_REPLAY/p' | head -40)
if [ -z "$report" ]; then
  echo "demo: the model printed no counterexample for in_memory_buggy" >&2
  exit 1
fi
echo "$report"
exit 0
