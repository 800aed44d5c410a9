# ./run bench: every benchmark, each measured against its anchor in the same run. No asserts.
set -euo pipefail
for script in bench/bench_*.py; do
  echo "== $script"
  python "$script"
  echo
done
