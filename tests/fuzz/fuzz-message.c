/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Whole message path: raw bytes -> bounceinfo_parse_data() -> every field
   read and explained. */

#include "lib.h"
#include "bounceinfo.h"
#include "fuzz-common.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounceinfo *bi = fuzz_bounceinfo_get();
	struct bounceinfo_result *result;
	const char *error;
	pool_t pool;

	pool = fuzz_pool_create();
	T_BEGIN {
		if (bounceinfo_parse_data(bi, data, size, pool,
					  &result, &error) < 0) {
			/* reading memory cannot fail */
			fprintf(stderr, "fuzz: parse_data failed: %s\n", error);
			abort();
		}
		fuzz_check_result(bi, result);
	} T_END;
	pool_unref(&pool);
	return 0;
}
