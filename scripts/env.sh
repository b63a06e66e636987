# Sourced by the scripts in this folder (from the repo root): `python3` is the machine's own interpreter, the one
# that has (or installs) uv, even when a script runs inside the project's environment (`uv run` puts .venv/bin
# first on PATH, and that Python has no pip).
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx "$PWD/.venv/bin" | paste -sd: -)"
unset VIRTUAL_ENV
export PATH
