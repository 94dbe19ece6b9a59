# The subprocess examples print what their Python originals print.
set -euo pipefail
ex="$WEFT_BUILD_DIR/examples"
[ -d "$ex" ] || { echo "no examples built; skipping"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

out=$("$ex/subprocess_shell_echo")
[ "$out" = $'Hello, subprocess!\nthe shell exited with 0' ] || fail "shell echo: $out"

out=$("$ex/subprocess_communicate")
[ "$out" = 'Hello, subprocess!' ] || fail "communicate: $out"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
touch "$dir/one" "$dir/two"
out=$(cd "$dir" && "$ex/subprocess_ls")
grep -q '^total ' <<<"$out" || fail "ls -l: $out"
grep -q ' one$' <<<"$out" && grep -q ' two$' <<<"$out" || fail "ls -l entries: $out"
grep -q "WEFT_ENOENT (\[Errno 2\] No such file or directory: 'no-such-program')" <<<"$out" || fail "missing program: $out"
echo ok
