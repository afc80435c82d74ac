# Sourced by .ci/run. The statistics oracles (monitor/stats tests compare every statistic with SciPy,
# statsmodels and scikit-learn): a venv in .medmlops/venv with the pinned packages of
# test/oracles/requirements.txt from PyPI. Rebuilt only when the requirements change (stamp file); pip's own
# cache under ~/.cache/pip makes a rebuild on the same machine quick. Exports MEDMLOPS_ORACLE_PYTHON.
oracle_venv="$ROOT/.medmlops/venv"
oracle_req="$ROOT/test/oracles/requirements.txt"
oracle_hash=$(sha256sum "$oracle_req" | cut -d' ' -f1)
if [ "$(cat "$oracle_venv/.requirements.sha256" 2>/dev/null)" != "$oracle_hash" ]; then
  rm -rf "$oracle_venv"
  python3 -m venv "$oracle_venv"
  "$oracle_venv/bin/pip" install -q --disable-pip-version-check -r "$oracle_req"
  echo "$oracle_hash" > "$oracle_venv/.requirements.sha256"
fi
"$oracle_venv/bin/python" -c 'import numpy, scipy, statsmodels, sklearn; print("oracles: numpy", numpy.__version__, "scipy", scipy.__version__, "statsmodels", statsmodels.__version__, "scikit-learn", sklearn.__version__)'
export MEDMLOPS_ORACLE_PYTHON="$oracle_venv/bin/python"
unset oracle_venv oracle_req oracle_hash
