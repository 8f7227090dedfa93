/* SPDX-License-Identifier: MIT */
/* One wording of io_uring setup failures, reading the sysctl, memlock limit and kernel version. */
#include "setup_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* Returns kernel.io_uring_disabled, or -1 where the sysctl does not exist. */
static int io_uring_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Returns 1 if the running kernel predates 5.12 (rings charged to memlock). */
static int kernel_before_5_12(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major < 5 || (major == 5 && minor < 12);
}

void cr__explain_setup_error(int err, char *buf, size_t len)
{
	int disabled = io_uring_disabled();
	struct rlimit rl = {0, 0};
	getrlimit(RLIMIT_MEMLOCK, &rl);
	unsigned long long lim = (unsigned long long)rl.rlim_cur;
	if (err == -EPERM && disabled == 2)
		snprintf(buf, len, "io_uring is disabled by the sysctl kernel.io_uring_disabled=2");
	else if (err == -EPERM && disabled == 1)
		snprintf(buf, len,
			 "kernel.io_uring_disabled=1 allows io_uring only to members of "
			 "the group in kernel.io_uring_group (or CAP_SYS_ADMIN); this "
			 "process is not one");
	else if (err == -EPERM)
		snprintf(buf, len,
			 "io_uring_setup was denied (EPERM): likely a seccomp filter "
			 "(container runtime) or an LSM policy (SELinux, AppArmor)");
	else if (err == -ENOSYS)
		snprintf(buf, len,
			 "io_uring_setup is not implemented (ENOSYS): a kernel built "
			 "without io_uring, or a seccomp filter returning ENOSYS as many "
			 "container runtimes do");
	else if (err == -ENOMEM && kernel_before_5_12())
		snprintf(buf, len,
			 "io_uring_setup ran out of locked memory (ENOMEM): kernels "
			 "before 5.12 charge rings to RLIMIT_MEMLOCK, which is %llu bytes "
			 "here; raise it (ulimit -l) or use fewer entries",
			 lim);
	else if (err == -ENOMEM)
		snprintf(buf, len,
			 "io_uring_setup ran out of memory (ENOMEM): the kernel could "
			 "not allocate the ring; use fewer SQ/CQ entries or free memory");
	else if (err == -EMFILE || err == -ENFILE)
		snprintf(buf, len, "io_uring_setup found no file descriptor left for the ring (%s)",
			 strerror(-err));
	else
		snprintf(buf, len, "io_uring_setup failed: %s (errno %d)", strerror(-err), -err);
}
