/* What every key provider shares: the names of error kinds and the latency histogram buckets. */
#include "emse/keyprov.h"

const uint32_t emse_lat_bucket_ms[EMSE_LAT_BUCKETS - 1] = {1,   2,   5,   10,  20,  50,
							    100, 200, 500, 1000, 2000};

void emse_lat_hist_add(uint64_t hist[EMSE_LAT_BUCKETS], uint64_t ms)
{
	unsigned b = 0;
	while (b < EMSE_LAT_BUCKETS - 1 && ms > emse_lat_bucket_ms[b])
		b++;
	hist[b]++;
}

const char *emse_keyprov_err_name(enum emse_keyprov_err e)
{
	static const char *const names[EMSE_PERR__COUNT] = {
		[EMSE_PERR_CONNECT] = "connect",     [EMSE_PERR_TLS] = "tls",
		[EMSE_PERR_TIMEOUT] = "timeout",     [EMSE_PERR_HTTP_429] = "http_429",
		[EMSE_PERR_HTTP_503] = "http_503",   [EMSE_PERR_HTTP_5XX] = "http_5xx",
		[EMSE_PERR_HTTP_4XX] = "http_4xx",   [EMSE_PERR_HTTP_OTHER] = "http_other",
		[EMSE_PERR_PARSE] = "parse",         [EMSE_PERR_BREAKER] = "breaker_open",
		[EMSE_PERR_HELD_OFF] = "held_off",   [EMSE_PERR_OTHER] = "other",
		[EMSE_PERR_RATE_LIMIT] = "rate_limited",
	};
	return (unsigned)e < EMSE_PERR__COUNT ? names[e] : "unknown";
}
