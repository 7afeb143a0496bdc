# Sourced by scripts/run.sh (and by anything else that runs evidock's tools): makes the `node`
# on PATH a supported LTS Node.js.
#
# The version is pinned in .node-version. A machine whose own node is older than that pin's
# major version (Node 20 reached its end of life in April 2026) gets the pinned build from
# the npm registry (package node-linux-<arch>, checked against the registry's integrity
# hash by npm), unpacked once into $EVIDOCK_TOOLS_CACHE/node/v<version> (default
# ~/.cache/evidock), outside the repository, and put first on PATH. The machine's node is
# kept when it is already that major version or newer.
#
# Exports PATH, npm_config_nodedir (node-gyp builds native modules against the headers that
# come with the node in use, instead of downloading them) and EVIDOCK_NODE (the node chosen).

evidock_node_setup() {
  local root pin major arch cache dir tmp tgz have
  root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
  pin=$(tr -d ' \n\r' <"$root/.node-version")
  major=${pin%%.*}
  cache=${EVIDOCK_TOOLS_CACHE:-${HOME:-/root}/.cache/evidock}
  dir=$cache/node/v$pin

  have=$(node -p 'process.versions.node' 2>/dev/null || true)
  if [ -n "$have" ] && [ "${have%%.*}" -ge "$major" ] 2>/dev/null; then
    EVIDOCK_NODE=$(node -p 'process.execPath')
    export EVIDOCK_NODE
    # Without nodedir, node-gyp offline falls back to whatever headers it finds (Debian's
    # Node 20 in /usr/include/node) and builds usb-detection for the wrong ABI.
    local prefix
    prefix=$(dirname -- "$(dirname -- "$EVIDOCK_NODE")")
    if [ -f "$prefix/include/node/node.h" ]; then export npm_config_nodedir="$prefix"; fi
    return 0
  fi

  if [ ! -x "$dir/bin/node" ]; then
    case "$(uname -m)" in
      x86_64 | amd64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) printf 'node: no Node.js %s build for %s in the npm registry\n' "$pin" "$(uname -m)" >&2; return 1 ;;
    esac
    printf 'node: this machine has Node.js %s; installing the pinned LTS %s from the npm registry into %s\n' "${have:-none}" "$pin" "$dir"
    mkdir -p "$cache/node"
    tmp=$(mktemp -d "$cache/node/.v$pin.XXXXXX")
    # npm pack downloads the tarball and checks it against the registry's integrity hash.
    if ! tgz=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$pin"); then
      rm -rf "$tmp"
      printf 'node: could not fetch node-linux-%s@%s from the npm registry\n' "$arch" "$pin" >&2
      return 1
    fi
    mkdir -p "$tmp/x"
    tar -xzf "$tmp/$tgz" -C "$tmp/x" --strip-components=1
    chmod +x "$tmp/x/bin/node"
    if [ "$("$tmp/x/bin/node" -p 'process.versions.node')" != "$pin" ]; then
      rm -rf "$tmp"
      printf 'node: the unpacked node is not version %s\n' "$pin" >&2
      return 1
    fi
    rm -rf "$dir"
    mv "$tmp/x" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  export EVIDOCK_NODE="$dir/bin/node"
}
