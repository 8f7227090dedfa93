/* SPDX-License-Identifier: MIT */
/* Reports a task's stack overflow by name: SIGSEGV on the guard page, or a clobbered canary. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stack_overflow.h"
#include "task.h"
#include "worker.h"

#define ALTSTACK_SIZE (64u * 1024u)

static struct sigaction previous_segv, previous_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void put(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t k = write(STDERR_FILENO, s, n);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static void put_size(size_t v)
{
	char buf[24];
	size_t i = sizeof(buf);
	buf[--i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(buf + i);
}

static void report(const cr_task *t, const char *how)
{
	put("coring: stack overflow in task '");
	put(t->name);
	put("' (stack of ");
	put_size(t->slot_size);
	put(" bytes; ");
	put(how);
	put("): spawn it with a larger cr_spawn_opts.stack_size\n");
}

static void chain(const struct sigaction *prev, int sig, siginfo_t *si, void *uc)
{
	if (prev->sa_flags & SA_SIGINFO && prev->sa_sigaction) {
		prev->sa_sigaction(sig, si, uc);
		return;
	}
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL); /* returning re-executes the access: default action */
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	cr__worker *w = cr__tls_worker;
	cr_task *t = w ? w->current : NULL;
	if (t && cr__stack_in_guard(&w->stacks, t->slot, si->si_addr)) {
		report(t, "guard page hit");
		signal(sig, SIG_DFL);
		return;
	}
	chain(sig == SIGBUS ? &previous_bus : &previous_segv, sig, si, uc);
}

static void install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &previous_segv);
	sigaction(SIGBUS, &sa, &previous_bus);
}

int cr__overflow_init(cr__worker *w)
{
	pthread_once(&install_once, install_handlers);
	void *mem = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) < 0) {
		munmap(mem, ALTSTACK_SIZE);
		return -errno;
	}
	w->altstack = mem;
	w->altstack_size = ALTSTACK_SIZE;
	return 0;
}

void cr__overflow_fini(cr__worker *w)
{
	if (!w->altstack)
		return;
	stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
	sigaltstack(&ss, NULL);
	munmap(w->altstack, w->altstack_size);
	w->altstack = NULL;
}

void cr__overflow_check_canary(cr__worker *w, cr_task *t)
{
	const uint64_t *canary = (const uint64_t *)((const char *)t->slot + w->stacks.page);
	if (*canary == CR__STACK_CANARY)
		return;
	report(t, "canary overwritten");
	abort();
}
