#!/bin/sh
# Copies the pinned front-end libraries from web/node_modules into
# static/vendor and records their versions and checksums. Run through
# `make vendor-js`; the results are committed, so building never needs Node.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
out=../static/vendor
mkdir -p "$out"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp node_modules/htmx.org/LICENSE "$out/htmx.LICENSE"
cp node_modules/sortablejs/Sortable.min.js "$out/Sortable.min.js"
cp node_modules/sortablejs/LICENSE "$out/Sortable.LICENSE"
{
  echo "# Vendored front-end libraries (refresh with: make vendor-js)"
  echo "htmx.org $(node -p 'require("./node_modules/htmx.org/package.json").version') htmx.min.js sha256:$(sha256sum "$out/htmx.min.js" | cut -d' ' -f1)"
  echo "sortablejs $(node -p 'require("./node_modules/sortablejs/package.json").version') Sortable.min.js sha256:$(sha256sum "$out/Sortable.min.js" | cut -d' ' -f1)"
} > "$out/VERSIONS"
