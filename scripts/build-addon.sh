#!/usr/bin/env bash
# Builds bmlab's UDP addon (bmc-emulator/native/udp.c) into build/Release/bmlab_udp.node; `npm ci`
# runs it. It compiles against the headers of the Node that runs it (Debian's nodejs and Node's own
# tarballs ship them), so nothing is downloaded. Without a C compiler the virtual BMCs fall back to
# node:dgram, which costs more CPU per datagram: a failed build is reported, and the install goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
nodedir=${npm_config_nodedir:-$(node -p 'require("node:path").resolve(process.execPath, "../..")')}
# npm names its own node-gyp to install scripts; run by hand, the one npm ships.
gyp=${npm_config_node_gyp:-$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js}
log=$(mktemp)
if node "$gyp" rebuild --nodedir="$nodedir" >"$log" 2>&1; then
  echo "bmlab: UDP addon built (build/Release/bmlab_udp.node)"
else
  tail -n 20 "$log" >&2
  echo "bmlab: the UDP addon did not build (it needs make, gcc and python3); BMCs will use node:dgram" >&2
fi
rm -f "$log"
