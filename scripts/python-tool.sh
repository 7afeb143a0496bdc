#!/usr/bin/env bash
# Installs a Python command-line tool the tests use (from PyPI, at a pinned version) into a
# virtualenv cached outside the repository, and prints the path of its command. Idempotent: a
# second run only prints the path.
#
#   bash scripts/python-tool.sh schemathesis   # Schemathesis: fuzzes the API from its OpenAPI document (st)
#   bash scripts/python-tool.sh bagit          # the Library of Congress BagIt validator (bagit.py)
set -euo pipefail

case "${1:-}" in
  schemathesis) PACKAGE=schemathesis VERSION=4.32.5 COMMAND=st ;;
  bagit) PACKAGE=bagit VERSION=1.9.0 COMMAND=bagit.py ;;
  *) echo "usage: bash scripts/python-tool.sh <schemathesis|bagit>" >&2; exit 2 ;;
esac

CACHE=${EVIDOCK_TOOLS_CACHE:-$HOME/.cache/evidock}
VENV="$CACHE/$PACKAGE-$VERSION"
BIN="$VENV/bin/$COMMAND"

if [ -x "$BIN" ] && [ -f "$VENV/.installed" ]; then
  printf '%s\n' "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "$PACKAGE: installing python3-venv" >&2
  (apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }) >&2
fi
rm -rf "$VENV"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE==$VERSION" >&2
"$BIN" --version >&2
touch "$VENV/.installed"
printf '%s\n' "$BIN"
