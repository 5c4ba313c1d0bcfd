#!/usr/bin/env bash
# The README's first command as a new user runs it, checked: `bash scripts/demo.sh` from the
# checkout (a plain install, the checkout as working directory, a fresh data folder), until the
# dashboard shows the live line in headless Chromium; then Ctrl-C, a clean stop, and no process
# left behind. Needs .venv/ with the test extra (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
export XDG_DATA_HOME="$work/data"
log="$work/demo.log"
setsid bash scripts/demo.sh > "$log" 2>&1 &
demo=$!
stop_demo() { kill -INT "$demo" 2>/dev/null || true; }
trap 'stop_demo; kill -KILL -- "-$demo" 2>/dev/null || true' EXIT
if ! .venv/bin/python scripts/check_demo.py --expect-preparing --shots artifacts/ci-demo; then
  echo "--- demo log ---"; tail -n 60 "$log"; exit 1
fi
stop_demo
status=0
wait "$demo" || status=$?
trap - EXIT
if [ "$status" != 0 ] || ! grep -q "Peakline demo stopped." "$log"; then
  echo "ci-demo: the demo did not stop cleanly (exit status $status)"; tail -n 40 "$log"; exit 1
fi
sleep 1
if left=$(pgrep -af "$work" | grep -v pgrep); then
  echo "ci-demo: processes left behind:"; echo "$left"; exit 1
fi
echo "ci-demo: passed (live dashboard in Chromium, clean stop, nothing left behind)"
rm -rf "$work"
