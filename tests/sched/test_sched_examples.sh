# The sched examples run in virtual time: instantly, with exact times.
set -euo pipefail
ex="$WEFT_BUILD_DIR/examples"
[ -d "$ex" ] || { echo "no examples built; skipping"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

start=$(date +%s%N)
out=$("$ex/sched_delayed_task")
end=$(date +%s%N)
want=$'Running the task! (entered 2 seconds ahead, at t = 2.0 s)
Running the task! (entered 5 seconds ahead, at t = 5.0 s)
queue empty: yes, virtual time now 5.0 s'
[ "$out" = "$want" ] || fail "delayed task: $out"
[ $(((end - start) / 1000000)) -lt 2000 ] || fail "virtual time took real time"

out=$("$ex/sched_periodic")
want=$'beat 1 at t = 0.5 s
beat 2 at t = 1.0 s
beat 3 at t = 2.5 s
beat 4 at t = 3.0 s'
[ "$out" = "$want" ] || fail "periodic: $out"
echo ok
