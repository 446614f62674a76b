/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "mail-storage.h"
#include "bounceinfo-plugin-private.h"

/* Event bounceinfo_classified: one per classified arriving mail, so that
   administrators can count bounces with Dovecot's own metric { } blocks
   (see conf.d/90-bounceinfo-metrics.conf.example). Fields are listed in
   doc/bounceinfo-settings.md. */

static const char *bounceinfo_address_domain(const char *address)
{
	const char *p;

	if (address == NULL || (p = strrchr(address, '@')) == NULL ||
	    p[1] == '\0')
		return "";
	return t_str_lcase(p + 1);
}

void bounceinfo_event_classified(struct event *parent, struct mail *mail,
				 const struct bounceinfo_mail_info *info)
{
	const struct bounceinfo_result *result = info->result;
	const struct bounceinfo_recipient *rcpt =
		bounceinfo_result_first_recipient(result);
	enum bounceinfo_class class_ = rcpt == NULL ?
		BOUNCEINFO_CLASS_UNKNOWN : rcpt->class_;
	enum bounceinfo_severity severity = rcpt == NULL ?
		BOUNCEINFO_SEVERITY_NONE : rcpt->severity;

	T_BEGIN {
		struct event_passthrough *e =
			event_create_passthrough(parent)->
			set_name("bounceinfo_classified")->
			add_str("mailbox", mailbox_get_vname(mail->box))->
			add_str("kind", bounceinfo_kind_name(result->kind))->
			add_str("class", bounceinfo_class_name(class_))->
			add_str("severity", bounceinfo_severity_name(severity))->
			add_str("status", rcpt == NULL || rcpt->status == NULL ?
				"" : rcpt->status)->
			add_str("recipient_domain", bounceinfo_address_domain(
				rcpt == NULL ? NULL : rcpt->address))->
			add_str("mta", result->mta == NULL ? "" : result->mta)->
			add_str("verified",
				bounceinfo_verify_result_name(info->verify))->
			add_str("rule_id", rcpt == NULL ||
				rcpt->rule_id == NULL ? "" : rcpt->rule_id)->
			add_str("smtp_command", rcpt == NULL ||
				rcpt->smtp_command == NULL ? "" :
				rcpt->smtp_command)->
			add_int("recipients",
				array_count(&result->recipients));

		e_debug(e->event(), "%s %s (%s) for %s by rule %s",
			bounceinfo_kind_name(result->kind),
			bounceinfo_class_name(class_),
			bounceinfo_severity_name(severity),
			rcpt == NULL || rcpt->address == NULL ? "?" :
			rcpt->address,
			rcpt == NULL || rcpt->rule_id == NULL ? "-" :
			rcpt->rule_id);
	} T_END;
}
