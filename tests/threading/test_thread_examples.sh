# The threading examples run, exit 0 and print what the seed programs print.
set -euo pipefail
ex="$WEFT_BUILD_DIR/examples"
[ -d "$ex" ] || { echo "no examples built; skipping"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

out=$("$ex/thread_workers")
for i in 0 1 2 3 4; do
	grep -q "^Worker $i is running in Thread-" <<<"$out" || fail "workers: $out"
done
grep -q "^all joined; 1 thread alive" <<<"$out" || fail "workers: $out"

out=$("$ex/thread_print_numbers")
[ "$out" = $'0\n1\n2\n3\n4\nMain thread continues...' ] || fail "print_numbers: $out"

out=$("$ex/thread_async_zip")
[ "$(head -1 <<<"$out")" = "The main program continues to run in foreground." ] || fail "async_zip: $out"
grep -q "^Finished background zip of: /tmp/weft-mydata-" <<<"$out" || fail "async_zip: $out"
[ "$(tail -1 <<<"$out")" = "Main program waited until background was done." ] || fail "async_zip: $out"
ls /tmp/weft-mydata-* >/dev/null 2>&1 && fail "async_zip left its files" || true

out=$("$ex/thread_lock_counter")
[ "$out" = "counter = 400000 (expected 400000)" ] || fail "lock_counter: $out"

out=$("$ex/thread_start_new_thread")
[ "$(grep -c '^Thread-1: tick' <<<"$out")" = 5 ] || fail "start_new_thread: $out"
[ "$(grep -c '^Thread-2: tick' <<<"$out")" = 5 ] || fail "start_new_thread: $out"
[ "$(tail -1 <<<"$out")" = "both threads finished" ] || fail "start_new_thread: $out"

out=$("$ex/thread_timer")
[ "$(head -1 <<<"$out")" = "second timer cancelled in time: yes" ] || fail "timer: $out"
grep -q "^hello, world (after 0\.[1-9]" <<<"$out" || grep -q "^hello, world (after [1-9]" <<<"$out" || fail "timer: $out"
grep -q never <<<"$out" && fail "timer: the cancelled timer fired: $out"
echo ok
