#!/usr/bin/env bash
# An installed weft is usable by a consumer both ways: pkg-config and
# CMake's find_package(weft). Installs the build into a temporary prefix and
# builds a tiny program against it each way, then runs it.
set -euo pipefail
build=${WEFT_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

mkdir -p "$tmp/src"
cat >"$tmp/src/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <weft.h>
int main(void)
{
	weft_cancel *tok;
	if (weft_cancel_new(&tok, NULL) != 0)
		return 1;
	weft_cancel_cancel(tok);
	int ok = weft_cancel_is_cancelled(tok) && strcmp(weft_errname(WEFT_ETIMEDOUT), "WEFT_ETIMEDOUT") == 0;
	weft_cancel_release(tok);
	printf("weft %s %s\n", weft_version(), ok ? "ok" : "broken");
	return ok ? 0 : 1;
}
C
cat >"$tmp/src/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(weft REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE weft::weft)
C

passed=0 failed=0
check() { # name, command...
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name"
		echo "$out"
	fi
}

libdir=$(ls -d "$tmp/prefix"/lib*/ | head -1)
pcdir=$(dirname "$(find "$tmp/prefix" -name weft.pc | head -1)")
pkgconfig_build() {
	cc -o "$tmp/pc" "$tmp/src/main.c" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs weft) &&
		LD_LIBRARY_PATH=$(dirname "$(find "$tmp/prefix" -name 'libweft.so' | head -1)") "$tmp/pc" | grep -q ' ok$'
}
cmake_build() {
	cmake -S "$tmp/src" -B "$tmp/cb" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null &&
		cmake --build "$tmp/cb" >/dev/null &&
		"$tmp/cb/consumer" | grep -q ' ok$'
}
headers_complete() { # every module header compiles on its own
	for h in "$tmp/prefix"/include/weft/*.h; do
		echo "#include <weft/$(basename "$h")>" | cc -std=c17 -fsyntax-only -Wall -Werror -I"$tmp/prefix/include" -x c - || return 1
	done
}
readme_example() { # the README's tour compiles and runs against the installed library
	awk '/^```c$/{on=1;next} /^```$/{if(on)exit} on' "${WEFT_SOURCE_DIR:?}/README.md" >"$tmp/tour.c" &&
		cc -std=gnu17 -Wall -Wextra -Werror -o "$tmp/tour" "$tmp/tour.c" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs weft) &&
		LD_LIBRARY_PATH=$(dirname "$(find "$tmp/prefix" -name 'libweft.so' | head -1)") "$tmp/tour" | grep -q '^7 squared is 49$'
}
check pkg-config pkgconfig_build
check readme readme_example
check find_package cmake_build
check headers headers_complete
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
