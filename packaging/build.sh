#!/usr/bin/env bash
# Builds ModelVet for machines without Python: a one-folder program with PyInstaller.
#   packaging/build.sh [DIST_DIR]        -> DIST_DIR/modelvet/modelvet (default DIST_DIR: dist/)
# PYTHON names the interpreter whose environment holds ModelVet's dependencies and PyInstaller
# (`pip install -e '.[test]'`); by default the checkout's .venv that `make run` creates.
# MODELVET_BUILD_DIR moves PyInstaller's work files (default: build/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)"
work="${MODELVET_BUILD_DIR:-$root/build}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
if ! "$python" -m PyInstaller --version >/dev/null 2>&1; then
    echo "build.sh: PyInstaller is not installed for $python (pip install -e '.[test]')" >&2
    exit 2
fi
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work" "$root/packaging/modelvet.spec"
echo "built $dist/modelvet/"
