#!/usr/bin/env bash
# Installs Schemathesis (property-based API testing driven by an OpenAPI document, from PyPI)
# into a virtualenv cached outside the repository, at the pinned version; prints the path of
# its `st` command. Idempotent: a second run only prints the path.
#
#   bash scripts/schemathesis.sh            # install if missing, print the st path
set -euo pipefail

VERSION=4.32.5
CACHE=${EVIDOCK_TOOLS_CACHE:-$HOME/.cache/evidock}
VENV="$CACHE/schemathesis-$VERSION"
ST="$VENV/bin/st"

if [ -x "$ST" ] && [ -f "$VENV/.installed" ]; then
  printf '%s\n' "$ST"
  exit 0
fi

mkdir -p "$CACHE"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "schemathesis: installing python3-venv" >&2
  (apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }) >&2
fi
rm -rf "$VENV"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
"$ST" --version >&2
touch "$VENV/.installed"
printf '%s\n' "$ST"
