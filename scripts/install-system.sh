#!/usr/bin/env bash
# System packages and services Peakline needs on a Debian machine: Python's venv and headers
# (stock Debian ships neither with python3), a C++ toolchain and CMake (the extension),
# Mosquitto (broker), Chromium + chromedriver (dashboard tests; PEAKLINE_BROWSER=0 skips them)
# and PostgreSQL (PEAKLINE_POSTGRES=0 skips it), started when it is not running.
set -euo pipefail
need=()
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
python3 - <<'PY' || need+=(python3-dev)
import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY
command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
if [ "${PEAKLINE_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
if [ "${PEAKLINE_POSTGRES:-1}" = 1 ]; then
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
fi
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v git >/dev/null 2>&1 || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
if [ "${PEAKLINE_POSTGRES:-1}" = 1 ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  cluster=$(ls /etc/postgresql | sort -V | tail -n1)
  $sudo pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
