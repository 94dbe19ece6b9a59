# tests/cli/lib.sh - helpers for the weft command-line tests (sourced).
#
# Each case is a function run in a subshell with `set -e`; a failing check
# fails the case. run_cases runs every function whose name starts with
# t_ and prints "N passed, N failed"; the script exits non-zero on a failure.
# Never synchronize with sleep: wait for files with wait_for (bounded).

set -euo pipefail

TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

# Sanitizer builds are slower: stretch the bounds of waits.
SLOW=1
[ "${WEFT_UNDER_SANITIZER:-}" = 1 ] && SLOW=8

# waitfor FILE: for jobs that must wait for something (bounded); FILE must
# exist and not be empty.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/waitfor" <<EOF
#!/bin/sh
i=0
while [ ! -s "\$1" ]; do
	i=\$((i + 1)); [ \$i -gt $((1000 * SLOW)) ] && exit 9
	sleep 0.01
done
EOF
# waitline LINE FILE: waits until FILE has the line LINE (bounded).
cat >"$TMP/bin/waitline" <<EOF
#!/bin/sh
i=0
until grep -qx -- "\$1" "\$2" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt $((1000 * SLOW)) ] && exit 9
	sleep 0.01
done
EOF
chmod +x "$TMP/bin/waitfor" "$TMP/bin/waitline"
PATH=$TMP/bin:$PATH

HAVE_PARALLEL=0
command -v parallel >/dev/null 2>&1 && HAVE_PARALLEL=1

fail() {
	echo "check failed: $*" >&2
	return 1
}

# eq GOT WANT [what]
eq() {
	if [ "$1" != "$2" ]; then
		printf 'expected %s:\n%s\n--- got:\n%s\n' "${3:-}" "$2" "$1" >&2
		return 1
	fi
}

# Waits until file $1 exists and is not empty (up to $2 seconds, default
# 10): a job writing its pid has then written it.
wait_for() {
	local limit=$(( ${2:-10} * SLOW * 100 )) i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -le $limit ] || fail "timed out waiting for $1"
		sleep 0.01
	done
}

# true while process $1 exists and is not a zombie (the init of some
# containers reaps orphans late).
alive() {
	local st
	[ -n "$1" ] || fail "no process id"
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Waits until process $1 no longer runs (bounded).
wait_gone() {
	local i=0
	while alive "$1"; do
		i=$((i + 1))
		[ $i -le $((500 * SLOW)) ] || fail "process $1 still alive"
		sleep 0.01
	done
}

# rc CMD... : runs CMD (stdout discarded), prints its exit status.
rc() {
	local s=0
	"$@" >/dev/null || s=$?
	echo $s
}

# Runs weft and GNU parallel with the same arguments (stdin from $STDIN
# or /dev/null) and compares stdout and exit status.
same_as_parallel() {
	[ $HAVE_PARALLEL = 1 ] || return 0
	local in=${STDIN:-/dev/null} wo ws po ps
	ws=0 ps=0
	wo=$(weft "$@" <"$in" 2>/dev/null) || ws=$?
	po=$(parallel --will-cite "$@" <"$in" 2>/dev/null) || ps=$?
	eq "$wo" "$po" "stdout of parallel $*"
	eq "$ws" "$ps" "exit status of parallel $*"
}

# Compares only the exit status with GNU parallel's.
same_status_as_parallel() {
	[ $HAVE_PARALLEL = 1 ] || return 0
	eq "$(rc weft "$@" </dev/null 2>/dev/null)" "$(rc parallel --will-cite "$@" </dev/null 2>/dev/null)" \
		"exit status of parallel $*"
}

run_cases() {
	local pass=0 failed=0 name s
	for name in $(declare -F | awk '{print $3}' | grep '^t_'); do
		mkdir -p "$TMP/$name"
		local t0=$EPOCHREALTIME
		set +e
		(
			set -e
			cd "$TMP/$name"
			"$name"
		) >"$TMP/$name.log" 2>&1
		s=$?
		set -e
		[ -z "${WEFT_TEST_TIMES:-}" ] || echo "$name $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2fs", b - a }')"
		if [ $s -eq 0 ]; then
			pass=$((pass + 1))
		else
			failed=$((failed + 1))
			echo "FAIL: $name"
			sed 's/^/    /' "$TMP/$name.log"
		fi
	done
	echo "$pass passed, $failed failed"
	[ $failed -eq 0 ]
}
