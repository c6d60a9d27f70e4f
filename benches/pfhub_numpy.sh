#!/usr/bin/env bash
# PFHub benchmark 1a side by side: a NumPy semi-implicit spectral reference
# (benches/pfhub_numpy.py) and phasecast's CPU backend, both to t = 1000 at the same
# time.tolerance, timed by wall clock, against the MOOSE S1 curve.
# Makes a throwaway virtual environment with numpy (removed on exit); needs the
# release binary (cargo build --release). PYTHON overrides the interpreter that
# creates the venv, PHASECAST the binary.
#     benches/pfhub_numpy.sh [--tol 2e-5]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${PHASECAST:-target/release/phasecast}"
[ -x "$bin" ] || { echo "no $bin: build it with cargo build --release" >&2; exit 1; }
venv="$(mktemp -d "${TMPDIR:-/tmp}/pfhub_numpy.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy
"$venv/bin/python" benches/pfhub_numpy.py compare --phasecast "$bin" --scene scenes/pfhub_bm1a.toml "$@"
