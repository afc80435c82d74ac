#!/usr/bin/env bash
# The Evidently peer of bench/monitor.bench.ts, in a venv of its own (not the CI oracle venv: CI's cold time is
# unchanged). evidently 0.7.23 installs with pandas 3, then fails at import (it imports
# pandas.core.dtypes.common.infer_dtype_from_object, gone in pandas 3): pandas is held below 3.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.medmlops/evidently-venv
python3 -m venv "$venv"
"$venv/bin/pip" install --disable-pip-version-check --progress-bar off "evidently==0.7.23" "pandas<3"
"$venv/bin/python" -c 'import evidently; print("evidently", evidently.__version__)'
