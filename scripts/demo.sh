# ./run demo: prove the model's properties, show every mutant killed, then judge bundled traces.
set -euo pipefail
echo "== tlsmodel check: the model's properties, proved with z3"
tlsmodel check
echo
echo "== tlsmodel check --mutants: each known state-machine bug is caught by a property"
tlsmodel check --mutants
echo
echo "== tlsmodel traces --count: legal ECDHE-RSA handshakes of at most 16 messages"
tlsmodel traces --suite TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 --count
echo
echo "== tlsmodel oracle: bundled handshakes (three are known attacks, listed as expected failures)"
tlsmodel oracle examples/handshakes.jsonl --expect-failures examples/known-failures.txt
echo
echo "== tlsmodel diagram: the FREAK deviation drawn on the state diagram, and its sequence chart"
tlsmodel diagram --trace examples/handshakes.jsonl --id freak-server-key-exchange-under-rsa --out out/
