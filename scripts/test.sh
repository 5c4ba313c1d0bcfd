#!/usr/bin/env bash
# Install everything the tests need (system packages, then the package with its test extra in
# .venv/, editable), lint, type-check and run the whole suite (fault scenarios and
# the headless-Chromium dashboard tests included).
# Pass pytest options after the script name, e.g. `bash scripts/test.sh -m "not faults"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
. scripts/venv.sh
python -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.13"
python -m pip install -q -e ".[test]" --no-build-isolation -Cbuild-dir=build
rm -f .venv/peakline-installed  # the editable install replaced the demo's plain one
ruff check .
mypy
# the plain C++ core on its own (no Python), then the whole Python suite
cmake -S . -B build/cpp-tests -DPEAKLINE_CPP_TESTS=ON > /dev/null
cmake --build build/cpp-tests -j2 > /dev/null
build/cpp-tests/peakline_core_test
# the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (about a minute)
cmake -S . -B build/cpp-asan -DPEAKLINE_CPP_TESTS=ON -DPEAKLINE_SANITIZE=ON > /dev/null
cmake --build build/cpp-asan -j2 > /dev/null
build/cpp-asan/peakline_core_test
python -m pytest "$@"
