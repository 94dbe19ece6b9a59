#!/usr/bin/env bash
# weft: output grouping, --line-buffer, -u, -k, --tag, --results, progress.
source "$(dirname "$0")/lib.sh"

t_group_never_interleaves() {
	# Both jobs print, then wait for each other, then print again.
	weft -j2 'echo {1}1; echo > {1}.on; waitfor {2}.on; echo {1}2' ::: A B :::+ B A >out
	case "$(cat out)" in
	$'A1\nA2\nB1\nB2' | $'B1\nB2\nA1\nA2') ;;
	*) fail "interleaved: $(cat out)" ;;
	esac
}

t_stdout_then_stderr() {
	eq "$(weft -n0 'echo out; echo err >&2; echo out2' ::: 1 2>&1)" $'out\nout2\nerr'
	eq "$(weft -n0 'echo out; echo err >&2' ::: 1 2>/dev/null)" "out"
}

t_line_buffer_prints_lines_live() {
	weft -n0 --line-buffer 'printf "fi"; printf "rst\n"; waitfor go; echo second' ::: x >out &
	pid=$!
	wait_for out
	i=0
	until grep -q first out; do
		i=$((i + 1)); [ $i -lt $((1000 * SLOW)) ] || fail "no live line"
		sleep 0.01
	done
	echo >go
	wait $pid
	eq "$(cat out)" $'first\nsecond'
}

t_line_buffer_keeps_lines_whole() {
	weft -j2 --lb 'for i in 1 2 3 4 5; do printf "{}"; printf "{}\n"; done' ::: aa bb >out
	eq "$(sort -u out)" $'aaaa\nbbbb'
	eq "$(wc -l <out)" 10
}

t_ungroup_prints_live() {
	weft -n0 -u 'echo first; waitfor go; echo second' ::: x >out &
	pid=$!
	i=0
	until grep -q first out 2>/dev/null; do
		i=$((i + 1)); [ $i -lt $((1000 * SLOW)) ] || fail "no live output"
		sleep 0.01
	done
	echo >go
	wait $pid
	eq "$(cat out)" $'first\nsecond'
}

t_keep_order() {
	# Job n waits for job n+1 to finish: they end in reverse order.
	cmd='waitfor done.$(({}+1)) ; echo {}; echo >done.{}'
	echo >done.4
	eq "$(weft -j3 -k "$cmd" ::: 1 2 3)" $'1\n2\n3'
	# Without -k, output comes as jobs end: job n waits until job n+1's
	# output has been printed.
	weft -j3 'if [ {} != 3 ]; then waitline $(({}+1)) out; fi; echo {}' ::: 1 2 3 >out
	eq "$(cat out)" $'3\n2\n1'
	rm -f done.[123]
	eq "$(weft -j3 -k --lb "$cmd" ::: 1 2 3)" $'1\n2\n3'
}

t_tag() {
	eq "$(weft -k --tag echo ::: a b ::: 1)" $'a 1\ta 1\nb 1\tb 1'
	eq "$(weft --tag 'echo out; echo err {} >&2' ::: x 2>&1)" $'x\tout\nx\terr x'
	eq "$(weft --tag 'printf "a\nb"' ::: x)" $'x\ta\nx\tb'
	eq "$(weft --tagstring '<{}>' echo ::: x)" $'<x>\tx'
	eq "$(weft --tag --lb echo ::: y)" $'y\ty'
}

t_results_dir() {
	eq "$(weft --results res -k 'echo out {1}{2}; echo err >&2' ::: a 'b/c' ::: 1 2>&1)" ""
	eq "$(cat res/1/a/2/1/stdout)" "out a1"
	eq "$(cat res/1/a/2/1/stderr)" "err"
	eq "$(cat 'res/1/b\_c/2/1/stdout')" "out b/c1"
	eq "$(cat 'res/1/b\_c/2/1/seq')" "2"
}

t_tmpdir() {
	mkdir tmp
	eq "$(weft -k --tmpdir tmp 'echo {}; echo e{} >&2' ::: a b 2>&1)" $'a\nea\nb\neb'
	eq "$(ls -A tmp)" ""
	eq "$(rc weft --tmpdir no-such-dir echo ::: a 2>/dev/null)" 255
}

t_dry_run_and_verbose() {
	eq "$(weft --dry-run -k 'touch {}' ::: f1 f2)" $'touch f1\ntouch f2'
	[ ! -e f1 ] || fail "--dry-run ran a job"
	eq "$(weft -v -k echo ::: a b)" $'echo a\na\necho b\nb'
	eq "$(weft -t echo ::: a 2>&1 >/dev/null)" "echo a"
}

t_big_outputs_stay_whole() {
	weft -j3 'head -c 1000000 /dev/zero | tr "\0" {}' ::: a b c >out
	eq "$(wc -c <out)" 3000000
	# Each job's megabyte is one run of its letter.
	eq "$(fold -w 1000000 out | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "1 1 1 "
}

t_outputs_beyond_the_holding_pipe() {
	# 3 MB each: past the 1 MiB holding pipe, the output spills to a file.
	weft -j2 'head -c 3000000 /dev/zero | tr "\0" {}' ::: a b >out
	eq "$(wc -c <out)" 6000000
	eq "$(fold -w 3000000 out | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "1 1 "
	# Many small writes fill the holding pipe's slots before its bytes.
	weft -k -n0 'i=0; while [ $i -lt 3000 ]; do i=$((i + 1)); echo $i; done' ::: 1 2 >out
	eq "$(cat out)" "$(seq 3000; seq 3000)"
	weft --tmpdir . -n0 'head -c 2000000 /dev/zero' ::: x >out
	eq "$(wc -c <out)" 2000000
}

t_closed_stdout_stops() {
	# The reader goes away: weft stops and leaves nothing running.
	s=0
	weft -j2 'echo $$ >pid.{}; seq 1000000' ::: 1 2 3 4 | head -1 >out || s=$?
	eq "$(cat out)" 1
	for f in pid.*; do
		[ ! -s "$f" ] || wait_gone "$(cat "$f")" # empty: killed before writing
	done
}

t_progress_only_on_a_terminal() {
	eq "$(weft --bar echo ::: a b 2>&1 >/dev/null)" ""
	weft --bar --force-progress echo ::: a b 2>err >/dev/null
	grep -q '100%' err || fail "no bar: $(cat -A err)"
	grep -q '2/2' err || fail "no count: $(cat -A err)"
	weft --eta --force-progress echo ::: a b 2>err >/dev/null
	grep -q 'ETA: ' err || fail "no eta: $(cat -A err)"
	weft --progress --force-progress echo ::: a b 2>err >/dev/null
	grep -q 'local:0/2/100%' err || fail "no progress: $(cat -A err)"
}

run_cases
