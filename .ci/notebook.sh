#!/usr/bin/env bash
# Execute examples/notebook.ipynb with Jupyter's own runner (nbclient), against the cohort just
# built, in a Python environment this script creates (and reuses) in ~/.cache/cohort-notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="${COHORT_NOTEBOOK_VENV:-$HOME/.cache/cohort-notebook}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import nbclient, ipykernel, pandas, matplotlib" 2>/dev/null; then
    python3 -m venv "$venv" || { echo "notebook: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "nbclient>=0.10,<0.11" "ipykernel>=6.29,<8" "pandas>=2.2,<3" "matplotlib>=3.8,<4"
fi
cargo build --quiet -p orchestrator --bin cohort
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
COHORT="${CARGO_TARGET_DIR:-$root/target}/debug/cohort" \
COHORT_CONFIG="$root/configs/tpe-search.toml" \
COHORT_STUDY="$work/study" \
"$venv/bin/python" - "$root/examples/notebook.ipynb" "$work" <<'PY'
import sys
import nbformat
from nbclient import NotebookClient

path, cwd = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
images = [o for o in outputs if "image/png" in o.get("data", {})]
assert len(images) >= 2, f"expected the matplotlib figure and cohort's PNG, got {len(images)} images"
text = "".join(o.get("text", "") for o in outputs)
assert "best trial" in text, text
print(f"notebook: {len([c for c in nb.cells if c.cell_type == 'code'])} cells ran, {len(images)} figures")
print("notebook: 1 passed, 0 failed")
PY
