#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs coring both ways (this build tree, and a library-only build of the other kind from
# the sources: static and shared), then builds and runs a consumer against each through
# pkg-config and find_package(coring); checks the exported symbols, the allocator and versions.
set -euo pipefail

build=${1:?usage: test_install.sh <build-dir> <source-dir>}
src=${2:?usage: test_install.sh <build-dir> <source-dir>}
cc=${CORING_CC:-cc}
flags=${CORING_C_FLAGS:-}
generator=${CORING_GENERATOR:-}
jobs=${CORING_INSTALL_JOBS:-2}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cmake pkg-config readelf nm "$cc"; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done
[ -f "$build/CMakeCache.txt" ] || fail "$build is not a configured build tree"

# cache_get <name>: the value of a cache entry of the build tree under test ("" if unset).
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n1; }

version=$(sed -n 's/^#define CR_VERSION_STRING "\(.*\)"$/\1/p' "$src/runtime/include/coring/runtime.h")
[ -n "$version" ] || fail "cannot read CR_VERSION_STRING from runtime/include/coring/runtime.h"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- the two installs: this tree's own, and the other library kind built here ----------
case "$(cache_get BUILD_SHARED_LIBS)" in
ON | on | TRUE | true | 1 | YES | yes) given=shared other=static other_shared=OFF ;;
*) given=static other=shared other_shared=ON ;;
esac

echo "== cmake --install $build --prefix $tmp/$given ($given library, this build tree)"
cmake --install "$build" --prefix "$tmp/$given" >"$tmp/install-$given.log" 2>&1 ||
	{ cat "$tmp/install-$given.log"; fail "cmake --install of $build failed"; }

# The other kind is built the way this tree was: compiler, build type, sanitizers, -Werror.
build_type=$(cache_get CMAKE_BUILD_TYPE)
build_type_uc=$(printf '%s' "${build_type:-none}" | tr '[:lower:]' '[:upper:]')
lib_args=(-S "$src" -B "$tmp/build-$other" -DBUILD_SHARED_LIBS="$other_shared"
	-DCORING_BUILD_TESTS=OFF -DCORING_BUILD_TOOLS=OFF -DCORING_BUILD_BENCH=OFF
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE="$build_type"
	-DCMAKE_C_FLAGS="$(cache_get CMAKE_C_FLAGS)"
	"-DCMAKE_C_FLAGS_$build_type_uc=$(cache_get "CMAKE_C_FLAGS_$build_type_uc")"
	-DCORING_SANITIZE="$(cache_get CORING_SANITIZE)"
	-DCORING_WERROR="$(cache_get CORING_WERROR)")
[ -z "$generator" ] || lib_args+=(-G "$generator")
echo "== building a $other libcoring from $src (library only, -j$jobs)"
{ cmake "${lib_args[@]}" && cmake --build "$tmp/build-$other" -j "$jobs" &&
	cmake --install "$tmp/build-$other" --prefix "$tmp/$other"; } >"$tmp/build-$other.log" 2>&1 ||
	{ tail -n 60 "$tmp/build-$other.log"; fail "building or installing the $other library failed"; }

# ---- checks of one installed prefix ------------------------------------------------------

# needed_libs <binary>: the shared libraries it loads (DT_NEEDED), one a line.
needed_libs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

# check_files <prefix>: headers, coring.pc, CMake package, licence; no jemalloc anywhere.
check_files() {
	local prefix=$1 f pc config
	for f in include/coring.h include/coring/runtime.h include/coring/sync.h \
		include/coring/net.h share/doc/coring/LICENSE share/doc/coring/CHANGELOG.md; do
		[ -f "$prefix/$f" ] || fail "$prefix: $f was not installed"
	done
	pc=$(find "$prefix" -name coring.pc -print -quit)
	[ -n "$pc" ] || fail "$prefix: coring.pc was not installed"
	config=$(find "$prefix" -name coringConfig.cmake -print -quit)
	[ -n "$config" ] || fail "$prefix: coringConfig.cmake was not installed"
	if cat "$pc" "$(dirname "$config")"/*.cmake | grep -v '^[[:space:]]*#' | grep -i jemalloc; then
		fail "$prefix: the installed package metadata pulls jemalloc into its users"
	fi
}

# run_consumer <binary> <what>: runs it with jemalloc's statistics asked for; checks its
# output line, and that no jemalloc answered (the library leaves malloc alone).
run_consumer() {
	local out rc=0
	out=$(MALLOC_CONF=stats_print:true "$1" 2>"$tmp/consumer.err") || rc=$?
	[ "$rc" -ne 77 ] || skip "$2 consumer: io_uring is not usable here"
	[ "$rc" -eq 0 ] || { cat "$tmp/consumer.err" >&2; fail "$2 consumer exited with $rc (output: $out)"; }
	[ "$out" = "coring-consumer $version: result=42 checks=ok" ] ||
		fail "$2 consumer printed '$out', expected 'coring-consumer $version: result=42 checks=ok'"
	if grep -qi jemalloc "$tmp/consumer.err" || grep -qi jemalloc <<<"$(needed_libs "$1")"; then
		fail "$2 consumer got jemalloc as its allocator by linking coring"
	fi
	echo "ok: $2 consumer printed: $out (allocator: not jemalloc)"
}

# check_linkage <binary> <kind> <what>: a shared consumer needs libcoring.so, a static one not.
check_linkage() {
	local needs=0
	! grep -q '^libcoring\.so' <<<"$(needed_libs "$1")" || needs=1
	case "$2" in
	shared) [ "$needs" -eq 1 ] || fail "$3 consumer does not load libcoring.so" ;;
	static) [ "$needs" -eq 0 ] || fail "$3 consumer loads libcoring.so from a static install" ;;
	esac
}

# consume <prefix> <kind>: builds and runs the consumer through pkg-config and find_package.
consume() {
	local prefix=$1 kind=$2 pc libdir pcflags out
	local -a cmake_args
	pc=$(dirname "$(find "$prefix" -name coring.pc -print -quit)")
	[ "$(PKG_CONFIG_PATH="$pc" pkg-config --modversion coring)" = "$version" ] ||
		fail "$kind: coring.pc says version $(PKG_CONFIG_PATH="$pc" pkg-config --modversion coring), not $version"
	if [ "$kind" = static ]; then
		pcflags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs --static coring)
	else
		pcflags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs coring)
	fi
	case " $pcflags " in *jemalloc*) fail "$kind: pkg-config gives jemalloc to users: $pcflags" ;; esac
	libdir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir coring)

	echo "== $kind, pkg-config: $pcflags"
	out=$tmp/consumer-$kind-pc
	# shellcheck disable=SC2086 # flags are word lists on purpose
	"$cc" -std=c11 -Wall -Wextra -Werror $flags "$src/tests/install_consumer/main.c" -o "$out" \
		$pcflags >"$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; fail "$kind: building the pkg-config consumer failed"; }
	check_linkage "$out" "$kind" "$kind pkg-config"
	LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" run_consumer "$out" "$kind pkg-config"

	echo "== $kind, find_package(coring) with CMAKE_PREFIX_PATH=$prefix"
	cmake_args=(-S "$src/tests/install_consumer" -B "$tmp/consumer-$kind-cmake"
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc"
		-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags")
	[ -z "$generator" ] || cmake_args+=(-G "$generator")
	cmake "${cmake_args[@]}" >"$tmp/configure.log" 2>&1 ||
		{ cat "$tmp/configure.log"; fail "$kind: configuring the find_package consumer failed"; }
	grep -q "coring_DIR=$prefix/.* coring_VERSION=$version\$" "$tmp/configure.log" ||
		{ cat "$tmp/configure.log"; fail "$kind: find_package(coring) did not find the installed $version"; }
	cmake --build "$tmp/consumer-$kind-cmake" >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; fail "$kind: building the find_package consumer failed"; }
	out=$tmp/consumer-$kind-cmake/coring-consumer
	check_linkage "$out" "$kind" "$kind find_package"
	run_consumer "$out" "$kind find_package"
}

# check_exports <prefix>: libcoring.so exports every cr_/cr__ symbol that an inline function
# of the public headers references (gcc emits every static inline with
# -fkeep-inline-functions, so its undefined symbols are exactly those), no other cr__
# internal, and no allocator.
check_exports() {
	local prefix=$1 so exported needed sym n=0
	so=$(find "$prefix" -name 'libcoring.so.*' -type f -print -quit)
	[ -n "$so" ] || fail "shared: libcoring.so was not installed"
	exported=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)
	for sym in malloc free calloc realloc mallocx je_malloc; do
		! grep -qx "$sym" <<<"$exported" || fail "libcoring.so exports the allocator symbol $sym"
	done
	if ! command -v gcc >/dev/null 2>&1; then
		echo "NOTE: gcc not found; the inline-symbol check needs its -fkeep-inline-functions"
		return
	fi
	printf '#include <coring.h>\n' |
		gcc -std=c11 -O0 -fkeep-inline-functions -I"$prefix/include" -x c -c - -o "$tmp/inlines.o"
	needed=$(nm -u "$tmp/inlines.o" | awk '{ print $NF }' | grep -E '^cr_' | sort -u || true)
	if grep -qs 'static inline' "$prefix"/include/coring/*.h && [ -z "$needed" ]; then
		fail "the public headers have inline functions, but none references a symbol: is the check broken?"
	fi
	for sym in $needed; do
		grep -qx "$sym" <<<"$exported" ||
			fail "an inline function of the public headers calls $sym, which libcoring.so does not export (tools/cmake/coring.map)"
		n=$((n + 1))
	done
	for sym in $(grep -E '^cr__' <<<"$exported" || true); do
		grep -qx "$sym" <<<"$needed" ||
			fail "libcoring.so exports the internal $sym, which no public inline needs"
	done
	echo "ok: libcoring.so exports all $n symbols the public inlines call: ${needed//$'\n'/ }"
}

# check_programs <prefix>: every installed program prints the version; the echo server,
# client and demo have jemalloc as their allocator exactly when this tree was built with
# CORING_USE_JEMALLOC and without sanitizers; coring-probe keeps the C library's.
check_programs() {
	local prefix=$1 prog out je=0 want_je has_je
	[ -d "$prefix/bin" ] || { echo "NOTE: no programs installed (CORING_BUILD_TOOLS=OFF)"; return; }
	case "$(cache_get CORING_USE_JEMALLOC)" in ON | on | TRUE | true | 1 | YES | yes) je=1 ;; esac
	[ -z "$(cache_get CORING_SANITIZE)" ] || je=0
	for prog in "$prefix"/bin/*; do
		want_je=$je
		[ "$(basename "$prog")" != coring-probe ] || want_je=0
		out=$(MALLOC_CONF=stats_print:true LD_LIBRARY_PATH="$prefix/lib:$prefix/lib64" \
			"$prog" --version 2>"$tmp/prog.err") || fail "$(basename "$prog") --version failed"
		case "$out" in
		*"$version"*) ;;
		*) fail "$(basename "$prog") --version printed '$out', not version $version" ;;
		esac
		has_je=0
		! grep -q 'Begin jemalloc statistics' "$tmp/prog.err" || has_je=1
		[ "$has_je" -eq "$want_je" ] ||
			fail "$(basename "$prog"): jemalloc is its allocator: $has_je, expected $want_je"
		echo "ok: $(basename "$prog") --version: $out (jemalloc: $has_je)"
	done
	[ -x "$prefix/bin/coring-echo-server" ] || fail "coring-echo-server was not installed"
	if [ "$je" -eq 1 ]; then
		grep -q '^libjemalloc' <<<"$(needed_libs "$prefix/bin/coring-echo-server")" ||
			fail "coring-echo-server does not load libjemalloc"
	fi
}

check_files "$tmp/static"
check_files "$tmp/shared"
check_exports "$tmp/shared"
consume "$tmp/static" static
consume "$tmp/shared" shared
check_programs "$tmp/$given"

echo "PASS: coring $version installs static and shared; consumers link and run through" \
	"pkg-config and find_package, without jemalloc"
