#!/usr/bin/env bash
# Run import-linter on the installed layout. The editable install maps registry/, core/ and
# plugins/ onto genzoo, genzoo.core and genzoo.plugins through an import hook that grimp
# cannot walk, so we lay out a plain copy of that package tree and point PYTHONPATH at it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/genzoo"
cp "$root"/registry/*.py "$stage/genzoo/"
for sub in "$root"/registry/*/__init__.py; do  # subpackages of genzoo (e.g. genzoo.benchmark)
    [ -e "$sub" ] && cp -r "$(dirname "$sub")" "$stage/genzoo/"
done
cp -r "$root/core" "$stage/genzoo/core"
cp -r "$root/plugins" "$stage/genzoo/plugins"
cd "$stage"
PYTHONPATH="$stage" "$root/.venv/bin/lint-imports" --config "$root/pyproject.toml"
