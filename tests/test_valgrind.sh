#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# valgrind memcheck finds no error, no leak and no unannounced stack switch in a workload of switching, sleeping, nops, file I/O and callbacks.
set -euo pipefail

# shellcheck source=tests/build_tree.bash
. "$(dirname "$0")/build_tree.bash"

command -v valgrind >/dev/null 2>&1 || skip "valgrind not found"
[ -z "$sanitize" ] || skip "sanitizer build (CORING_SANITIZE=$sanitize): valgrind cannot run sanitized programs"
have_vg=$(cache_var CORING_VALGRIND_HEADER)
use_vg=$(cache_var CORING_USE_VALGRIND)
if [ "$use_vg" = OFF ] || [ "$have_vg" != 1 ]; then
	skip "the library was built without valgrind annotations (CORING_USE_VALGRIND=$use_vg, valgrind.h found: ${have_vg:-no})"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/workload.c" <<'EOF'
/* Switching, sleeping, nops, file I/O, callbacks, cancellation and a deadline. */
#include <coring.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PINGERS 8
#define ROUNDS 200
#define MANY 300 /* more than the pool keeps warm: stacks get recycled */
#define FILE_LEN (256 * 1024)

static const char *path;
static int fresh_buffer; /* 1: read into a never-written buffer */
static int callbacks_run;

#define EXPECT(c)                                                                   \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "workload: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			return -1000 - __LINE__;                                    \
		}                                                                   \
	} while (0)

static int pinger(void *arg)
{
	int id = (int)(intptr_t)arg;
	long acc = 0;
	for (int i = 0; i < ROUNDS; i++) {
		acc += id * i;
		if (i % 50 == 0)
			EXPECT(cr_nop() == 0);
		else if (i % 17 == 0)
			EXPECT(cr_sleep(100 * 1000) == 0);
		else
			EXPECT(cr_yield() == 0);
	}
	return (int)(acc % 100000);
}

static int short_lived(void *arg)
{
	char buf[512];
	memset(buf, (int)(intptr_t)arg, sizeof(buf));
	EXPECT(cr_yield() == 0);
	return buf[7] + buf[300];
}

static int sleeper_to_cancel(void *arg)
{
	(void)arg;
	return cr_sleep(60ull * 1000000000ull) == -ECANCELED ? 7 : -1;
}

static void on_callback(void *arg)
{
	callbacks_run += (int)(intptr_t)arg;
}

static int file_task(void *arg)
{
	(void)arg;
	unsigned char *out = malloc(FILE_LEN), *in = malloc(FILE_LEN);
	EXPECT(out && in);
	for (size_t i = 0; i < FILE_LEN; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	int fd = cr_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT(fd >= 0);
	EXPECT(cr_file_write_all(fd, out, FILE_LEN, 0) == FILE_LEN);
	EXPECT(cr_file_fsync(fd, 1) == 0);
	/* With fresh_buffer, `in` is never written by us: only the kernel fills
	 * it, through the ring, which memcheck cannot see by itself. */
	if (!fresh_buffer)
		memset(in, 0xee, FILE_LEN);
	size_t got = 0;
	while (got < FILE_LEN) {
		ssize_t n = cr_file_read(fd, in + got, FILE_LEN - got, (int64_t)got);
		EXPECT(n > 0);
		got += (size_t)n;
	}
	EXPECT(cr_file_close(fd) == 0);
	int same = memcmp(in, out, FILE_LEN) == 0;
	free(in);
	free(out);
	EXPECT(same);
	return 3;
}

static int main_task(void *arg)
{
	(void)arg;
	cr_task *p[PINGERS], *many[MANY], *victim, *file;
	int results[PINGERS], r = -1;

	EXPECT(cr_call_soon(on_callback, (void *)(intptr_t)1) != 0);
	EXPECT(cr_call_later(1000 * 1000, on_callback, (void *)(intptr_t)10) != 0);
	cr_callback_id never = cr_call_later(30ull * 1000000000ull, on_callback, (void *)(intptr_t)100);
	EXPECT(never != 0);

	for (int i = 0; i < PINGERS; i++)
		EXPECT(cr_spawn(&p[i], pinger, (void *)(intptr_t)(i + 1), NULL) == 0);
	EXPECT(cr_spawn(&file, file_task, NULL, NULL) == 0);
	EXPECT(cr_spawn(&victim, sleeper_to_cancel, NULL, NULL) == 0);
	for (int i = 0; i < MANY; i++)
		EXPECT(cr_spawn(&many[i], short_lived, (void *)(intptr_t)(i % 50 + 1), NULL) == 0);

	cr_deadline d;
	EXPECT(cr_timeout_enter(&d, 2 * 1000 * 1000) == 0);
	EXPECT(cr_sleep(10ull * 1000000000ull) == -ETIMEDOUT);
	EXPECT(cr_deadline_exit(&d) == 1);

	EXPECT(cr_cancel(victim) == 0);
	EXPECT(cr_join(victim, &r) == 0 && r == 7);
	EXPECT(cr_gather(p, PINGERS, results) == 0);
	for (int i = 0; i < PINGERS; i++) {
		long acc = 0;
		for (int k = 0; k < ROUNDS; k++)
			acc += (i + 1) * k;
		EXPECT(results[i] == (int)(acc % 100000));
	}
	for (int i = 0; i < MANY; i++) {
		EXPECT(cr_join(many[i], &r) == 0);
		EXPECT(r == 2 * (i % 50 + 1));
	}
	EXPECT(cr_join(file, &r) == 0 && r == 3);
	/* A second wave reuses the recycled stacks. */
	for (int i = 0; i < MANY; i++)
		EXPECT(cr_spawn(&many[i], short_lived, (void *)(intptr_t)5, NULL) == 0);
	for (int i = 0; i < MANY; i++)
		EXPECT(cr_join(many[i], &r) == 0 && r == 10);
	EXPECT(cr_callback_cancel(never) == 0);
	EXPECT(callbacks_run == 11);
	return 42;
}

int main(int argc, char **argv)
{
	int result = 0;
	if (argc < 3)
		return 2;
	path = argv[1];
	fresh_buffer = strcmp(argv[2], "fresh") == 0;
	int rc = cr_run(NULL, main_task, NULL, &result);
	if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) {
		fprintf(stderr, "workload: io_uring not usable: %d: %s\n", rc, cr_setup_error());
		return 77;
	}
	unlink(path);
	printf("workload: cr_run %d, result %d\n", rc, result);
	if (rc != 0)
		fprintf(stderr, "workload: cr_run failed: %s\n", cr_setup_error());
	return rc == 0 && result == 42 ? 0 : 1;
}
EOF

tree_compile "$tmp/workload.c" "$tmp/workload" -g -O1 || fail "compiling the workload failed"

rc=0
"$tmp/workload" "$tmp/data" fresh >"$tmp/native.log" 2>&1 || rc=$?
[ "$rc" -ne 77 ] || skip "io_uring is not usable here: $(cat "$tmp/native.log")"
[ "$rc" -eq 0 ] || { cat "$tmp/native.log"; fail "the workload fails without valgrind (exit $rc)"; }

# jemalloc is a separate allocator: tell memcheck to replace it like malloc.
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full "--show-leak-kinds=definite,indirect"
	"--errors-for-leak-kinds=definite,indirect" --track-origins=yes
	"--soname-synonyms=somalloc=*jemalloc*")

# run_vg <name> <command...>: runs one program under memcheck and checks the log.
run_vg() {
	local name=$1 rc=0
	shift
	echo "== valgrind $name"
	timeout 300 "${vg[@]}" --log-file="$tmp/$name.vg" "$@" >"$tmp/$name.out" 2>&1 || rc=$?
	cat "$tmp/$name.out"
	if [ "$rc" -eq 77 ]; then
		grep -iE "unhandled|unsupported|not implemented" "$tmp/$name.vg" || true
		skip "$name cannot set up io_uring under valgrind $(valgrind --version): $(cat "$tmp/$name.out")"
	fi
	grep -E "ERROR SUMMARY|definitely lost|indirectly lost|switching stacks|unhandled" "$tmp/$name.vg" || true
	if [ "$rc" -ne 0 ]; then
		cat "$tmp/$name.vg"
		case "$name" in
		*fresh-buffer*)
			grep -q "Uninitialised value was created by a heap allocation" "$tmp/$name.vg" &&
				fail "$name: bytes that cr_file_read delivered through io_uring are undefined for memcheck (the runtime does not mark completed read buffers defined, e.g. VALGRIND_MAKE_MEM_DEFINED(buf, res))"
			;;
		esac
		fail "$name under valgrind exited with $rc (99 = memcheck found errors)"
	fi
	grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$tmp/$name.vg" ||
		{ cat "$tmp/$name.vg"; fail "$name: memcheck reported errors"; }
	if grep -qE "client switching stacks|unhandled (amd64|arm64|x86)-linux syscall" "$tmp/$name.vg"; then
		cat "$tmp/$name.vg"
		fail "$name: valgrind warned about a stack switch or an unknown syscall"
	fi
}

probe=$build/tests/test_probe
if [ -x "$probe" ]; then
	run_vg test_probe "$probe"
else
	echo "note: $probe not built, only the workload runs"
fi
run_vg workload "$tmp/workload" "$tmp/data" written
grep -q "workload: cr_run 0, result 42" "$tmp/workload.out" || fail "the workload did not finish under valgrind"

# The same with a read buffer only the kernel writes: the data a read
# returned through the ring must count as defined for memcheck, as it does
# for read(2), or every program that reads is flooded with false errors.
run_vg workload-fresh-buffer "$tmp/workload" "$tmp/data" fresh
grep -q "workload: cr_run 0, result 42" "$tmp/workload-fresh-buffer.out" ||
	fail "the workload (fresh read buffer) did not finish under valgrind"

echo "PASS: memcheck clean (0 errors, no leaks, no stack-switch warnings)"
