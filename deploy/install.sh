#!/usr/bin/env bash
# Install HyFlex Live into ./.venv (Python >= 3.11). With --dev, also the test and lint tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "install: creating .venv"
  "$PYTHON" -m venv .venv
fi
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
echo "install: pip install -e .${extra} (pinned versions from pyproject.toml)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra}"
if .venv/bin/python -c 'import streaming._rtp_send' 2>/dev/null; then
  echo "install: media relay send step built (C)"
else
  echo "install: no C compiler found: the media relay sends in Python (works, more CPU per"
  echo "         receiver); install gcc and the Python headers, then run this again"
fi
echo "install: done"
