#!/usr/bin/env bash
# Make sure a headless Chromium is available for tests/test_bench.py (it renders report.html).
# Installs the Debian packages chromium and chromium-driver when /usr/bin/chromium is absent.
# Never fails the build: without a browser (no apt, no root, no network) that one test skips
# with its reason, and everything else still runs.
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: apt-get not found; the report-rendering test will be skipped." >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure_chromium: not root and no passwordless sudo; the report-rendering test will be skipped." >&2
        exit 0
    fi
fi
echo "ensure_chromium: installing chromium and chromium-driver ..." >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver; } >/tmp/ensure_chromium.log 2>&1; then
    echo "ensure_chromium: install failed (see /tmp/ensure_chromium.log); the report-rendering test will be skipped." >&2
fi
exit 0
