/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Whole message path: raw bytes -> bounceinfo_parse_data() -> every field
   read and explained. Each input is also parsed with every body block
   given to lib-mail's decoder (plain_decode): the library's fast path for
   plain UTF-8 blocks (bounceinfo-decode.c) follows the decoder's state
   from outside, so any difference between the two results is a bug. */

#include "lib.h"
#include "bounceinfo-private.h"
#include "fuzz-common.h"
#include "result-facts.h"

#include <stdio.h>
#include <stdlib.h>

static const char *
parse_facts(struct bounceinfo *bi, const uint8_t *data, size_t size,
	    bool plain_decode, bool check)
{
	struct bounceinfo_result *result;
	const char *error, *facts;
	pool_t pool;

	bi->plain_decode = plain_decode;
	pool = fuzz_pool_create();
	if (bounceinfo_parse_data(bi, data, size, pool, &result, &error) < 0) {
		/* reading memory cannot fail */
		fprintf(stderr, "fuzz: parse_data failed: %s\n", error);
		abort();
	}
	if (check)
		fuzz_check_result(bi, result);
	facts = result_facts(result);
	pool_unref(&pool);
	bi->plain_decode = FALSE;
	return facts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounceinfo *bi = fuzz_bounceinfo_get();

	T_BEGIN {
		const char *fast = parse_facts(bi, data, size, FALSE, TRUE);
		const char *plain = parse_facts(bi, data, size, TRUE, FALSE);

		if (strcmp(fast, plain) != 0) {
			fprintf(stderr, "fuzz: the fast decoding path differs "
				"from lib-mail's decoder\nfast:  %s\n"
				"plain: %s\n", fast, plain);
			abort();
		}
	} T_END;
	return 0;
}
