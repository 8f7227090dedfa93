# SPDX-License-Identifier: MIT
# Sourced by tests/*.sh that compile a small program against the build tree under test.
# Expects "$@" = <build-dir> <source-dir>; defines build, src, cc, flags, sanitize,
# skip, fail, cache_var and tree_compile.

build=${1:?usage: $0 <build-dir> <source-dir>}
src=${2:?usage: $0 <build-dir> <source-dir>}
cc=${CORING_CC:-cc}
flags=${CORING_C_FLAGS:-}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v "$cc" >/dev/null 2>&1 || skip "compiler $cc not found"
[ -f "$build/CMakeCache.txt" ] || fail "$build/CMakeCache.txt not found: not a build tree"

# cache_var NAME: prints the value of NAME in the build tree's CMake cache.
cache_var() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }

sanitize=$(cache_var CORING_SANITIZE)

# tree_compile SOURCE OUTPUT [compiler flags...]: builds SOURCE against the tree's
# library the way the tree was built (sanitizers, jemalloc, static or shared).
# Returns non-zero, after printing the compiler's output, if compiling fails.
tree_compile() {
	local source=$1 output=$2 lib= d
	shift 2
	for d in "$build/libcoring.a" "$build/libcoring.so"; do
		[ -f "$d" ] && { lib=$d; break; }
	done
	[ -n "$lib" ] || fail "no libcoring.a or libcoring.so in $build"
	local -a incs=(-I"$build/include") libs=("$lib" -luring) extra=()
	for d in "$src"/*/include; do
		[ -d "$d" ] && incs+=(-I"$d")
	done
	# The build drops jemalloc under sanitizers, and the program needs the same flags.
	if [ -n "$sanitize" ]; then
		case "$flags" in *-fsanitize=*) ;; *) extra=(-fsanitize="$sanitize" -fno-omit-frame-pointer) ;; esac
	elif [ "$(cache_var CORING_USE_JEMALLOC)" = ON ]; then
		libs+=(-ljemalloc)
	fi
	libs+=(-lpthread)
	[ "${lib##*.}" = so ] && libs+=("-Wl,-rpath,$build")
	# shellcheck disable=SC2086 # flags is a word list on purpose
	"$cc" -std=c11 -D_GNU_SOURCE "$@" "${extra[@]}" $flags "${incs[@]}" "$source" -o "$output" \
		"${libs[@]}" >"$output.cc.log" 2>&1 || { cat "$output.cc.log"; return 1; }
}
