#!/bin/sh
# Build {{name}}.wasm: clang for wasm32-wasi (reactor, wasi-libc), then `interpose
# componentize` (which adapts wasi-libc's preview1 imports to WASI 0.2). Debian:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
# bindings/ is what `wit-bindgen c --world interceptor wit/` generates; `interpose new`
# wrote it. Regenerate it if you update wit/.
set -eu
cd "$(dirname "$0")"
INTERPOSE="${INTERPOSE:-interpose}"
CC="${CC:-clang}"
"$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wl,-z,stack-size=131072 \
  -I . -I bindings -o {{name}}.core.wasm \
  guest.c bindings/interceptor.c bindings/interceptor_component_type.o
"$INTERPOSE" componentize {{name}}.core.wasm -o {{name}}.wasm
rm -f {{name}}.core.wasm
echo "built {{name}}.wasm"
