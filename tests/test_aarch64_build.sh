#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The runtime cross-compiles for AArch64 (every runtime/*.c and switch_aarch64.S), so do the tests with AArch64 branches, and under qemu-user the AArch64 switch keeps x19-x29, sp and d8-d15 intact.
set -euo pipefail

build=${1:?usage: test_aarch64_build.sh <build-dir> <source-dir>}
src=${2:?usage: test_aarch64_build.sh <build-dir> <source-dir>}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

xcc=${CORING_AARCH64_CC:-aarch64-linux-gnu-gcc}
command -v "$xcc" >/dev/null 2>&1 || skip "no AArch64 cross compiler ($xcc; Debian: gcc-aarch64-linux-gnu)"
command -v readelf >/dev/null 2>&1 || skip "readelf not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-aarch64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# is_aarch64_elf <file> <type>: checks the ELF header (type REL or EXEC/DYN).
is_aarch64_elf() {
	local hdr
	hdr=$(readelf -h "$1" 2>&1) || fail "readelf -h $1: $hdr"
	grep -Eq 'Class:[[:space:]]+ELF64' <<<"$hdr" || fail "$1 is not ELF64: $hdr"
	grep -Eq 'Machine:[[:space:]]+AArch64' <<<"$hdr" || fail "$1 is not AArch64: $hdr"
	grep -Eq "Type:[[:space:]]+($2)" <<<"$hdr" || fail "$1 is not of type $2: $hdr"
}

# liburing's and valgrind's headers are architecture-independent: take them
# from the host after the cross compiler's own sysroot.
cflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wstrict-prototypes
	-I"$src/runtime" -I"$src/runtime/include" -idirafter /usr/include)
vg_variants=(0)
[ -f /usr/include/valgrind/valgrind.h ] && vg_variants+=(1)

echo "== $xcc $("$xcc" -dumpversion): runtime/switch_aarch64.S"
"$xcc" -c "$src/runtime/switch_aarch64.S" -o "$tmp/switch_aarch64.o" 2>"$tmp/as.log" ||
	{ cat "$tmp/as.log"; fail "assembling switch_aarch64.S failed"; }
is_aarch64_elf "$tmp/switch_aarch64.o" REL
for sym in cr__ctx_switch cr__ctx_trampoline; do
	readelf -sW "$tmp/switch_aarch64.o" | grep -Eq "FUNC +GLOBAL +HIDDEN +[0-9]+ +$sym\$" ||
		fail "switch_aarch64.o does not define the hidden function $sym"
done
# gdb needs unwind info for the switch and the trampoline.
readelf -wf "$tmp/switch_aarch64.o" | grep -q "DW_CFA_undefined: r30" ||
	fail "the trampoline's CFI does not mark the link register (r30) undefined"

n=0
warnings=0
for vg in "${vg_variants[@]}"; do
	for c in "$src"/runtime/*.c; do
		name=$(basename "$c" .c)
		obj=$tmp/$name.vg$vg.o
		if ! "$xcc" "${cflags[@]}" -DCORING_HAVE_VALGRIND="$vg" -c "$c" -o "$obj" \
			>"$tmp/$name.log" 2>&1; then
			cat "$tmp/$name.log"
			fail "runtime/$name.c does not compile for AArch64 (CORING_HAVE_VALGRIND=$vg)"
		fi
		if [ -s "$tmp/$name.log" ]; then
			warnings=$((warnings + 1))
			cat "$tmp/$name.log"
		fi
		is_aarch64_elf "$obj" REL
		n=$((n + 1))
	done
done
[ "$n" -gt 0 ] || fail "no runtime/*.c found under $src"
echo "ok: $n compilations of runtime/*.c for AArch64 (valgrind annotations: ${vg_variants[*]}), $warnings with warnings"
[ "$warnings" -eq 0 ] || echo "note: AArch64 compiler warnings in runtime/ (see above)"

# The tests with AArch64 branches of their own (inline assembly for FPCR and the callee-saved
# registers) compile for it too, without warnings: nothing else builds them for AArch64.
[ -f "$build/include/coring.h" ] || fail "$build/include/coring.h not found (not a configured build tree?)"
tflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wstrict-prototypes -Werror -I"$build/include"
	-I"$src/tests")
for mod in runtime sync net; do
	[ -d "$src/$mod/include" ] && tflags+=(-I"$src/$mod/include")
done
tflags+=(-idirafter /usr/include)
mapfile -t arm_tests < <(grep -l -e '__aarch64__' -e '"fp_control.h"' "$src"/tests/*.c)
t=0
for c in "${arm_tests[@]}"; do
	name=$(basename "$c" .c)
	"$xcc" "${tflags[@]}" -c "$c" -o "$tmp/$name.o" >"$tmp/$name.log" 2>&1 ||
		{ cat "$tmp/$name.log"; fail "tests/$name.c does not compile for AArch64"; }
	is_aarch64_elf "$tmp/$name.o" REL
	t=$((t + 1))
done
[ "$t" -gt 0 ] || fail "no test with an AArch64 branch found under $src/tests"
echo "ok: $t tests with AArch64 branches compile for AArch64"

# ---- optional: run the switch under qemu-user ------------------------------------
runner=()
for q in qemu-aarch64 qemu-aarch64-static; do
	if command -v "$q" >/dev/null 2>&1; then
		runner=("$q")
		break
	fi
done
if [ ${#runner[@]} -eq 0 ]; then
	echo "PASS (compile only): no qemu-aarch64 to run AArch64 code (Debian: qemu-user)"
	exit 0
fi

# probe_switch / clobber_switch: load patterns (garbage) into every register
# AAPCS64 makes callee-saved, switch, and count what changed.
{
	cat <<'EOF'
	.text
	.globl	probe_switch
	.type	probe_switch, %function
	.p2align 4
/* int probe_switch(cr__ctx *from, cr__ctx *to, uint64_t salt) */
probe_switch:
	stp	x29, x30, [sp, #-176]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	str	x2, [sp, #160]
	mov	x9, sp
	str	x9, [sp, #168]
EOF
	for r in 19 20 21 22 23 24 25 26 27 28; do
		printf '\tmov\tx%s, #0x%s00\n\tmovk\tx%s, #0xa5%s, lsl #48\n\teor\tx%s, x%s, x2\n' "$r" "$r" "$r" "$r" "$r" "$r"
	done
	for r in 8 9 10 11 12 13 14 15; do
		printf '\tmov\tx9, #0x%02d00\n\tmovk\tx9, #0x5a%02d, lsl #48\n\teor\tx9, x9, x2\n\tfmov\td%s, x9\n' "$r" "$r" "$r"
	done
	cat <<'EOF'
	bl	cr__ctx_switch
	ldr	x2, [sp, #160]
	mov	x0, #0
	ldr	x9, [sp, #168]
	mov	x10, sp
	cmp	x9, x10
	cinc	x0, x0, ne
	cmp	x29, x10
	cinc	x0, x0, ne
EOF
	for r in 19 20 21 22 23 24 25 26 27 28; do
		printf '\tmov\tx9, #0x%s00\n\tmovk\tx9, #0xa5%s, lsl #48\n\teor\tx9, x9, x2\n\tcmp\tx%s, x9\n\tcinc\tx0, x0, ne\n' "$r" "$r" "$r"
	done
	for r in 8 9 10 11 12 13 14 15; do
		printf '\tmov\tx9, #0x%02d00\n\tmovk\tx9, #0x5a%02d, lsl #48\n\teor\tx9, x9, x2\n\tfmov\tx10, d%s\n\tcmp\tx10, x9\n\tcinc\tx0, x0, ne\n' "$r" "$r" "$r"
	done
	cat <<'EOF'
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldp	x29, x30, [sp], #176
	ret
	.size	probe_switch, .-probe_switch

	.globl	clobber_switch
	.type	clobber_switch, %function
	.p2align 4
/* void clobber_switch(cr__ctx *from, cr__ctx *to): switches with garbage in
 * every callee-saved register, restoring its caller's values afterwards. */
clobber_switch:
	stp	x29, x30, [sp, #-160]!
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
EOF
	for r in 19 20 21 22 23 24 25 26 27 28 29; do
		printf '\tmov\tx%s, #0xdead\n\tmovk\tx%s, #0x%s, lsl #32\n' "$r" "$r" "$r"
	done
	for r in 8 9 10 11 12 13 14 15; do
		printf '\tmov\tx9, #0xbeef\n\tmovk\tx9, #0x%s, lsl #32\n\tfmov\td%s, x9\n' "$r" "$r"
	done
	cat <<'EOF'
	bl	cr__ctx_switch
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldp	x29, x30, [sp], #160
	ret
	.size	clobber_switch, .-clobber_switch
	.section .note.GNU-stack,"",%progbits
EOF
} >"$tmp/probe.S"

cat >"$tmp/prog.c" <<'EOF'
/* Ping-pong between main and a coroutine made by cr__ctx_make. */
#include <stdint.h>
#include <stdio.h>

#include "context.h"

#define ROUNDS 1000

int probe_switch(cr__ctx *from, cr__ctx *to, uint64_t salt);
void clobber_switch(cr__ctx *from, cr__ctx *to);

static cr__ctx main_ctx, co_ctx;
static _Alignas(16) unsigned char stack[64 * 1024];
static void *volatile entry_arg;
static volatile uintptr_t entry_sp;
static volatile int steps;

static void co_entry(void *arg)
{
	volatile unsigned char probe;
	entry_arg = arg;
	entry_sp = (uintptr_t)&probe;
	for (;;) {
		steps++;
		clobber_switch(&co_ctx, &main_ctx);
	}
}

int main(void)
{
	int bad = 0;
	cr__ctx_make(&co_ctx, stack + sizeof(stack), co_entry, (void *)(uintptr_t)0x1234);
	for (int i = 0; i < ROUNDS; i++)
		bad += probe_switch(&main_ctx, &co_ctx, (uint64_t)i * 0x0001000100010001ull);
	int ok = bad == 0 && steps == ROUNDS && entry_arg == (void *)(uintptr_t)0x1234 &&
		 entry_sp > (uintptr_t)stack && entry_sp < (uintptr_t)stack + sizeof(stack);
	printf("aarch64-switch: rounds %d, steps %d, mismatched registers %d, arg %p, "
	       "coroutine stack %s: %s\n",
	       ROUNDS, steps, bad, entry_arg, entry_sp > (uintptr_t)stack ? "used" : "NOT used",
	       ok ? "ok" : "BROKEN");
	return ok ? 0 : 1;
}
EOF

echo "== linking a static AArch64 program (context.c + switch_aarch64.S + register probe)"
"$xcc" -std=c11 -D_GNU_SOURCE -O2 -static -I"$src/runtime" -I"$src/runtime/include" "$tmp/prog.c" "$tmp/probe.S" \
	"$src/runtime/context.c" "$src/runtime/switch_aarch64.S" -o "$tmp/prog" >"$tmp/link.log" 2>&1 ||
	{ cat "$tmp/link.log"; fail "linking the AArch64 switch program failed"; }
is_aarch64_elf "$tmp/prog" "EXEC|DYN"

rc=0
out=$(timeout 60 "${runner[@]}" "$tmp/prog" 2>&1) || rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "the AArch64 switch program failed under ${runner[*]} (exit $rc)"
grep -q "mismatched registers 0, .*: ok" <<<"$out" || fail "unexpected output from the AArch64 program"
echo "PASS: runtime compiles for AArch64 and its switch preserves callee-saved state under ${runner[*]}"
