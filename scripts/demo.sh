#!/usr/bin/env bash
# Install Peakline into .venv/ and run the demo line: a Mosquitto broker, camera nodes replaying
# recorded mooncake lines, the plant service with sample ERP history, forecasts, plans and the
# dashboard. Options are passed to `peakline demo` (see `peakline demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
PEAKLINE_BROWSER=0 PEAKLINE_POSTGRES=0 bash scripts/install-system.sh
. scripts/venv.sh
# a plain (not editable) install, as a user gets it; skipped when this exact tree is installed
tree=$(git describe --always --dirty 2>/dev/null || echo unknown)
stamp=.venv/peakline-installed
if [[ "$tree" == unknown || "$tree" == *-dirty || "$(cat "$stamp" 2>/dev/null)" != "$tree" ]]; then
  rm -f "$stamp"
  python -m pip install -q .
  echo "$tree" > "$stamp"
fi
exec peakline demo "$@"
