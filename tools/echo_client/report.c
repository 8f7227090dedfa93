/* SPDX-License-Identifier: MIT */
/* The final report: messages/s, MB/s each way, latency percentiles, errors; text or JSON. */
#include "report.h"

#include <coring.h>

/* The percentiles reported, and their JSON names. */
static const double pcts[] = {50, 90, 99, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};
static const char *const pct_labels[] = {"p50", "p90", "p99", "p99.9"};
#define N_PCTS 4

/* Returns how many connections started (connected before the run ended). */
static uint64_t started(const ec_totals *t)
{
	return t->conns_ok + t->conns_failed + t->not_closed;
}

int ec_report_status(const ec_report *rep)
{
	const ec_totals *t = &rep->t;
	if (t->errors > 0 || t->corrupted > 0 || t->unanswered > 0 || t->conns_failed > 0 ||
	    started(t) == 0)
		return EC_EXIT_FAILED;
	return t->not_closed > 0 ? EC_EXIT_NOT_CLOSED : EC_EXIT_OK;
}

int ec_report_too_few_started(const ec_report *rep)
{
	const ec_totals *t = &rep->t;
	return t->not_started * 100 > (uint64_t)rep->opt->connections * EC_NOT_STARTED_WARN_PCT;
}

/* Prints the result line of the text report.  Returns nothing. */
static void result_line(FILE *f, const ec_report *rep)
{
	const ec_totals *t = &rep->t;
	switch (ec_report_status(rep)) {
	case EC_EXIT_OK:
		fprintf(f, "result:       ok\n");
		break;
	case EC_EXIT_NOT_CLOSED:
		fprintf(f,
			"result:       FAILED: every echo checked, but the server did not close "
			"%llu connection%s within the grace period (exit status 3)\n",
			(unsigned long long)t->not_closed, t->not_closed == 1 ? "" : "s");
		break;
	default:
		fprintf(f, "result:       FAILED%s\n",
			started(t) == 0 ? " (no connection started before the run ended)" : "");
	}
}

/* Writes a duration in ns with a readable unit into buf.  Returns buf. */
static const char *dur(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", ns / 1e9);
	return buf;
}

/* Returns x / s, or 0 when s is 0. */
static double per(double x, double s)
{
	return s > 0 ? x / s : 0;
}

/* Prints the line describing the load.  Returns nothing. */
static void describe(FILE *f, const ec_report *rep)
{
	const ec_options *o = rep->opt;
	char size[64];
	if (o->size_min == o->size_max)
		snprintf(size, sizeof(size), "%u-byte", (unsigned)o->size_min);
	else
		snprintf(size, sizeof(size), "%u..%u-byte", (unsigned)o->size_min,
			 (unsigned)o->size_max);
	fprintf(f, "coring-echo-client %s: %s\n", CR_VERSION_STRING, rep->target);
	fprintf(f, "  %u connection%s, %s messages, pipeline %u, %u thread%s, ", o->connections,
		o->connections == 1 ? "" : "s", size, o->pipeline, rep->workers,
		rep->workers == 1 ? "" : "s");
	if (o->rate > 0)
		fprintf(f, "open loop at %.6g msg/s (latency from the intended send times)\n",
			o->rate);
	else
		fprintf(f, "closed loop\n");
	fprintf(f, "  %.3f s of sending%s\n", rep->elapsed_s,
		rep->abandoned ? " (stopped by a signal, echoes in flight abandoned)"
		: rep->stopped ? " (stopped by a signal)"
			       : "");
}

void ec_report_text(FILE *f, const ec_report *rep)
{
	const ec_totals *t = &rep->t;
	double s = rep->elapsed_s;
	char b[N_PCTS + 2][32];
	describe(f, rep);
	fprintf(f, "messages:     %llu round trips, %.1f msg/s\n", (unsigned long long)t->messages,
		per((double)t->messages, s));
	fprintf(f, "throughput:   %.2f MB/s sent, %.2f MB/s received (payload; MB = 10^6 B)\n",
		per((double)t->bytes_tx, s) / 1e6, per((double)t->bytes_rx, s) / 1e6);
	fprintf(f, "bytes:        %llu sent, %llu received\n", (unsigned long long)t->bytes_tx,
		(unsigned long long)t->bytes_rx);
	if (rep->lat->count) {
		fprintf(f, "latency:     ");
		for (int i = 0; i < N_PCTS; i++)
			fprintf(f, " %s %s", pct_labels[i],
				dur(b[i], sizeof(b[i]),
				    (double)ec_hist_percentile(rep->lat, pcts[i])));
		fprintf(f, "  max %s  mean %s\n",
			dur(b[N_PCTS], sizeof(b[0]), (double)rep->lat->max),
			dur(b[N_PCTS + 1], sizeof(b[0]), ec_hist_mean(rep->lat)));
	} else {
		fprintf(f, "latency:      (no message completed)\n");
	}
	fprintf(f,
		"connections:  %llu ok, %llu failed, %llu not closed by the server, %llu not "
		"started (the run ended first)\n",
		(unsigned long long)t->conns_ok, (unsigned long long)t->conns_failed,
		(unsigned long long)t->not_closed, (unsigned long long)t->not_started);
	fprintf(f,
		"errors:       %llu (connect %llu, send %llu, receive %llu, closed early %llu); "
		"%llu messages unanswered\n",
		(unsigned long long)t->errors, (unsigned long long)t->connect_errors,
		(unsigned long long)t->send_errors, (unsigned long long)t->recv_errors,
		(unsigned long long)t->closed_early, (unsigned long long)t->unanswered);
	fprintf(f, "corrupted:    %llu bytes (%llu of them never sent)\n",
		(unsigned long long)t->corrupted, (unsigned long long)t->unexpected);
	if (rep->opt->rate > 0)
		fprintf(f, "behind:       %llu messages due before the end were not sent\n",
			(unsigned long long)t->behind);
	result_line(f, rep);
}

/* Prints "key": value for an unsigned counter, then ",\n".  Returns nothing. */
static void jnum(FILE *f, const char *key, unsigned long long v)
{
	fprintf(f, "  \"%s\": %llu,\n", key, v);
}

/* Prints "key": value for a real number, then ",\n".  Returns nothing. */
static void jreal(FILE *f, const char *key, double v)
{
	fprintf(f, "  \"%s\": %.6g,\n", key, v);
}

/* Prints the "latency_ns" object (null values when nothing completed).
 * Returns nothing. */
static void jlatency(FILE *f, const ec_hist *h)
{
	fprintf(f, "  \"latency_ns\": {");
	if (h->count == 0) {
		fprintf(f, "\"min\": null, \"mean\": null");
		for (int i = 0; i < N_PCTS; i++)
			fprintf(f, ", \"%s\": null", pct_names[i]);
		fprintf(f, ", \"max\": null},\n");
		return;
	}
	fprintf(f, "\"min\": %llu, \"mean\": %.0f", (unsigned long long)h->min, ec_hist_mean(h));
	for (int i = 0; i < N_PCTS; i++)
		fprintf(f, ", \"%s\": %llu", pct_names[i],
			(unsigned long long)ec_hist_percentile(h, pcts[i]));
	fprintf(f, ", \"max\": %llu},\n", (unsigned long long)h->max);
}

void ec_report_json(FILE *f, const ec_report *rep)
{
	const ec_options *o = rep->opt;
	const ec_totals *t = &rep->t;
	double s = rep->elapsed_s;
	fprintf(f, "{\n  \"coring_version\": \"%s\",\n", CR_VERSION_STRING);
	/* The address text holds no quote or backslash except in a Unix path. */
	fprintf(f, "  \"target\": \"");
	for (const char *p = rep->target; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		if ((unsigned char)*p < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*p);
		else
			fputc(*p, f);
	}
	fprintf(f, "\",\n");
	jnum(f, "connections", o->connections);
	jreal(f, "duration_s", o->duration_s);
	jnum(f, "size_min", o->size_min);
	jnum(f, "size_max", o->size_max);
	jnum(f, "pipeline", o->pipeline);
	jnum(f, "lines", o->lines);
	if (o->rate > 0)
		jreal(f, "rate", o->rate);
	else
		fprintf(f, "  \"rate\": null,\n");
	jnum(f, "threads", rep->workers);
	jreal(f, "elapsed_s", s);
	fprintf(f, "  \"stopped_by_signal\": %s,\n", rep->stopped ? "true" : "false");
	jnum(f, "messages", t->messages);
	jreal(f, "messages_per_s", per((double)t->messages, s));
	jnum(f, "bytes_sent", t->bytes_tx);
	jnum(f, "bytes_received", t->bytes_rx);
	jreal(f, "mb_per_s_sent", per((double)t->bytes_tx, s) / 1e6);
	jreal(f, "mb_per_s_received", per((double)t->bytes_rx, s) / 1e6);
	jlatency(f, rep->lat);
	jnum(f, "connections_ok", t->conns_ok);
	jnum(f, "connections_failed", t->conns_failed);
	jnum(f, "connections_not_closed", t->not_closed);
	jnum(f, "connections_not_started", t->not_started);
	jnum(f, "errors", t->errors);
	jnum(f, "connect_errors", t->connect_errors);
	jnum(f, "send_errors", t->send_errors);
	jnum(f, "receive_errors", t->recv_errors);
	jnum(f, "closed_early", t->closed_early);
	jnum(f, "unanswered_messages", t->unanswered);
	jnum(f, "behind_schedule", t->behind);
	jnum(f, "corrupted_bytes", t->corrupted);
	jnum(f, "unexpected_bytes", t->unexpected);
	int status = ec_report_status(rep);
	jnum(f, "exit_status", (unsigned long long)status);
	fprintf(f, "  \"ok\": %s\n}\n", status == EC_EXIT_OK ? "true" : "false");
}
