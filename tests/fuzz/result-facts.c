/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo.h"
#include "result-facts.h"

#define S(s) ((s) == NULL ? "-" : (s))

const char *result_facts(const struct bounceinfo_result *result)
{
	const struct bounceinfo_recipient *rcpt;
	string_t *str = t_str_new(256);

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
	return str_c(str);
}
