#!/usr/bin/env bash
# weft: input sources, replacement strings, quoting, command lines.
source "$(dirname "$0")/lib.sh"

t_args_appended() {
	eq "$(weft -k echo ::: a b c)" $'a\nb\nc'
}

t_combinations_first_source_slowest() {
	eq "$(weft -k echo ::: a b ::: 1 2)" $'a 1\na 2\nb 1\nb 2'
}

t_linked_sources_shortest_wins() {
	eq "$(weft -k echo ::: a b c :::+ 1 2 ::: X Y)" $'a 1 X\na 1 Y\nb 2 X\nb 2 Y'
}

t_link_wraps() {
	eq "$(weft -k --link echo {1} {2} ::: 1 2 ::: a b c)" $'1 a\n2 b\n1 c'
}

t_argument_files() {
	seq 2 >f1
	printf 'x\ny\n' >f2
	eq "$(weft -k echo :::: f1 f2)" $'1 x\n1 y\n2 x\n2 y'
	eq "$(weft -k -a f1 -a f2 echo)" $'1 x\n1 y\n2 x\n2 y'
	eq "$(weft -k echo :::: f1 ::::+ f2)" $'1 x\n2 y'
	eq "$(seq 3 | weft -k echo :::: - ::: z)" $'1 z\n2 z\n3 z'
}

t_stdin_lines() {
	eq "$(printf 'a\nb b\n\nc' | weft -k echo x{}y)" $'xay\nxb by\nxy\nxcy'
}

t_stdin_streams() {
	# The second line comes only once the first job ran: weft must not
	# wait for the end of its input to start jobs.
	{
		echo a
		waitfor started.a && echo b
	} | weft -k 'echo x >started.{}; echo {}' >out
	eq "$(cat out)" $'a\nb'
}

t_empty_input_runs_nothing() {
	eq "$(rc weft echo </dev/null)" 0
	eq "$(weft echo </dev/null)" ""
	eq "$(rc weft echo :::)" 0
	eq "$(weft echo ::: 2>&1)" ""
}

t_null_delimiter_keeps_newlines() {
	printf 'a\nb\0c d\0' | weft -0 -k 'printf "[%s]\n"' >out
	eq "$(cat out)" $'[a\nb]\n[c d]'
}

t_delimiter() {
	eq "$(printf 'a,b,,c' | weft -d, -k echo x{}y)" $'xay\nxby\nxy\nxcy'
	eq "$(printf 'a\tb' | weft -d '\t' -k echo)" $'a\nb'
}

t_colsep() {
	printf 'a b\tc\n d\te \n' >t.tsv
	eq "$(weft -k --colsep '\t' echo {2}={1} :::: t.tsv)" $'c=a b\ne=d'
	eq "$(echo 'a,b,,' | weft --colsep , --dry-run echo)" "echo a b '' ''"
}

t_replacement_strings() {
	eq "$(weft --dry-run echo {} {.} {/} {//} {/.} ::: dir.d/file.tar.gz)" \
		"echo dir.d/file.tar.gz dir.d/file.tar file.tar.gz dir.d file.tar"
	eq "$(weft --dry-run echo {//} {/} {.} {/.} ::: foo .hidden a.b/ / //a)" \
		$'echo . foo foo foo\necho . .hidden \'\' \'\'\necho . \'\' a.b/ \'\'\necho / \'\' / \'\'\necho / a //a a'
}

t_positional() {
	eq "$(weft --dry-run echo {2} {1} {-1} {2.} {1/} {1//} {2/.} ::: /x/a.b ::: c/d.e)" \
		"echo c/d.e /x/a.b c/d.e c/d a.b /x d"
	eq "$(weft --dry-run echo {3}x ::: a ::: b)" "echo x"
}

t_seq_and_slot() {
	eq "$(weft -j1 -k echo {#}:{%} ::: a b c)" $'1:1\n2:1\n3:1'
	weft -j3 'echo {%}' ::: a b c d e f | sort -u >slots
	eq "$(cat slots)" $'1\n2\n3'
}

t_custom_replacement_names() {
	eq "$(weft --dry-run -I XX echo XX {} ::: a)" "echo a {}"
	eq "$(weft --dry-run --er ZZ echo ZZ ::: a.b)" "echo a"
}

t_metacharacters_are_literal() {
	touch victim
	out=$(weft -k echo ::: 'x; rm -f victim' '$(rm -f victim)' '`rm -f victim`' 'a | rm -f victim' "it's" '*' '~')
	[ -e victim ] || fail "an input was run as code"
	eq "$out" $'x; rm -f victim\n$(rm -f victim)\n`rm -f victim`\na | rm -f victim\nit\'s\n*\n~'
}

t_quotes_spaces_newlines() {
	printf '%s\0' 'two  spaces' 'quote"d' "single'q" $'new\nline' '' | weft -0 -k 'printf "<%s>\n"' >out
	eq "$(cat out)" $'<two  spaces>\n<quote"d>\n<single\'q>\n<new\nline>\n<>'
}

t_quoting_like_gnu() {
	eq "$(weft --dry-run -k echo {} ::: 'a b' "c'd" '$HOME' '' '-n' 'a=b')" \
		$'echo \'a b\'\necho \'c\'"\'"\'d\'\necho \'$HOME\'\necho \'\'\necho -n\necho \'a=b\''
}

t_command_from_input() {
	eq "$(weft -k ::: 'echo a; echo b' 'echo c')" $'a\nb\nc'
	eq "$(printf 'echo 1\necho 2\n' | weft -k)" $'1\n2'
	eq "$(weft {} ::: 'echo hi there')" "hi there"
}

t_quote_command() {
	eq "$(weft -q --dry-run echo 'a b' {} 'x;y' ::: 'c d')" "echo 'a b' 'c d' 'x;y'"
	eq "$(weft -q echo 'a {} b' ::: 'c d')" "a c d b"
}

t_max_args() {
	eq "$(weft -k -n2 echo ::: a b c d e)" $'a b\nc d\ne'
	eq "$(weft -k -N2 echo {2}-{1} ::: a b c)" $'b-a\n-c'
	eq "$(weft -k -n0 echo x ::: a b)" $'x\nx'
}

t_fill_line() {
	eq "$(weft -k -j1 -X echo pre{}post ::: a b c)" "preapost prebpost precpost"
	eq "$(weft -k -j2 -X --dry-run echo pre{}post ::: a b c d e)" \
		$'echo preapost prebpost precpost\necho predpost preepost'
	eq "$(weft -k -j1 -m echo pre{}post ::: a b c)" "prea b cpost"
	eq "$(weft -k -s 20 -j1 -X --dry-run echo ::: aaaa bbbb cccc dddd)" $'echo aaaa bbbb cccc\necho dddd'
	eq "$(seq 5000 | weft -k -j1 -X echo | wc -w)" 5000
}

t_eof_string_and_skip_empty() {
	eq "$(weft -k -E stop echo ::: a stop b)" "a"
	eq "$(weft -k -r echo ::: a '' ' ' b)" $'a\nb'
}

t_trim() {
	eq "$(weft --trim lr echo x{}x ::: '  a b  ')" "xa bx"
}

t_direct_and_shell_agree() {
	# A simple command may run without a shell; the result is the same.
	mkdir d
	printf '#!/bin/sh\necho script "$@"\n' >d/s1
	printf 'echo noshebang "$@"\n' >d/s2
	chmod +x d/s1 d/s2
	eq "$(weft -k ::: './d/s1 a' './d/s2 b')" $'script a\nnoshebang b'
	eq "$(weft 'true --version' ::: x)" ""
	eq "$(rc weft nonexistent-command-xyz ::: a 2>/dev/null)" 1
	weft nonexistent-command-xyz ::: a 2>err || true
	grep -q 'not found' err || fail "no 'not found' message: $(cat err)"
	eq "$(weft -k -n0 'FOO=bar env' ::: x | grep '^FOO=')" "FOO=bar"
}

t_environment() {
	eq "$(weft -j1 -k -n0 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT' ::: a b)" $'1 1\n2 1'
}

t_workdir() {
	mkdir w
	eq "$(weft -n0 --wd w pwd ::: x)" "$PWD/w"
}

run_cases
