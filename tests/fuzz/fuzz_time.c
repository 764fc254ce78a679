/*
 * drover — libFuzzer harness: the small parsers of times and sizes that
 * read operator or peer text: RFC 3339 (drv_parse_time), filter times
 * (drv_parse_when), durations (drv_parse_duration), an HTTP handler's
 * Retry-After (drv_http_parse_retry_after) and base64 (drv_base64_decode).
 * The input is the text given to each. Must never crash, leak, or
 * overflow (UBSan watches the arithmetic).
 */
#include "drover/clock.h"
#include "drover/http.h"
#include "drover/str.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	int64_t v;
	uint8_t *raw = NULL;
	size_t raw_len;

	(void)drv_parse_time(s, &v);
	(void)drv_parse_when(s, 1767225600000, &v);
	(void)drv_parse_when(s, INT64_MAX, &v);
	(void)drv_parse_duration(s, &v);
	(void)drv_http_parse_retry_after(s, 1767225600000);
	(void)drv_http_parse_retry_after(s, INT64_MAX);
	if (drv_base64_decode(s, size, &raw, &raw_len) == DRV_OK)
		free(raw);
	free(s);
	return 0;
}
