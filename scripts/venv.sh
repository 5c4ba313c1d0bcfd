# Sourced by the set-up scripts: create (once) and activate the project's own virtual
# environment in .venv/ (git-ignored), so nothing is installed into the system's Python.
# Reuse it by hand with `. .venv/bin/activate`.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade "pip>=24"
