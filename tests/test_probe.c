/* SPDX-License-Identifier: MIT */
/* test_probe: cr_probe returns a well-formed report consistent with this machine. */
#include <coring.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* Local assertion macros (print both values and file:line, then fail). */
#define FAIL_AT(fmt, ...)                                                               \
	do {                                                                            \
		fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);   \
		return 1;                                                               \
	} while (0)
#define EXPECT_TRUE(c)                                                                  \
	do {                                                                            \
		if (!(c))                                                               \
			FAIL_AT("expected %s", #c);                                     \
	} while (0)
#define EXPECT_INT(op, a, b)                                                            \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		if (!(a_ op b_))                                                        \
			FAIL_AT("expected %s %s %s, got %lld vs %lld", #a, #op, #b, a_, b_); \
	} while (0)
#define EXPECT_STR_NONEMPTY(s, what)                                                    \
	do {                                                                            \
		if (!(s) || !(s)[0])                                                    \
			FAIL_AT("empty %s: \"%s\"", what, (s) ? (s) : "(null)");        \
	} while (0)

static cr_probe_report report, again;

/* Returns the number of open file descriptors below 1024. */
static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/* Returns 1 if kind is one of the four documented kinds. */
static int known_kind(const char *kind)
{
	static const char *const kinds[] = {"setup-flag", "opcode", "feature", "kernel"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return 1;
	return 0;
}

/* Returns the index of the item called name, or -1. */
static long find(const char *name)
{
	for (size_t i = 0; i < report.n_items; i++)
		if (strcmp(report.items[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Checks every item's fields and that names are unique.  Returns 0 or 1. */
static int check_items(void)
{
	EXPECT_INT(>, report.n_items, 10);
	EXPECT_INT(<=, report.n_items, 48);
	for (size_t i = 0; i < report.n_items; i++) {
		const cr_probe_item *it = &report.items[i];
		EXPECT_STR_NONEMPTY(it->name, "item name");
		EXPECT_STR_NONEMPTY(it->kind, it->name);
		EXPECT_STR_NONEMPTY(it->fallback, it->name);
		if (!known_kind(it->kind))
			FAIL_AT("item %s has kind \"%s\", not one of the four", it->name, it->kind);
		EXPECT_INT(>=, it->available, -1);
		EXPECT_INT(<=, it->available, 1);
		for (size_t j = i + 1; j < report.n_items; j++)
			if (strcmp(it->name, report.items[j].name) == 0)
				FAIL_AT("duplicate item name \"%s\" at %zu and %zu", it->name, i, j);
	}
	return 0;
}

/* Checks the usable / not usable invariants.  Returns 0 or 1. */
static int check_usability(void)
{
	EXPECT_STR_NONEMPTY(report.kernel, "kernel string");
	EXPECT_TRUE(report.io_uring_usable == 0 || report.io_uring_usable == 1);
	if (report.io_uring_usable) {
		long nop = find("IORING_OP_NOP");
		EXPECT_INT(>=, nop, 0);
		EXPECT_INT(==, report.items[nop].available, 1);
		EXPECT_INT(==, report.setup_errno, 0);
		if (report.reason[0])
			FAIL_AT("usable but reason is \"%s\"", report.reason);
	} else {
		EXPECT_STR_NONEMPTY(report.reason, "reason while io_uring is unusable");
		EXPECT_INT(!=, report.setup_errno, 0);
	}
	return 0;
}

/* Checks that a second probe closes what it opens and reports the same items.
 * Returns 0 or 1. */
static int check_repeatable(void)
{
	int before = open_fds();
	EXPECT_INT(==, cr_probe(&again), 0);
	EXPECT_INT(==, open_fds(), before);
	EXPECT_INT(==, again.n_items, report.n_items);
	EXPECT_INT(==, again.io_uring_usable, report.io_uring_usable);
	for (size_t i = 0; i < report.n_items; i++)
		if (strcmp(again.items[i].name, report.items[i].name) != 0)
			FAIL_AT("item %zu: \"%s\" then \"%s\"", i, report.items[i].name,
				again.items[i].name);
	return 0;
}

int main(void)
{
	EXPECT_INT(==, cr_probe(&report), 0);
	if (check_items() || check_usability() || check_repeatable())
		return 1;
	printf("test_probe: %zu items, io_uring %s\n", report.n_items,
	       report.io_uring_usable ? "usable" : "unusable");
	return 0;
}
