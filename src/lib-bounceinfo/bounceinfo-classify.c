/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Deciding one recipient's class:

   1. the administrator's rules (extra_rules) on the diagnostic text;
   2. "strong" status.map entries: specific enhanced status codes such as
      5.2.2 (mailbox full) or 5.7.26 (DMARC) are trusted over the text;
   3. the shipped text rules, in class priority order;
   4. the other status.map entries (generic codes such as 5.7.1 or 5.0.0
      only say something when the text did not);
   5. the SMTP reply code ("code:552" entries);
   6. unknown. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "bounceinfo-private.h"

enum bounceinfo_severity
bounceinfo_class_default_severity(enum bounceinfo_class class_)
{
	switch (class_) {
	case BOUNCEINFO_CLASS_USER_UNKNOWN:
	case BOUNCEINFO_CLASS_HOST_UNKNOWN:
	case BOUNCEINFO_CLASS_MOVED:
	case BOUNCEINFO_CLASS_NO_MAIL:
		return BOUNCEINFO_SEVERITY_HARD;
	case BOUNCEINFO_CLASS_DELIVERY_REPORT:
	case BOUNCEINFO_CLASS_AUTOREPLY:
	case BOUNCEINFO_CLASS_COMPLAINT:
		return BOUNCEINFO_SEVERITY_NONE;
	default:
		return BOUNCEINFO_SEVERITY_SOFT;
	}
}

static enum bounceinfo_severity
severity_adjust(enum bounceinfo_class class_,
		enum bounceinfo_severity severity, const char *status,
		unsigned int reply_code)
{
	bool temporary = (status != NULL && status[0] == '4') ||
		(status == NULL && reply_code >= 400 && reply_code < 500);

	if (severity == BOUNCEINFO_SEVERITY_NONE)
		severity = bounceinfo_class_default_severity(class_);
	/* A temporary failure cannot prove the address bad, except that
	   some servers (e.g. Postfix' unverified recipients) say "user
	   unknown" with 450. */
	if (temporary && severity == BOUNCEINFO_SEVERITY_HARD &&
	    class_ != BOUNCEINFO_CLASS_USER_UNKNOWN)
		severity = BOUNCEINFO_SEVERITY_SOFT;
	return severity;
}

void bounceinfo_classify(struct bounceinfo *bi, const char *status,
			 unsigned int reply_code, const char *diagnostic,
			 enum bounceinfo_class *class_r,
			 enum bounceinfo_severity *severity_r,
			 const char **matched_rule_r)
{
	const struct bounceinfo_rule *rule;
	const struct bounceinfo_status_entry *entry = NULL;
	const char *text = diagnostic;

	if (text == NULL)
		text = "";
	else if (!uni_utf8_str_is_valid(text)) {
		text = bounceinfo_text_clean(pool_datastack_create(), text,
					     strlen(text), SIZE_MAX / 8);
		if (text == NULL)
			text = "";
	}
	if (!bounceinfo_status_is_valid(status))
		status = NULL;

	/* 1. administrator's rules */
	rule = bounceinfo_rules_match(bi, &bi->admin_rules, text);
	if (rule != NULL)
		goto found_rule;

	/* 2. specific status codes */
	if (status != NULL)
		entry = bounceinfo_status_lookup(bi, status);
	if (entry != NULL && entry->strong)
		goto found_status;

	/* 3. shipped text rules */
	rule = bounceinfo_rules_match(bi, &bi->rules, text);
	if (rule != NULL)
		goto found_rule;

	/* 4. generic status codes */
	if (entry != NULL)
		goto found_status;

	/* 5. reply code */
	if (reply_code != 0) {
		entry = bounceinfo_status_lookup(bi,
			t_strdup_printf("code:%03u", reply_code));
		if (entry != NULL)
			goto found_status;
	}

	*class_r = BOUNCEINFO_CLASS_UNKNOWN;
	*severity_r = severity_adjust(*class_r, BOUNCEINFO_SEVERITY_NONE,
				      status, reply_code);
	*matched_rule_r = NULL;
	return;

found_rule:
	*class_r = rule->class_;
	*severity_r = severity_adjust(rule->class_, rule->severity,
				      status, reply_code);
	*matched_rule_r = rule->source;
	return;

found_status:
	*class_r = entry->class_;
	*severity_r = severity_adjust(entry->class_, entry->severity,
				      status, reply_code);
	*matched_rule_r = entry->source;
}
