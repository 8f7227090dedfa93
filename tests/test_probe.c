/* SPDX-License-Identifier: MIT */
/* test_probe: cr_probe returns a well-formed report consistent with this machine. */
#include "check.h"

#include <fcntl.h>

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

/* Returns 1 if s is neither NULL nor "". */
static int nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Checks every item's fields and that names are unique.  Returns nothing (fails the test). */
static void check_items(void)
{
	CHECK_GT_U64(report.n_items, 10);
	CHECK_LE_U64(report.n_items, 48);
	for (size_t i = 0; i < report.n_items; i++) {
		const cr_probe_item *it = &report.items[i];
		CHECK_MSG(nonempty(it->name), "item %zu: empty name", i);
		CHECK_MSG(nonempty(it->kind), "item %s: empty kind", it->name);
		CHECK_MSG(nonempty(it->fallback), "item %s: empty fallback", it->name);
		CHECK_MSG(known_kind(it->kind), "item %s has kind \"%s\", not one of the four",
			  it->name, it->kind);
		CHECK_GE_INT(it->available, -1);
		CHECK_LE_INT(it->available, 1);
		for (size_t j = i + 1; j < report.n_items; j++)
			CHECK_MSG(strcmp(it->name, report.items[j].name) != 0,
				  "duplicate item name \"%s\" at %zu and %zu", it->name, i, j);
	}
}

/* Checks the usable / not usable invariants.  Returns nothing (fails the test). */
static void check_usability(void)
{
	CHECK_NONEMPTY_STR(report.kernel);
	CHECK(report.io_uring_usable == 0 || report.io_uring_usable == 1);
	if (report.io_uring_usable) {
		long nop = find("IORING_OP_NOP");
		CHECK_GE_INT(nop, 0);
		CHECK_EQ_INT(report.items[nop].available, 1);
		CHECK_EQ_INT(report.setup_errno, 0);
		CHECK_EQ_STR(report.reason, ""); /* usable: no reason */
	} else {
		CHECK_NONEMPTY_STR(report.reason); /* why io_uring is unusable */
		CHECK_NE_INT(report.setup_errno, 0);
	}
}

/* Checks that a second probe closes what it opens and reports the same items.  Returns
 * nothing (fails the test). */
static void check_repeatable(void)
{
	int before = open_fds();
	CHECK_EQ_INT(cr_probe(&again), 0);
	CHECK_EQ_INT(open_fds(), before);
	CHECK_EQ_U64(again.n_items, report.n_items);
	CHECK_EQ_INT(again.io_uring_usable, report.io_uring_usable);
	for (size_t i = 0; i < report.n_items; i++)
		CHECK_MSG(strcmp(again.items[i].name, report.items[i].name) == 0,
			  "item %zu: \"%s\" then \"%s\"", i, report.items[i].name,
			  again.items[i].name);
}

int main(void)
{
	CHECK_EQ_INT(cr_probe(&report), 0);
	check_items();
	check_usability();
	check_repeatable();
	printf("test_probe: %zu items, io_uring %s\n", report.n_items,
	       report.io_uring_usable ? "usable" : "unusable");
	return 0;
}
