#!/usr/bin/env bash
# Install Peakline and run the demo line: a Mosquitto broker, camera nodes replaying recorded
# mooncake lines, the plant service with sample ERP history, forecasts, plans and the dashboard.
# Options are passed to `peakline demo` (see `peakline demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
PEAKLINE_BROWSER=0 bash scripts/install-system.sh
python3 -m pip install -q --upgrade "pip>=24"
python3 -m pip install -q .
exec peakline demo "$@"
