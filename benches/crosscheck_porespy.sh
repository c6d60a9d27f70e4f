#!/bin/sh
# Installs the Python references if missing and runs the cross-check.
set -e
python3 -c "import porespy, skimage" 2>/dev/null || pip install porespy scikit-image
exec python3 "$(dirname "$0")/crosscheck_porespy.py" "$@"
