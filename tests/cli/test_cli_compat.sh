#!/usr/bin/env bash
# weft against GNU parallel: the same arguments give the same output and
# exit status (skipped when GNU parallel is not installed).
source "$(dirname "$0")/lib.sh"

setup_files() {
	printf 'a b\tc\n d\te \n' >cols.txt
	seq 3 >s3
	seq 4 6 >s46
}

t_inputs() {
	setup_files
	same_as_parallel -k echo ::: a b ::: 1 2
	same_as_parallel -k echo ::: a b c :::+ 1 2 ::: X Y
	same_as_parallel -k echo ::: a b c :::+ 1 2 3 ::: X Y :::+ 11 22
	same_as_parallel --link -k echo {1} {2} {3} ::: 1 2 ::: I II III ::: a b c d e f g
	same_as_parallel -k echo :::: s3 s46
	same_as_parallel -k -a s3 -a s46 echo
	same_as_parallel -k echo :::: s3 ::::+ s46
	same_as_parallel echo :::
	STDIN=s3 same_as_parallel -k echo
	STDIN=s3 same_as_parallel -k echo :::: - ::: x y
}

t_columns() {
	setup_files
	same_as_parallel -k --colsep '\t' echo {1}={2} :::: cols.txt
	same_as_parallel -k --colsep '\t' echo :::: cols.txt
	same_as_parallel -k --colsep '\t' --dry-run echo {} :::: cols.txt
	same_as_parallel -k --colsep '\t' echo {3}x :::: cols.txt
	same_as_parallel -k --colsep - echo {4} {3} {2} {1} ::: A-B C-D ::: e-f g-h
	same_as_parallel -k --trim l echo x{}x ::: ' a '
}

t_replacement_strings() {
	same_as_parallel --dry-run -k echo {} {.} {/} {//} {/.} ::: foo a/b.c /x/y.d/z .hidden a.b/ / //a ''
	same_as_parallel --dry-run -k echo {2/} {2.} {1//} {2/.} {-1} ::: /a/b.c ::: d/e.f
	same_as_parallel --dry-run -k echo {1} {3} ::: a b ::: c
	same_as_parallel -k echo {#} ::: a b
	same_as_parallel -k -j1 echo {%} ::: a b
	same_as_parallel --dry-run -I XX echo XX {} ::: a
	same_as_parallel --dry-run --er ZZ echo ZZ ::: a.b
	same_as_parallel --dry-run echo '{1}{2}' ::: a ::: b
}

t_quoting() {
	same_as_parallel --dry-run -k echo {} ::: 'a b' "c'd" 'x; rm -rf ~' '$HOME' 'a"b' $'tab\tx' '' '-n' 'é' \
		'a*' '~' 'a=b' "it's" 'a\b'
	same_as_parallel -k echo ::: 'x; echo injected' '$(echo injected)' '`echo injected`' "it's" '*'
	same_as_parallel -q --dry-run echo "a b" {} 'x;y' ::: 'c d'
	same_as_parallel -q echo "a {} b" ::: 'c d'
	same_as_parallel -k --dry-run -q echo 'a b' ::: 'c d'
	same_as_parallel --dry-run {} ::: 'echo hi'
	same_as_parallel ::: 'echo hi; echo x'
	same_as_parallel --dry-run {}x ::: 'echo hi'
}

t_multiple_arguments() {
	same_as_parallel --dry-run -k -n2 echo {} ::: a b c d e
	same_as_parallel --dry-run -k -n2 echo pre{}post ::: a b c d e
	same_as_parallel --dry-run -k -n2 echo {1}-{2} ::: a b c d e
	same_as_parallel --dry-run -k -N2 echo ::: a b c d e
	same_as_parallel --dry-run -k -N0 echo x{}y ::: a b
	same_as_parallel --dry-run -k -j2 -X echo pre{}post ::: a b c d e
	same_as_parallel --dry-run -k -j1 -X echo pre{}post ::: a b c d e
	same_as_parallel --dry-run -k -j3 -X echo pre{}post ::: a b c d e f g
	same_as_parallel --dry-run -k -j3 -m echo pre{}post ::: a b c d e f g
	same_as_parallel --dry-run -k -j2 -X echo pre{}post {1} ::: a b c d e ::: 1 2
	same_as_parallel --dry-run -k -j2 -X echo {#} ::: a b c
	same_as_parallel --dry-run -k -j2 -X echo x{2}y ::: a b c
	same_as_parallel --dry-run -k -j1 -s 20 -X echo ::: aaaa bbbb cccc dddd eeee ffff
	same_as_parallel --xargs -k --dry-run echo ::: a b c
	same_as_parallel -k -E stop echo ::: a stop b
	same_as_parallel -k -r echo ::: a '' ' ' b
}

t_exit_status() {
	same_as_parallel 'exit {}' ::: 0 1 2
	same_as_parallel -j1 'exit {}' ::: 0 1 2 3 4 5
	same_as_parallel -j2 -k 'echo {}; exit 1' ::: 1 2 3
	same_as_parallel -j4 'exit 1' ::: $(seq 120)
	same_as_parallel --halt now,fail=1 -j1 'exit {}' ::: 0 3 2
	same_as_parallel --halt soon,fail=1 -j1 'exit {}' ::: 0 3 2
	same_as_parallel --halt soon,fail=2 -j1 'exit {}' ::: 0 3 2 4 5
	same_as_parallel --halt now,success=1 -j1 'exit {}' ::: 3 0 2
	same_as_parallel --halt now,fail=50% -j1 'exit {}' ::: 0 3 2 0 0 0
	same_as_parallel --halt soon,fail=20% -j1 'exit {}' ::: 0 3 2 0 0 0
	same_as_parallel --halt 2 -j1 'exit {}' ::: 0 3 2
	# Usage errors: GNU parallel prints its usage, weft one line; both exit 255.
	same_status_as_parallel --no-such-option echo ::: a
	same_status_as_parallel echo :::: no-such-file
}

t_output() {
	same_as_parallel -k --tag -n0 'echo out' ::: a
	same_as_parallel -k --tag echo ::: a b ::: 1 2
	same_as_parallel -k --tag 'printf "a\nb"' ::: x
	same_as_parallel -k 'printf "a\nb"' ::: x y
	same_as_parallel -k --lb 'printf "a\nb"' ::: x y
	same_as_parallel -v -k echo ::: x y
	same_as_parallel -k 'seq 3; echo {}' ::: a b c
}

t_joblog_same_columns() {
	[ $HAVE_PARALLEL = 1 ] || return 0
	weft --joblog w.log -k 'echo {}; exit {}' ::: 0 1 'a b' >/dev/null 2>&1 || true
	parallel --will-cite --joblog p.log -k 'echo {}; exit {}' ::: 0 1 'a b' >/dev/null 2>&1 || true
	# Everything but the times.
	eq "$(cut -f1,2,5-9 w.log | sort)" "$(cut -f1,2,5-9 p.log | sort)"
}

t_results_same_tree() {
	[ $HAVE_PARALLEL = 1 ] || return 0
	weft --results w -k 'echo {1}{2}' ::: a 'b/c' ::: 1 2 >/dev/null
	parallel --will-cite --results p -k 'echo {1}{2}' ::: a 'b/c' ::: 1 2 >/dev/null
	eq "$(cd w && find . -type f | sort)" "$(cd p && find . -type f | sort)"
	for f in $(cd p && find . -type f); do
		eq "$(cat "w/$f")" "$(cat "p/$f")" "$f"
	done
}

run_cases
