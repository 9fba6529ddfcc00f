#!/usr/bin/env bash
# Run import-linter (the [tool.importlinter] contracts in pyproject.toml) on the installed layout.
# The editable install maps registry/, core/ and plugins/ onto genzoo, genzoo.core and genzoo.plugins
# through an import hook that grimp cannot walk, so we lay out a plain copy of that package tree
# (every .py file, at any depth: genzoo.cli.cmd_train, genzoo.core.metrics.extractors.base, ...)
# and point PYTHONPATH at it. tests/test_architecture.py checks the same rules without import-linter.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
stage_tree() {  # stage_tree SRC_FOLDER DEST_FOLDER: the .py files only, folders kept
    (cd "$1" && find . -name __pycache__ -prune -o -name '*.py' -print) | while read -r file; do
        mkdir -p "$2/$(dirname "$file")"
        cp "$1/$file" "$2/$file"
    done
}
stage_tree "$root/registry" "$stage/genzoo"
stage_tree "$root/core" "$stage/genzoo/core"
stage_tree "$root/plugins" "$stage/genzoo/plugins"
# grimp finds modules through packages: a folder of .py files without an __init__.py would be skipped silently.
missing="$(cd "$stage" && find genzoo -mindepth 1 -type d ! -exec test -e '{}/__init__.py' ';' -print)"
if [ -n "$missing" ]; then
    echo "lint_imports.sh: these folders have .py files but no __init__.py, so no contract would see them:" >&2
    echo "$missing" >&2
    exit 1
fi
cd "$stage"
PYTHONPATH="$stage" "$root/.venv/bin/lint-imports" "$root/pyproject.toml"
