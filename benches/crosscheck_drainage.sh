#!/usr/bin/env bash
# Exports drainage cases from phasecast and compares them with PoreSpy.
# Needs Python 3 with porespy (`pip install porespy`); PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-target/crosscheck_drainage}"
PHASECAST_CROSSCHECK_DIR="$dir" cargo test --release --test lab_crosscheck -- --ignored --nocapture
"${PYTHON:-python3}" benches/crosscheck_drainage.py "$dir"
