/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-compat.h"
#include BOUNCEINFO_JSON_HEADER
#include "bounceinfo-json.h"

void bounceinfo_json_append_string(string_t *dest, const char *value)
{
	if (value == NULL) {
		str_append(dest, "null");
		return;
	}
	/* json_append_escaped() escapes quotes, backslashes and control
	   characters and replaces invalid UTF-8 with U+FFFD, so the line
	   stays valid JSON whatever the message contained. */
	str_append_c(dest, '"');
	json_append_escaped(dest, value);
	str_append_c(dest, '"');
}

static void json_append_key_name(string_t *dest, const char *key)
{
	str_append_c(dest, '"');
	str_append(dest, key);
	str_append(dest, "\":");
}

static void
json_append_key(string_t *dest, const char *key, const char *value)
{
	json_append_key_name(dest, key);
	bounceinfo_json_append_string(dest, value);
}

unsigned int
bounceinfo_json_get_recipients(const struct bounceinfo_result *result,
			       struct bounceinfo_recipient *tmp_r,
			       const struct bounceinfo_recipient **rcpts_r)
{
	enum bounceinfo_class class_;
	unsigned int count = 0;

	*rcpts_r = NULL;
	/* not a bounce: nothing is reported, whatever the text mentioned */
	if (result->kind == BOUNCEINFO_KIND_NONE)
		return 0;
	if (array_is_created(&result->recipients))
		*rcpts_r = array_get(&result->recipients, &count);
	if (count > 0)
		return count;

	switch (result->kind) {
	case BOUNCEINFO_KIND_AUTOREPLY:
		class_ = BOUNCEINFO_CLASS_AUTOREPLY;
		break;
	case BOUNCEINFO_KIND_COMPLAINT:
		class_ = BOUNCEINFO_CLASS_COMPLAINT;
		break;
	case BOUNCEINFO_KIND_DELIVERY_REPORT:
		class_ = BOUNCEINFO_CLASS_DELIVERY_REPORT;
		break;
	default:
		return 0;
	}
	i_zero(tmp_r);
	tmp_r->class_ = class_;
	tmp_r->severity = BOUNCEINFO_SEVERITY_NONE;
	*rcpts_r = tmp_r;
	return 1;
}

static void
json_append_recipient(string_t *dest,
		      const struct bounceinfo_recipient *rcpt,
		      const struct bounceinfo_json_settings *set)
{
	const char *explanation = NULL;

	i_assert(rcpt->class_ < BOUNCEINFO_CLASS_COUNT);
	if (set->explanations != NULL)
		explanation = set->explanations[rcpt->class_];

	str_append_c(dest, '{');
	json_append_key(dest, "address", rcpt->address);
	str_append_c(dest, ',');
	json_append_key(dest, "class", bounceinfo_class_name(rcpt->class_));
	str_append_c(dest, ',');
	json_append_key(dest, "severity",
			bounceinfo_severity_name(rcpt->severity));
	str_append_c(dest, ',');
	json_append_key(dest, "status", rcpt->status);
	if (rcpt->reply_code != 0)
		str_printfa(dest, ",\"code\":%u", rcpt->reply_code);
	else
		str_append(dest, ",\"code\":null");
	str_append_c(dest, ',');
	json_append_key(dest, "action", rcpt->action);
	str_append_c(dest, ',');
	json_append_key(dest, "remote_mta", rcpt->remote_mta);
	str_append_c(dest, ',');
	json_append_key(dest, "smtp_command", rcpt->smtp_command);
	str_append_c(dest, ',');
	json_append_key(dest, "diagnostic", rcpt->diagnostic);
	str_append_c(dest, ',');
	if (set->explanations_json != NULL) {
		json_append_key_name(dest, "explanation");
		str_append(dest, set->explanations_json[rcpt->class_]);
	} else {
		json_append_key(dest, "explanation", explanation);
	}
	if (set->with_rule) {
		str_append_c(dest, ',');
		json_append_key(dest, "rule", rcpt->matched_rule);
		str_append_c(dest, ',');
		json_append_key(dest, "rule_id", rcpt->rule_id);
	}
	str_append_c(dest, '}');
}

void bounceinfo_json_append_message(string_t *dest, const char *file,
				    const struct bounceinfo_result *result,
				    const struct bounceinfo_json_settings *set)
{
	const struct bounceinfo_recipient *rcpts;
	struct bounceinfo_recipient tmp;
	unsigned int i, count;

	i_assert(result->kind < BOUNCEINFO_KIND_COUNT);

	str_append_c(dest, '{');
	json_append_key(dest, "file", file);
	str_append_c(dest, ',');
	json_append_key(dest, "kind", bounceinfo_kind_name(result->kind));
	str_append_c(dest, ',');
	json_append_key(dest, "mta", result->mta);
	str_printfa(dest, ",\"truncated\":%s",
		    result->truncated ? "true" : "false");
	if (set->with_rule) {
		/* which format parser read it */
		str_append_c(dest, ',');
		json_append_key(dest, "format", result->format);
	}

	str_append(dest, ",\"recipients\":[");
	count = bounceinfo_json_get_recipients(result, &tmp, &rcpts);
	for (i = 0; i < count; i++) {
		if (i > 0)
			str_append_c(dest, ',');
		json_append_recipient(dest, &rcpts[i], set);
	}
	str_append(dest, "],\"original\":{");
	json_append_key(dest, "message_id", result->original.message_id);
	str_append_c(dest, ',');
	json_append_key(dest, "subject", result->original.subject);
	str_append_c(dest, ',');
	json_append_key(dest, "date", result->original.date);
	str_append_c(dest, ',');
	json_append_key(dest, "from", result->original.from);
	str_append_c(dest, ',');
	json_append_key(dest, "to", result->original.to);
	str_append(dest, "}}");
}
