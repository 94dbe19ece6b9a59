# The multiprocessing examples, linked with libweft.so: the spawn start
# method's bootstrap runs the task from the program's WEFT_TASK constructor
# (the shared library's constructors run first), and main never runs in the
# child.
set -euo pipefail
ex="$WEFT_BUILD_DIR/examples"
[ -d "$ex" ] || { echo "no examples built; skipping"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

out=$("$ex/mp_processes")
[ "$(grep -c 'is running' <<<"$out")" = 5 ] || fail "five workers: $out"
[ "$(grep -c 'exited with 0' <<<"$out")" = 5 ] || fail "five exits: $out"

out=$("$ex/mp_process_arg")
grep -q 'Argument passed to process: example (in Process-1, child of' <<<"$out" || fail "spawn: $out"
[ "$(grep -c 'exited with 0' <<<"$out")" = 1 ] || fail "main ran in the child: $out"
out=$("$ex/mp_pipe")
grep -q 'parent got: hello from the child' <<<"$out" || fail "pipe: $out"
grep -q 'child got: thanks' <<<"$out" || fail "pipe: $out"
grep -q 'then: WEFT_EEOF' <<<"$out" || fail "pipe eof: $out"
out=$("$ex/mp_queue")
[ "$(grep -c '^got item' <<<"$out")" = 5 ] || fail "queue: $out"
echo ok
