/* SPDX-License-Identifier: MIT */
/* Test helper: runs a program with signalfd(2) and signalfd4(2) failing with EPERM (seccomp). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_signalfd
#define __NR_signalfd __NR_signalfd4 /* aarch64 has signalfd4 only */
#endif

/* Installs the filter: signalfd/signalfd4 of the native ABI fail with EPERM,
 * every other call is allowed.  Returns 0 or -errno. */
static int deny_signalfd(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_signalfd4, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_signalfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
#ifndef NATIVE_ARCH
	(void)argc;
	(void)argv;
	fprintf(stderr, "deny_signalfd: unsupported architecture\n");
	return 77;
#else
	if (argc < 2) {
		fprintf(stderr, "usage: deny_signalfd PROGRAM [ARGS...]\n");
		return 2;
	}
	int r = deny_signalfd();
	if (r < 0) {
		fprintf(stderr, "deny_signalfd: cannot install the seccomp filter: %s\n",
			strerror(-r));
		return 77;
	}
	execv(argv[1], argv + 1);
	fprintf(stderr, "deny_signalfd: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
#endif
}
