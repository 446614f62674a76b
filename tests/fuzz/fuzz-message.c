/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Whole message path: raw bytes -> bounceinfo_parse_data() -> every field
   read and explained. Each input is also parsed with every body block
   given to lib-mail's decoder (plain_decode): the library's fast path for
   plain UTF-8 blocks (bounceinfo-decode.c) follows the decoder's state
   from outside, so any difference between the two results is a bug. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "fuzz-common.h"

#include <stdio.h>
#include <stdlib.h>

/* Every fact of a result the decoding can change, as one string */
static const char *result_facts(const struct bounceinfo_result *result)
{
	const struct bounceinfo_recipient *rcpt;
	string_t *str = t_str_new(256);

#define S(s) ((s) == NULL ? "-" : (s))
	str_printfa(str, "kind=%d mta=%s format=%s reporting=%s arrival=%s "
		    "trunc=%d orig=[%s|%s|%s|%s|%s]", result->kind,
		    S(result->mta), S(result->format),
		    S(result->reporting_mta), S(result->arrival_date),
		    result->truncated ? 1 : 0,
		    S(result->original.message_id),
		    S(result->original.subject), S(result->original.from),
		    S(result->original.to), S(result->original.date));
	if (!array_is_created(&result->recipients))
		return str_c(str);
	array_foreach(&result->recipients, rcpt) {
		str_printfa(str, "\n[%s|%s|%s|%s|%u|%s|%s|%d|%d|%s|%s]",
			    S(rcpt->address), S(rcpt->original_address),
			    S(rcpt->action), S(rcpt->status),
			    rcpt->reply_code, S(rcpt->remote_mta),
			    S(rcpt->diagnostic), rcpt->class_,
			    rcpt->severity, S(rcpt->rule_id),
			    S(rcpt->smtp_command));
	}
#undef S
	return str_c(str);
}

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
