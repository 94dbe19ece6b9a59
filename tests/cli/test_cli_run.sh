#!/usr/bin/env bash
# weft: running jobs: slots, exit status, errors, timeouts, retries,
# --delay, --halt, signals, joblog and resume.
source "$(dirname "$0")/lib.sh"

t_exit_status_counts_failures() {
	eq "$(rc weft 'exit {}' ::: 0 0)" 0
	eq "$(rc weft 'exit {}' ::: 0 1 2 3)" 3
	eq "$(rc weft -j4 'exit 1' ::: $(seq 150))" 101
	eq "$(rc weft 'kill -9 $$' ::: 1)" 1
}

t_usage_errors_are_one_line() {
	for args in "--no-such-option echo" "-Z echo" "--jobs" "-j x echo ::: a" "--halt sometimes echo ::: a" \
		"--timeout -1 echo ::: a" "--resume echo ::: a" "echo :::: missing-file" "-a missing-file echo"; do
		s=0
		weft $args >out 2>err </dev/null || s=$?
		eq "$s" 255 "exit status of weft $args"
		eq "$(wc -l <err)" 1 "lines of error for weft $args: $(cat err)"
		grep -q '^weft: ' err || fail "no 'weft:' prefix: $(cat err)"
		eq "$(cat out)" "" "stdout of weft $args"
	done
	weft --no-such-option echo 2>err || true
	grep -q -- '--no-such-option' err || fail "option not named: $(cat err)"
	weft echo :::: missing-file 2>err || true
	grep -q 'missing-file' err || fail "file not named: $(cat err)"
}

t_missing_command() {
	# Nothing to run and nothing on the command line to read: at a
	# terminal that is a usage error (elsewhere stdin lines are commands).
	command -v script >/dev/null || return 0
	s=0
	script -qec "weft -j2" /dev/null </dev/null >out || s=$?
	eq "$s" 255
	grep -q '^weft: missing command' out || fail "$(cat out)"
}

t_help_and_version() {
	weft --help >out
	grep -q '^Usage: weft' out || fail "no usage"
	eq "$(weft --version)" "weft ${WEFT_VERSION:-$(weft --version | cut -d' ' -f2)}"
	weft --version | grep -qE '^weft [0-9]+\.[0-9]+\.[0-9]+$' || fail "bad version"
}

t_job_slots() {
	# Jobs block until all N of them run at once: proves N slots.
	cat >barrier <<-EOF
		#!/bin/sh
		touch "in.\$1"; i=0
		while [ \$(ls in.* | wc -l) -lt \$2 ]; do
			i=\$((i + 1)); [ \$i -gt $((1000 * SLOW)) ] && exit 9; sleep 0.01
		done
	EOF
	chmod +x barrier
	weft -j3 ./barrier {} 3 ::: a b c
	rm -f in.*
	weft -j0 ./barrier {} 5 ::: a b c d e
	rm -f in.*
	ncpu=$(nproc)
	weft -j 100% ./barrier {} "$ncpu" ::: $(seq "$ncpu")
	rm -f in.*
	weft ./barrier {} "$ncpu" ::: $(seq "$ncpu")
	rm -f in.*
	weft -j +1 ./barrier {} $((ncpu + 1)) ::: $(seq $((ncpu + 1)))
}

t_timeout_kills_the_whole_tree() {
	start=$(date +%s.%N)
	s=0
	weft -n0 --joblog log --timeout 0.3 \
		'sh -c "echo \$\$ >gc1; exec sleep 60" & sh -c "trap \"\" TERM; echo \$\$ >gc2; sleep 60" & wait' ::: 1 \
		2>err || s=$?
	eq "$s" 1
	grep -q 'timed out' err || fail "no timeout message: $(cat err)"
	awk -F'\t' 'NR == 2 { print $7, $8 }' log >ev
	eq "$(cat ev)" "-1 15"
	wait_gone "$(cat gc1)"
	wait_gone "$(cat gc2)"
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 0.3) }' || fail "returned before the timeout"
}

t_timeout_percent_of_median() {
	# The median of the successful runs is 0.2 s: 500% of it (1 s) stops
	# the long job long before it ends, and leaves the short ones alone
	# even on a loaded machine under a sanitizer (a 0 s median would make
	# the limit a few milliseconds, which a short job can exceed).
	s=0
	weft -j1 --joblog log --timeout 500% 'sleep {}' ::: 0.2 0.2 0.2 30 2>/dev/null || s=$?
	eq "$s" 1
	eq "$(awk -F'\t' 'NR == 5 { print $7 }' log)" "-1"
}

t_termseq() {
	s=0
	weft -n0 --timeout 0.2 --termseq INT,5000,KILL \
		'trap "echo got INT; exit 3" INT; sleep 30 & wait' ::: x >out 2>/dev/null || s=$?
	eq "$s" 1
	eq "$(cat out)" "got INT"
}

t_timeout_lets_fast_jobs_be() {
	eq "$(weft -k --timeout 10 echo ::: a b)" $'a\nb'
}

t_retries() {
	eq "$(rc weft -n0 --retries 3 'echo x >>count; exit 1' ::: a)" 1
	eq "$(wc -l <count)" 3
	rm count
	# Succeeds at the second try: only that output is printed.
	eq "$(weft -n0 --retries 3 'echo x >>count; n=$(wc -l <count); echo try $n; [ $n -ge 2 ]' ::: a)" "try 2"
}

t_delay_spaces_starts() {
	start=$(date +%s.%N)
	weft -j3 --delay 0.2 true ::: a b c
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 0.4) }' || fail "jobs started too soon"
}

t_halt_now_fail() {
	s=0
	weft -j1 --halt now,fail=1 'exit {}' ::: 0 3 0 2>err || s=$?
	eq "$s" 3
	grep -q 'This job failed' err || fail "$(cat err)"
	# now: the running job is killed, its output dropped.
	s=0
	weft -j2 --halt now,fail=1 --joblog log \
		'if [ {} = slow ]; then echo $$ >slow.pid; sleep 60; else waitfor slow.pid; exit 4; fi' \
		::: slow fast >out 2>/dev/null || s=$?
	eq "$s" 4
	wait_gone "$(cat slow.pid)"
	eq "$(awk 'NR > 1' log | wc -l)" 1
}

t_halt_soon_waits() {
	s=0
	weft -j2 --halt soon,fail=1 'sleep 0.{}; exit {}' ::: 1 3 5 7 >out 2>err || s=$?
	eq "$s" 1
	grep -q 'Starting no more jobs' err || fail "$(cat err)"
}

t_halt_success_and_percent() {
	eq "$(rc weft -j1 --halt now,success=1 'exit {}' ::: 3 0 2 2>/dev/null)" 0
	eq "$(rc weft -j1 --halt soon,fail=2 'exit {}' ::: 0 3 2 4 2>/dev/null)" 2
	eq "$(rc weft -j1 --halt now,fail=50% 'exit {}' ::: 0 3 2 0 0 0 2>/dev/null)" 34
	eq "$(rc weft -j1 --halt 2 'exit {}' ::: 0 5 1 2>/dev/null)" 5
}

t_joblog_format() {
	weft --joblog log -k 'echo {}; exit {}' ::: 0 1 'a b' 2>/dev/null || true
	eq "$(head -1 log)" $'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand'
	eq "$(awk 'END { print NR }' log)" 4
	# seq, host, start, runtime, send, receive, exitval, signal, command
	awk -F'\t' 'NR > 1 {
		if (NF != 9 || $1 !~ /^[0-9]+$/ || $2 != ":" || $3 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ ||
		    $4 !~ /^ *[0-9]+\.[0-9][0-9][0-9]$/ || length($4) != 10 || $5 != "0") { print "bad: " $0; exit 1 }
		print $1, $6, $7, $8, $9 }' log | sort >fields
	eq "$(cat fields)" $'1 2 0 0 echo 0; exit 0\n2 2 1 0 echo 1; exit 1\n3 4 2 0 echo \'a b\'; exit \'a b\''
	weft --joblog log2 'kill -9 $$' ::: 1 || true
	eq "$(awk -F'\t' 'NR == 2 { print $7, $8 }' log2)" "0 9"
	# +file appends
	weft --joblog +log2 true ::: x
	eq "$(wc -l <log2)" 3
}

t_resume() {
	weft --joblog log -j1 'exit {}' ::: 0 1 0 1 || true
	eq "$(weft --resume --joblog log -j1 -k 'echo {}; exit {}' ::: 0 1 0 1 0 2 2>/dev/null)" $'0\n2'
	eq "$(awk 'NR > 1 { print $1 }' log | tr '\n' ' ')" "1 2 3 4 5 6 "
	eq "$(weft --resume-failed --joblog log -j1 -k 'echo {}; exit 0' ::: 0 1 0 1 0 2)" $'1\n1\n2'
	eq "$(weft --resume-failed --joblog log -j1 -k 'echo {}; exit 0' ::: 0 1 0 1 0 2)" ""
	printf 'Seq\tHost\nnot a line\n' >bad
	eq "$(rc weft --resume --joblog bad true ::: a 2>/dev/null)" 255
}

t_sigint_passes_on_and_cleans_up() {
	# env --default-signal: a background job of a script ignores SIGINT.
	env --default-signal=INT weft -j2 --joblog log \
		'echo $$ >p.{}; sh -c "echo \$\$ >gc.{}; sleep 60" & wait' ::: 1 2 >out 2>err &
	pid=$!
	wait_for gc.1; wait_for gc.2; wait_for p.1; wait_for p.2
	kill -INT $pid
	s=0
	wait $pid || s=$?
	eq "$s" 130
	for f in p.1 p.2 gc.1 gc.2; do wait_gone "$(cat $f)"; done
	# Interrupted jobs are not logged: --resume runs them again.
	eq "$(wc -l <log)" 1
}

t_sigterm_keeps_finished_work() {
	env --default-signal=INT weft -j2 -k --joblog log \
		'if [ {} = slow ]; then echo $$ >slow.pid; sleep 60; else echo done; fi' ::: fast slow >out 2>err &
	pid=$!
	wait_for slow.pid
	i=0
	until [ "$(wc -l <log)" = 2 ]; do
		i=$((i + 1)); [ $i -lt $((1000 * SLOW)) ] || fail "fast job not logged"
		sleep 0.01
	done
	kill -TERM $pid
	s=0
	wait $pid || s=$?
	eq "$s" 143
	wait_gone "$(cat slow.pid)"
	eq "$(cat out)" "done"
	eq "$(weft --resume --joblog log -k 'echo {}' ::: fast slow)" "slow"
}

t_signal_while_the_reader_is_stuck() {
	# The reader stops reading: weft, blocked on its full stdout, must
	# still act on SIGTERM.
	mkfifo pipe
	{ waitfor go; cat >/dev/null; } <pipe &
	reader=$!
	env --default-signal=INT weft -n0 'head -c 3000000 /dev/zero; echo x >done' ::: 1 >pipe &
	pid=$!
	wait_for done
	kill -TERM $pid
	s=0
	wait $pid || s=$?
	eq "$s" 143
	echo x >go
	wait $reader
}

t_no_zombies_many_jobs() {
	eq "$(seq 300 | weft -j8 'echo {}' | wc -l)" 300
	eq "$(seq 300 | weft -j8 true {} | wc -l)" 0
}

run_cases
