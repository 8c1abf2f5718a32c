#!/bin/sh
# Build {{name}}.wasm with componentize-js (SpiderMonkey in the component). The toolchain is
# the one pinned by package-lock.json: in $INTERPOSE_JS_TOOLCHAIN if set (a directory where
# `npm ci` ran on this lockfile), else installed here with `npm ci` on first use.
set -eu
cd "$(dirname "$0")"
here="$(pwd)"
toolchain="${INTERPOSE_JS_TOOLCHAIN:-$here}"
if [ ! -d "$toolchain/node_modules/@bytecodealliance/componentize-js" ]; then
  echo "installing the JavaScript toolchain (npm ci)"
  (cd "$toolchain" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$toolchain" && node "$here/build.mjs" "$here/index.js" "$here/wit" "$here/{{name}}.wasm"
