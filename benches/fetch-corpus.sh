#!/usr/bin/env bash
# Downloads the pinned real-crate corpus (benches/corpus/Cargo.toml + Cargo.lock) into
# target/corpus with `cargo vendor`. Sources only: nothing is built. Needs the crate registry.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$root/target/corpus}"
if [ -d "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "corpus already at $out"
  exit 0
fi
cd "$here/corpus"
cargo vendor --locked --versioned-dirs "$out" >/dev/null
echo "corpus vendored into $out ($(ls "$out" | wc -l) crates)"
