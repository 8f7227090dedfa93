/* SPDX-License-Identifier: MIT */
/* coring-probe: reports whether coring can run on this kernel and what it falls back to. */
#include <coring.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: coring-probe [--json] [--help] [--version]\n"
	"\n"
	"Probes the running kernel without starting the runtime: whether io_uring\n"
	"can be used here (and why not), then for each setup flag, opcode and\n"
	"feature coring relies on, whether this kernel has it and what coring\n"
	"does without it.\n"
	"\n"
	"  --json     print the report as JSON (available: true, false or null;\n"
	"             memlock_limit: bytes, or null when unlimited)\n"
	"  --help     print this help and exit\n"
	"  --version  print the coring version and exit\n"
	"\n"
	"Exit status: 0 if io_uring is usable, 1 if not (or the probe failed),\n"
	"2 on bad usage.\n";

/* Returns "yes", "no" or "unknown" for an item's available value. */
static const char *yes_no(int available)
{
	return available > 0 ? "yes" : available == 0 ? "no" : "unknown";
}

/* Prints the report as aligned text.  Returns nothing. */
static void print_text(const cr_probe_report *r)
{
	printf("coring-probe %s\n", CR_VERSION_STRING);
	printf("kernel:             %s\n", r->kernel);
	if (r->io_uring_usable)
		printf("io_uring usable:    yes\n");
	else
		printf("io_uring usable:    no (errno %d): %s\n", r->setup_errno, r->reason);
	if (r->io_uring_disabled < 0)
		printf("io_uring_disabled:  (sysctl absent)\n");
	else
		printf("io_uring_disabled:  %d\n", r->io_uring_disabled);
	if (r->memlock_limit == UINT64_MAX)
		printf("memlock limit:      unlimited\n");
	else
		printf("memlock limit:      %llu bytes\n", (unsigned long long)r->memlock_limit);
	printf("\n%-28s %-11s %-9s %s\n", "NAME", "KIND", "AVAILABLE", "WITHOUT IT / NOTE");
	for (size_t i = 0; i < r->n_items; i++) {
		const cr_probe_item *it = &r->items[i];
		printf("%-28s %-11s %-9s %s\n", it->name, it->kind, yes_no(it->available),
		       it->fallback);
	}
}

/* Prints s as a JSON string literal (quotes included).  Returns nothing. */
static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Prints "key": "value" with JSON escaping, then sep.  Returns nothing. */
static void json_field(const char *key, const char *value, const char *sep)
{
	printf("\"%s\": ", key);
	json_string(value);
	fputs(sep, stdout);
}

/* Prints the report as one JSON object.  Returns nothing. */
static void print_json(const cr_probe_report *r)
{
	printf("{\n  ");
	json_field("coring_version", CR_VERSION_STRING, ",\n  ");
	json_field("kernel", r->kernel, ",\n  ");
	printf("\"io_uring_usable\": %s,\n", r->io_uring_usable ? "true" : "false");
	printf("  \"setup_errno\": %d,\n  ", r->setup_errno);
	json_field("reason", r->reason, ",\n");
	printf("  \"io_uring_disabled\": %d,\n", r->io_uring_disabled);
	if (r->memlock_limit == UINT64_MAX)
		printf("  \"memlock_limit\": null,\n");
	else
		printf("  \"memlock_limit\": %llu,\n", (unsigned long long)r->memlock_limit);
	printf("  \"items\": [");
	for (size_t i = 0; i < r->n_items; i++) {
		const cr_probe_item *it = &r->items[i];
		printf("%s\n    {", i ? "," : "");
		json_field("name", it->name, ", ");
		json_field("kind", it->kind, ", ");
		printf("\"available\": %s, ", it->available > 0	   ? "true"
					      : it->available == 0 ? "false"
								   : "null");
		json_field("fallback", it->fallback, "}");
	}
	printf("\n  ]\n}\n");
}

int main(int argc, char **argv)
{
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("coring-probe %s\n", CR_VERSION_STRING);
			return 0;
		} else {
			fprintf(stderr, "coring-probe: unknown option '%s' (try --help)\n",
				argv[i]);
			return 2;
		}
	}

	static cr_probe_report report;
	int ret = cr_probe(&report);
	if (ret < 0) {
		fprintf(stderr, "coring-probe: probing failed: %s\n", strerror(-ret));
		return 1;
	}
	if (json)
		print_json(&report);
	else
		print_text(&report);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "coring-probe: could not write the report\n");
		return 1;
	}
	return report.io_uring_usable ? 0 : 1;
}
