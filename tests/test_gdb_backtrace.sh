#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gdb's backtrace from inside a task runs through the task body and the runtime's task entry and stops cleanly at cr__ctx_trampoline.
set -euo pipefail

# shellcheck source=tests/build_tree.bash
. "$(dirname "$0")/build_tree.bash"

command -v gdb >/dev/null 2>&1 || skip "gdb not found"
case "$sanitize" in
*thread*) skip "TSan build (CORING_SANITIZE=$sanitize): TSan's runtime does not run under gdb reliably" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-gdb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/prog.c" <<'EOF'
/* A task that yields once, then calls deep_in_task (where gdb stops). */
#include <coring.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

volatile int sink;

__attribute__((noinline)) int deep_in_task(int x)
{
	sink = x;
	return x * 2 + 1;
}

__attribute__((noinline)) static int task_body(void *arg)
{
	if (cr_yield() != 0)
		return -1;
	int r = deep_in_task((int)(intptr_t)arg);
	sink = r;
	return r;
}

static int main_task(void *arg)
{
	cr_task *t;
	cr_spawn_opts opts = {.name = "gdb-target", .stack_size = 0};
	int r = -1;
	(void)arg;
	if (cr_spawn(&t, task_body, (void *)(intptr_t)20, &opts) != 0)
		return -2;
	if (cr_join(t, &r) != 0)
		return -3;
	return r;
}

int main(void)
{
	int result = 0;
	int rc = cr_run(NULL, main_task, NULL, &result);
	if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) {
		fprintf(stderr, "io_uring not usable: %s\n", cr_setup_error());
		return 77;
	}
	printf("rc=%d result=%d\n", rc, result);
	return rc == 0 && result == 41 ? 0 : 1;
}
EOF

tree_compile "$tmp/prog.c" "$tmp/prog" -g -O0 || fail "compiling the gdb target failed"

rc=0
"$tmp/prog" >"$tmp/run.log" 2>&1 || rc=$?
[ "$rc" -ne 77 ] || skip "io_uring is not usable here: $(cat "$tmp/run.log")"
[ "$rc" -eq 0 ] || { cat "$tmp/run.log"; fail "the gdb target fails on its own (exit $rc)"; }

rc=0
timeout 60 gdb -q -nx -batch \
	-ex 'set pagination off' \
	-ex 'set confirm off' \
	-ex 'set startup-with-shell off' \
	-ex 'set debuginfod enabled off' \
	-ex 'break deep_in_task' \
	-ex run \
	-ex 'bt 40' \
	-ex kill \
	"$tmp/prog" >"$tmp/gdb.log" 2>&1 || rc=$?
echo "== gdb output (exit $rc)"
cat "$tmp/gdb.log"

if grep -q "ptrace: Operation not permitted" "$tmp/gdb.log"; then
	skip "gdb cannot trace processes here (ptrace not permitted)"
fi
if [ -n "$sanitize" ] && ! grep -q "Breakpoint 1, " "$tmp/gdb.log" &&
	grep -q "Sanitizer" "$tmp/gdb.log"; then
	skip "the $sanitize build does not run under gdb here"
fi
grep -q "Breakpoint 1, .*deep_in_task" "$tmp/gdb.log" || fail "gdb never stopped in deep_in_task"

grep -E '^#[0-9]+ ' "$tmp/gdb.log" >"$tmp/frames" || true
# Drop the optional "0x... in " so every line reads "#N name (...".
sed -E 's/^(#[0-9]+) +(0x[0-9a-f]+ in )?/\1 /' "$tmp/frames" >"$tmp/names"
nframes=$(wc -l <"$tmp/names")
echo "== $nframes frames"
[ "$nframes" -ge 4 ] || fail "expected at least 4 frames, got $nframes"
[ "$nframes" -le 8 ] || fail "expected the backtrace to end within 8 frames, got $nframes"

frame_name() { sed -n "$(($1 + 1))p" "$tmp/names" | awk '{print $2}'; }
[ "$(frame_name 0)" = deep_in_task ] || fail "frame #0 is '$(frame_name 0)', expected deep_in_task"
[ "$(frame_name 1)" = task_body ] || fail "frame #1 is '$(frame_name 1)', expected task_body"
last=$((nframes - 1))
# Without debug info gdb decodes "__" in a symbol as Ada's "." (cr__x prints as cr.x).
case "$(frame_name "$last")" in
cr__ctx_trampoline | cr.ctx_trampoline) ;;
*) fail "last frame #$last is '$(frame_name "$last")', expected cr__ctx_trampoline" ;;
esac
entry_found=0
for ((i = 2; i < last; i++)); do
	name=$(frame_name "$i")
	case "$name" in
	*task_entry*) entry_found=1 ;;
	"??" | "") fail "frame #$i has no function name: $(sed -n "$((i + 1))p" "$tmp/frames")" ;;
	esac
done
[ "$entry_found" -eq 1 ] || fail "no runtime task entry (task_entry) between task_body and the trampoline"

for bad in "Backtrace stopped" "corrupt stack" "previous frame inner" "previous frame identical" \
	"Cannot access memory" "?? ()"; do
	if grep -qF "$bad" "$tmp/gdb.log"; then
		fail "gdb output contains '$bad'"
	fi
done

echo "PASS: backtrace deep_in_task -> task_body -> task entry -> cr__ctx_trampoline, ends cleanly"
