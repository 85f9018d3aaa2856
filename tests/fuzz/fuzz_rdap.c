/*
 * fuzz_rdap.c — libFuzzer target for the RDAP JSON reader and verdict
 * (daemons/query/rdap_json.c).
 *
 * Input: a first byte choosing the HTTP status and content type, then the
 * body.  Besides memory safety and leaks it checks the safety rules: a
 * 200 is registered or reserved only when the body names the asked name,
 * and nothing but a 404 under rdap_404 is ever available.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/query/rdap.h"
#include "daemons/query/registries.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 codes[] = { 200, 404, 429, 500, 301, 200, 200,
				    200 };
	struct registry		 rg;
	struct rdap_reply	 r;
	struct rdap_domain	 d;
	struct verdict		 vd;
	enum answer_status	 st;
	char			 err[160];

	if (size < 1)
		return 0;
	memset(&rg, 0, sizeof(rg));
	rg.rg_name = "fuzz";
	rg.rg_rdap_404 = (data[0] & 0x80) != 0;
	memset(&r, 0, sizeof(r));
	r.rr_transport = (data[0] & 0x40) ? RDT_OK : (data[0] >> 3) % 7;
	r.rr_code = codes[data[0] & 7];
	r.rr_ctype = (data[0] & 0x20) ? "text/html" :
	    "application/rdap+json; charset=utf-8";
	r.rr_body = (const char *)data + 1;
	r.rr_len = size - 1;
	r.rr_retry_after = (data[0] & 0x10) ? 30 : -1;
	r.rr_msg = "fuzz";
	st = rdap_verdict(&rg, "example.com", &r, &vd, &d);
	if (st == AS_AVAILABLE && (r.rr_code != 404 || !rg.rg_rdap_404 ||
	    r.rr_transport != RDT_OK))
		abort();
	if ((st == AS_REGISTERED || st == AS_RESERVED) &&
	    (r.rr_code != 200 || strcmp(d.rd_ldh, "example.com") != 0))
		abort();
	if (st == AS_UNKNOWN && (vd.vd_reason == NULL || *vd.vd_reason == '\0'))
		abort();
	(void)rdap_json_domain(r.rr_body, r.rr_len, &d, err, sizeof(err));
	return 0;
}
