#!/usr/bin/env bash
# Copies the parts of LiteRT.js (npm @litertjs/core 2.5.3, from web_demo/package-lock.json) the closet page
# loads into the package, fmnist_edge/demo/litertjs/, so `fmnist-edge demo` works from any install: the two
# modules, the wasm builds its loader picks without options (relaxed SIMD, and the compat build for browsers
# without it), both package.json files (they name the version and the licence) and the Apache-2.0 text.
# Run after `make tools` when the lock file moves; tests/test_web_demo.py checks the copies against
# web_demo/node_modules byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
src=web_demo/node_modules/@litertjs
dst=fmnist_edge/demo/litertjs
[ -d "$src/core/wasm" ] || { echo "LiteRT.js is not installed: run make tools" >&2; exit 2; }
rm -rf "$dst.partial"
mkdir -p "$dst.partial/core/dist" "$dst.partial/core/wasm" "$dst.partial/wasm-utils/dist"
cp "$src/core/package.json" "$dst.partial/core/"
cp "$src/core/dist/index.js" "$dst.partial/core/dist/"
for build in litert_wasm_internal litert_wasm_compat_internal; do
  cp "$src/core/wasm/$build.js" "$src/core/wasm/$build.wasm" "$dst.partial/core/wasm/"
done
cp "$src/wasm-utils/package.json" "$dst.partial/wasm-utils/"
cp "$src/wasm-utils/dist/index.js" "$dst.partial/wasm-utils/dist/"
cp /usr/share/common-licenses/Apache-2.0 "$dst.partial/LICENSE"
rm -rf "$dst"
mv "$dst.partial" "$dst"
echo "LiteRT.js vendored into $dst ($(du -sh "$dst" | cut -f1))"
