#!/usr/bin/env bash
# Side by side: PoreSpy snow2 + OpenPNM Stokes flow against phasecast's pore-network
# (and optionally lattice-Boltzmann) permeability on the same PoreSpy blob volume.
# Makes its own throwaway Python environment (VENV, default /tmp/phasecast-pnm-venv).
#   benches/crosscheck_network.sh [--size 100] [--porosity 0.5] [--blobiness 1.5] [--lbm]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-/tmp/phasecast-pnm-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import porespy, openpnm" 2>/dev/null || "$venv/bin/pip" install -q porespy openpnm
cargo build --release --quiet
exec "$venv/bin/python" benches/crosscheck_network.py --phasecast target/release/phasecast "$@"
