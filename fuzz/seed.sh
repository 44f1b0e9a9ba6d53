#!/usr/bin/env bash
# Builds the seed corpus in fuzz/corpus/<target>/ from the test fixtures' shapes, filled with
# freshly generated keys. The corpus is git-ignored: it holds scannable (fake) keys.
set -euo pipefail
cd "$(dirname "$0")"
cargo run --quiet --no-default-features --example seed -- corpus
