#!/bin/sh
# Build {{name}}.wasm with componentize-py {{componentize_py}} (CPython in the component).
# Uses $COMPONENTIZE_PY_HOME (a `pip install --target` directory) if set, else installs it
# into .toolchain/ on first use.
set -eu
cd "$(dirname "$0")"
home="${COMPONENTIZE_PY_HOME:-.toolchain/componentize-py-{{componentize_py}}}"
if [ ! -x "$home/bin/componentize-py" ]; then
  echo "installing componentize-py {{componentize_py}} into $home"
  python3 -m pip install --quiet --disable-pip-version-check --target "$home" "componentize-py=={{componentize_py}}"
fi
PYTHONPATH="$home" python3 "$home/bin/componentize-py" -d wit -w {{world}} \
  componentize app -p . -o {{name}}.wasm
