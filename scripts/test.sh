# ./run test: lint, then the whole suite (real OpenSSL/GnuTLS/tshark/dot on loopback).
# Extra arguments go to pytest, e.g.  ./run test -k oracle  or  ./run test --slow
set -euo pipefail
ruff check .
ruff format --check --quiet . || { echo "ruff format: run 'ruff format .'" >&2; exit 1; }
exec python -m pytest "$@"
