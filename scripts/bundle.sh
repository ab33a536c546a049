#!/usr/bin/env bash
# Bundles the CLI and the supervisor into dist/cli/main.mjs and
# dist/runtime/supervisor-main.mjs with esbuild, so `umlab` starts in plain Node instead of compiling TypeScript through
# tsx's loader on every run. bin/umlab calls it when a source file is newer than the
# bundle; tests and development run the sources with tsx directly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tmp="$(mktemp -d "$ROOT/dist/.bundle.XXXXXX" 2>/dev/null || { mkdir -p "$ROOT/dist" && mktemp -d "$ROOT/dist/.bundle.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
# Two levels below the root, like src/<dir>/<file>.ts, so paths relative to
# import.meta.url (../../web/, ../runtime/) mean the same in the bundle.
# The npm packages go in too: one file loads twice as fast as Node resolving each of
# their modules. Their CommonJS parts `require` Node's modules through the banner's require.
# better-sqlite3 stays outside: its native addon is found relative to its own files.
# Split: what the commands (src/cli/commands/index.ts) and segment engines load when they run
# goes into chunks of its own, dist/chunks/ (two levels down too), named by their content.
node_modules/.bin/esbuild src/cli/main.ts src/runtime/supervisor-main.ts \
  --bundle --splitting --chunk-names='chunks/[name]-[hash]' --platform=node --format=esm --target=node20 --external:better-sqlite3 \
  "--banner:js=import { createRequire as umlabCreateRequire } from 'node:module'; const require = umlabCreateRequire(import.meta.url);" \
  --outdir="$tmp" --out-extension:.js=.mjs --log-level=warning
mkdir -p dist/cli dist/runtime dist/chunks
# rename(2) per file: a umlab starting meanwhile sees the old file or the new one, never half;
# the chunks first, so every entry finds the chunks it names.
for chunk in "$tmp"/chunks/*.mjs; do mv -f "$chunk" dist/chunks/; done
mv -f "$tmp/runtime/supervisor-main.mjs" dist/runtime/supervisor-main.mjs
mv -f "$tmp/cli/main.mjs" dist/cli/main.mjs
# Every chunk of this bundle was just written; those of older bundles stay a week, as a
# long-running umlab (a class server, a supervisor) may still load one of its own.
find dist/chunks -name '*.mjs' -mtime +7 -delete
