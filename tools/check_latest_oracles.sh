#!/usr/bin/env bash
# Run the oracle tests against the NEWEST releases of the test oracles, on purpose.
# pyproject's `test` extra pins every oracle exactly, so the suite does not change under us;
# this script is how an upgrade is tried: a throwaway venv gets hwsim (its runtime
# dependencies as pyproject allows them) and the newest release of every package in the test
# extra, prints the versions it got, and runs every test file that imports an oracle.
# Usage (from anywhere): tools/check_latest_oracles.sh [--keep] [extra pytest args]
# A failure here means an oracle changed: decide, then move the pin in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
if [[ ${1:-} == --keep ]]; then keep=1; shift; fi
venv=$(mktemp -d "${TMPDIR:-/tmp}/hwsim-latest-oracles.XXXXXX")
[[ $keep == 1 ]] || trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
py="$venv/bin/python"
# the test extra's names, version pins dropped (markers kept), read from pyproject itself
mapfile -t oracles < <("$py" - <<'PY'
import re, tomllib
extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]
for req in extra:
    name, _, marker = req.partition(";")
    name = re.split(r"[=<>!~ \[]", name.strip(), maxsplit=1)[0]
    print(name + (f"; {marker.strip()}" if marker else ""))
PY
)
"$py" -m pip install -q torch==2.13.0  # pinned as in README: an unpinned torch is a CUDA build
"$py" -m pip install -q -e .
"$py" -m pip install -q --upgrade "${oracles[@]}"
echo "newest oracle releases:"
"$py" -m pip list 2>/dev/null | grep -iE "^($(printf '%s|' "${oracles[@]%%;*}" | sed 's/[-_]/[-_]/g; s/|$//')) " || true
mapfile -t tests < <(grep -lE "^(import|from) (ml_dtypes|gfloat|apytypes)|importorskip\(\"(ml_dtypes|apytypes|gfloat)\"" tests/unit/*.py)
echo "oracle tests: ${tests[*]}"
"$py" -m pytest -q -p no:cacheprovider "${tests[@]}" "$@"
