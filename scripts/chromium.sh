#!/usr/bin/env bash
# Installs headless Chromium from Debian (and the Noto CJK fonts, so that Chinese renders in
# the screenshots) for the web interface's end-to-end tests, which drive it with
# playwright-core: nothing downloads a browser. Idempotent; prints the chromium path.
#
#   bash scripts/chromium.sh
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
if [ "${#need[@]}" -gt 0 ]; then
  echo "chromium: installing ${need[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }) >&2
fi
command -v chromium
