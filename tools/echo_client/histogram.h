/* SPDX-License-Identifier: MIT */
/* A log-linear latency histogram (HdrHistogram-like): 64 linear sub-buckets per power of two. */
#ifndef EC_HISTOGRAM_H
#define EC_HISTOGRAM_H

#include <stdint.h>

/* Sub-buckets per power of two, as a power of two: 2^6 = 64, so a bucket is at
 * most 1/64 (1.6%) of the values it holds wide. */
#define EC_HIST_SUB_BITS 6
/* Sub-buckets per power of two. */
#define EC_HIST_SUB (1u << EC_HIST_SUB_BITS)
/* Values from 2^EC_HIST_MAX_BITS on (ns: about 4.9 hours) land in the last bucket. */
#define EC_HIST_MAX_BITS 44
/* Number of buckets: exact values below EC_HIST_SUB, then EC_HIST_SUB per power of two. */
#define EC_HIST_BUCKETS (EC_HIST_SUB + (EC_HIST_MAX_BITS - EC_HIST_SUB_BITS) * EC_HIST_SUB)

/* A histogram of non-negative integer values (here: nanoseconds). */
typedef struct ec_hist {
	uint64_t count;			   /* values recorded */
	uint64_t min;			   /* smallest value (UINT64_MAX when empty) */
	uint64_t max;			   /* largest value (exact, not clamped) */
	long double sum;		   /* sum of the values, for the mean */
	uint64_t buckets[EC_HIST_BUCKETS]; /* counts per bucket */
} ec_hist;

/* Empties h.  Returns nothing. */
void ec_hist_init(ec_hist *h);

/* Records one value.  Returns nothing. */
void ec_hist_record(ec_hist *h, uint64_t v);

/* Adds every value of src to dst.  Returns nothing. */
void ec_hist_merge(ec_hist *dst, const ec_hist *src);

/* Returns the value at percentile p (0..100): the largest value of the
 * bucket holding the ceil(p% * count)-th smallest value, capped at the
 * exact max; 0 when empty. */
uint64_t ec_hist_percentile(const ec_hist *h, double p);

/* Returns the mean of the values, 0 when empty. */
double ec_hist_mean(const ec_hist *h);

/* Returns the bucket index of v (exposed for tests). */
unsigned ec_hist_index(uint64_t v);

/* Returns the largest value that lands in bucket i (exposed for tests). */
uint64_t ec_hist_bucket_high(unsigned i);

#endif
