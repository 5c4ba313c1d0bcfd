#!/usr/bin/env bash
# System packages and services Peakline needs on a Debian machine: Mosquitto (broker),
# Chromium + chromedriver (dashboard tests), and a running PostgreSQL when one is installed.
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
if [ "${PEAKLINE_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
# PostgreSQL is optional for the demo (SQLite is the default) but the tests run on both.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
