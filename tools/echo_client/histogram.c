/* SPDX-License-Identifier: MIT */
/* Log-linear histogram: exact below 64, then 64 equal sub-buckets in every [2^e, 2^(e+1)). */
#include "histogram.h"

#include <math.h>
#include <string.h>

void ec_hist_init(ec_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned ec_hist_index(uint64_t v)
{
	if (v < EC_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	if (e >= EC_HIST_MAX_BITS)
		return EC_HIST_BUCKETS - 1;
	unsigned sub = (unsigned)(v >> (e - EC_HIST_SUB_BITS)) - EC_HIST_SUB;
	return EC_HIST_SUB + (e - EC_HIST_SUB_BITS) * EC_HIST_SUB + sub;
}

uint64_t ec_hist_bucket_high(unsigned i)
{
	if (i < EC_HIST_SUB)
		return i;
	unsigned k = i - EC_HIST_SUB;
	unsigned shift = k / EC_HIST_SUB; /* e - EC_HIST_SUB_BITS */
	uint64_t low = (uint64_t)(EC_HIST_SUB + k % EC_HIST_SUB) << shift;
	return low + ((uint64_t)1 << shift) - 1;
}

void ec_hist_record(ec_hist *h, uint64_t v)
{
	h->buckets[ec_hist_index(v)]++;
	h->count++;
	h->sum += (long double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void ec_hist_merge(ec_hist *dst, const ec_hist *src)
{
	for (unsigned i = 0; i < EC_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t ec_hist_percentile(const ec_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	uint64_t seen = 0;
	for (unsigned i = 0; i < EC_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = ec_hist_bucket_high(i);
			if (v > h->max || i == EC_HIST_BUCKETS - 1)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double ec_hist_mean(const ec_hist *h)
{
	return h->count ? (double)(h->sum / (long double)h->count) : 0.0;
}
