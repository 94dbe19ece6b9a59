# The queue example runs, exits 0 and prints what the seed program prints.
set -euo pipefail
ex="$WEFT_BUILD_DIR/examples"
[ -d "$ex" ] || { echo "no examples built; skipping"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

out=$("$ex/queue_producer_consumer")
[ "$(head -2 <<<"$out")" = $'1\n2' ] || fail "producer_consumer: $out"
grep -q "^all jobs done: sum 499500 (expected 499500)$" <<<"$out" || fail "producer_consumer: $out"
[ "$(grep -c '^consumer-[0-2] handled [0-9]* jobs$' <<<"$out")" = 3 ] || fail "producer_consumer: $out"
echo ok
