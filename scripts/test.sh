#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the whole suite
# (fault scenarios and the headless-Chromium dashboard tests included).
# Pass pytest options after the script name, e.g. `bash scripts/test.sh -m "not faults"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
python3 -m pip install -q --upgrade "pip>=24" "scikit-build-core>=0.10" "pybind11>=2.13"
python3 -m pip install -q -e ".[test]" --no-build-isolation -Cbuild-dir=build
ruff check .
mypy
# the plain C++ core on its own (no Python), then the whole Python suite
cmake -S . -B build/cpp-tests -DPEAKLINE_CPP_TESTS=ON > /dev/null
cmake --build build/cpp-tests -j2 > /dev/null
build/cpp-tests/peakline_core_test
python3 -m pytest "$@"
