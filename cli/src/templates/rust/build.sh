#!/bin/sh
# Build {{name}}.wasm: a wasm32-unknown-unknown cdylib, turned into a component by
# `interpose componentize`. Needs `rustup target add wasm32-unknown-unknown`.
set -eu
cd "$(dirname "$0")"
INTERPOSE="${INTERPOSE:-interpose}"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown
cargo build --release
target_dir="${CARGO_TARGET_DIR:-target}"
"$INTERPOSE" componentize "$target_dir/wasm32-unknown-unknown/release/{{crate}}.wasm" -o {{name}}.wasm
echo "built {{name}}.wasm"
