#!/usr/bin/env bash
# Entry point of `npm run demo`, `npm test`, `npm run bench`, `npm run simulate` and `npm run chaos`:
#
#   bash scripts/run.sh demo  [args]   node bin/evidock.js demo [args]
#   bash scripts/run.sh test  [args]   npx vitest run [args]     (e.g. --project unit, a file name)
#   bash scripts/run.sh bench [args]   npx tsx scripts/bench.ts [args]
#   bash scripts/run.sh simulate [args]  npx tsx scripts/simulate.ts [args]   (e.g. --workstations 100 --minutes 5)
#   bash scripts/run.sh chaos [args]   npx tsx scripts/chaos.ts [args]   (e.g. --quick)
#
# Before that it makes the pinned LTS Node.js (.node-version) the `node` on PATH when the
# machine's is older (scripts/node.sh), installs node_modules when missing, older than
# package-lock.json / package.json or built for another Node.js, starts the local stack
# (scripts/stack.sh up; reuses a running one) and compiles the sources to dist/
# (scripts/build.mjs), which the evidock command runs.
# EVIDOCK_REDIS_PORT / EVIDOCK_PG_PORT / EVIDOCK_MINIO_PORT move the stack and are passed on
# to evidock as EVIDOCK__redis__port etc. unless those are set explicitly.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

usage() { printf 'usage: bash scripts/run.sh <demo|test|bench|simulate|chaos> [args]\n' >&2; exit 2; }
[ "$#" -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in demo | test | bench | simulate | chaos) ;; *) usage ;; esac

# The stack first: it also installs the Debian packages (libudev-dev for the optional USB
# listener's native build) that npm install needs.
bash scripts/stack.sh up

# shellcheck source=scripts/node.sh
. scripts/node.sh
evidock_node_setup
echo "run: Node.js $(node -p 'process.versions.node') ($EVIDOCK_NODE)"

# npm writes node_modules/.package-lock.json on every install; it is our "installed at" stamp.
stamp=node_modules/.package-lock.json
# Native modules (sharp's libvips binding is N-API; usb-detection is built here) belong to the
# Node.js that installed them: a checkout installed under another version is rebuilt.
abi_stamp=node_modules/.evidock-node-abi
abi=$(node -p 'process.versions.modules')
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; } || [ package.json -nt "$stamp" ]; then
  # `npm install --no-save` installs exactly the versions pinned in package-lock.json and
  # leaves it untouched. Not `npm ci`: npm 11 writes lockfiles without other platforms'
  # optional packages (darwin/win32 builds of rollup, msgpackr-extract) and its own `ci`
  # then refuses them as out of sync.
  echo "run: npm install (pinned by package-lock.json)"
  npm install --no-save --no-audit --no-fund
  touch "$stamp"
  printf '%s\n' "$abi" >"$abi_stamp"
elif [ "$(cat "$abi_stamp" 2>/dev/null)" != "$abi" ]; then
  echo "run: npm rebuild (node_modules was installed for another Node.js)"
  npm rebuild
  printf '%s\n' "$abi" >"$abi_stamp"
fi

# The evidock command runs dist/ only while it is newer than every source (bin/evidock.js);
# building here means the demo, the tests' child processes, the bench and the chaos suite
# run what production runs. tsc takes about 6 s.
node scripts/build.mjs

[ -n "${EVIDOCK_REDIS_PORT:-}" ] && export EVIDOCK__redis__port=${EVIDOCK__redis__port:-$EVIDOCK_REDIS_PORT}
[ -n "${EVIDOCK_PG_PORT:-}" ] && export EVIDOCK__postgres__port=${EVIDOCK__postgres__port:-$EVIDOCK_PG_PORT}
[ -n "${EVIDOCK_MINIO_PORT:-}" ] && export EVIDOCK__minio__port=${EVIDOCK__minio__port:-$EVIDOCK_MINIO_PORT}

case "$cmd" in
  test) exec npx --no-install vitest run "$@" ;;
  demo) exec node bin/evidock.js demo "$@" ;;
  bench) exec npx --no-install tsx scripts/bench.ts "$@" ;;
  simulate) exec npx --no-install tsx scripts/simulate.ts "$@" ;;
  chaos) exec npx --no-install tsx scripts/chaos.ts "$@" ;;
esac
