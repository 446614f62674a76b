/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"

#include <ctype.h>

/* The class table: the one place that says what a class is called, how
   bad it is by default and in which order the text rules of the classes
   are tried (doc/rules.md "How one recipient is classified").

   tier 1: reasons about the sender, the sending server or the message,
	   tried before what the refused SMTP command says;
   tier 2: the recipient and the delivery, tried after it.
   priority: order of the classes' rules (lower first): the more specific
   reasons first, so that e.g. "mailbox full" is not taken for a generic
   refusal and a blocklist listing not for an unknown user.

   doc/classes.md and explanations/<lang>.txt list every class of this
   table (tests/unit/test-classes checks them against it). */
#define CLASS(_name, _severity, _tier, _priority) \
	{ .name = (_name), .severity = BOUNCEINFO_SEVERITY_##_severity, \
	  .tier = (_tier), .priority = (_priority) }
static const struct bounceinfo_class_def class_table[BOUNCEINFO_CLASS_COUNT] = {
	[BOUNCEINFO_CLASS_VIRUS] = CLASS("virus", SOFT, 1, 1),
	[BOUNCEINFO_CLASS_QUOTA] = CLASS("quota", SOFT, 1, 2),
	[BOUNCEINFO_CLASS_SIZE] = CLASS("size", SOFT, 1, 3),
	[BOUNCEINFO_CLASS_RELAY] = CLASS("relay", SOFT, 1, 4),
	[BOUNCEINFO_CLASS_AUTH] = CLASS("auth", SOFT, 1, 5),
	[BOUNCEINFO_CLASS_RDNS] = CLASS("rdns", SOFT, 1, 6),
	[BOUNCEINFO_CLASS_REPUTATION] = CLASS("reputation", SOFT, 1, 7),
	[BOUNCEINFO_CLASS_BLOCKLIST] = CLASS("blocklist", SOFT, 1, 8),
	[BOUNCEINFO_CLASS_SPAM] = CLASS("spam", SOFT, 1, 9),
	[BOUNCEINFO_CLASS_RATE_LIMIT] = CLASS("rate-limit", SOFT, 1, 10),
	[BOUNCEINFO_CLASS_MOVED] = CLASS("moved", HARD, 1, 11),
	[BOUNCEINFO_CLASS_DISABLED] = CLASS("disabled", SOFT, 1, 12),
	[BOUNCEINFO_CLASS_POLICY] = CLASS("policy", SOFT, 1, 13),
	[BOUNCEINFO_CLASS_SENDER_REJECTED] =
		CLASS("sender-rejected", SOFT, 1, 14),
	[BOUNCEINFO_CLASS_SECURITY] = CLASS("security", SOFT, 1, 15),
	[BOUNCEINFO_CLASS_CONTENT] = CLASS("content", SOFT, 1, 16),
	[BOUNCEINFO_CLASS_SYSTEM] = CLASS("system", SOFT, 1, 17),
	[BOUNCEINFO_CLASS_NO_MAIL] = CLASS("no-mail", HARD, 2, 18),
	[BOUNCEINFO_CLASS_USER_UNKNOWN] = CLASS("user-unknown", HARD, 2, 19),
	[BOUNCEINFO_CLASS_NETWORK] = CLASS("network", SOFT, 2, 20),
	[BOUNCEINFO_CLASS_HOST_UNKNOWN] = CLASS("host-unknown", HARD, 2, 21),
	[BOUNCEINFO_CLASS_FILTERED] = CLASS("filtered", SOFT, 2, 22),
	[BOUNCEINFO_CLASS_SYNTAX] = CLASS("syntax", SOFT, 2, 23),
	[BOUNCEINFO_CLASS_MAILER] = CLASS("mailer", SOFT, 2, 24),
	[BOUNCEINFO_CLASS_EXPIRED] = CLASS("expired", SOFT, 2, 25),
	/* the classes of the non-bounce kinds, and no decision at all */
	[BOUNCEINFO_CLASS_DELIVERY_REPORT] =
		CLASS("delivery-report", NONE, 2, 26),
	[BOUNCEINFO_CLASS_AUTOREPLY] = CLASS("autoreply", NONE, 2, 27),
	[BOUNCEINFO_CLASS_COMPLAINT] = CLASS("complaint", NONE, 2, 28),
	[BOUNCEINFO_CLASS_UNKNOWN] = CLASS("unknown", SOFT, 2, 29),
};
#undef CLASS

const struct bounceinfo_class_def *
bounceinfo_class_def_get(enum bounceinfo_class class_)
{
	i_assert(class_ < BOUNCEINFO_CLASS_COUNT);
	return &class_table[class_];
}

enum bounceinfo_severity
bounceinfo_class_default_severity(enum bounceinfo_class class_)
{
	return bounceinfo_class_def_get(class_)->severity;
}

static const char *const kind_names[BOUNCEINFO_KIND_COUNT] = {
	[BOUNCEINFO_KIND_NONE] = "none",
	[BOUNCEINFO_KIND_DSN] = "dsn",
	[BOUNCEINFO_KIND_NDR] = "ndr",
	[BOUNCEINFO_KIND_DELAYED] = "delayed",
	[BOUNCEINFO_KIND_DELIVERY_REPORT] = "delivery-report",
	[BOUNCEINFO_KIND_AUTOREPLY] = "autoreply",
	[BOUNCEINFO_KIND_COMPLAINT] = "complaint",
};

static const char *const severity_names[BOUNCEINFO_SEVERITY_COUNT] = {
	[BOUNCEINFO_SEVERITY_NONE] = "none",
	[BOUNCEINFO_SEVERITY_SOFT] = "soft",
	[BOUNCEINFO_SEVERITY_HARD] = "hard",
};

static bool
name_lookup(const char *const *names, unsigned int count, const char *name,
	    unsigned int *idx_r)
{
	for (unsigned int i = 0; i < count; i++) {
		if (strcasecmp(names[i], name) == 0) {
			*idx_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

static const char *
names_list(const char *const *names, unsigned int count)
{
	string_t *str = t_str_new(256);

	for (unsigned int i = 0; i < count; i++) {
		if (i > 0)
			str_append(str, ", ");
		str_append(str, names[i]);
	}
	return str_c(str);
}

const char *bounceinfo_class_name(enum bounceinfo_class class_)
{
	return bounceinfo_class_def_get(class_)->name;
}

const char *bounceinfo_kind_name(enum bounceinfo_kind kind)
{
	i_assert(kind < BOUNCEINFO_KIND_COUNT);
	return kind_names[kind];
}

const char *bounceinfo_severity_name(enum bounceinfo_severity severity)
{
	i_assert(severity < BOUNCEINFO_SEVERITY_COUNT);
	return severity_names[severity];
}

bool bounceinfo_class_parse(const char *name, enum bounceinfo_class *class_r)
{
	for (unsigned int i = 0; i < N_ELEMENTS(class_table); i++) {
		if (strcasecmp(class_table[i].name, name) == 0) {
			*class_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

bool bounceinfo_kind_parse(const char *name, enum bounceinfo_kind *kind_r)
{
	unsigned int idx;

	if (!name_lookup(kind_names, N_ELEMENTS(kind_names), name, &idx))
		return FALSE;
	*kind_r = idx;
	return TRUE;
}

bool bounceinfo_severity_parse(const char *name,
			       enum bounceinfo_severity *severity_r)
{
	unsigned int idx;

	if (!name_lookup(severity_names, N_ELEMENTS(severity_names),
			 name, &idx))
		return FALSE;
	*severity_r = idx;
	return TRUE;
}

const char *bounceinfo_class_names_list(void)
{
	string_t *str = t_str_new(256);

	for (unsigned int i = 0; i < N_ELEMENTS(class_table); i++) {
		if (i > 0)
			str_append(str, ", ");
		str_append(str, class_table[i].name);
	}
	return str_c(str);
}

const char *bounceinfo_kind_names_list(void)
{
	return names_list(kind_names, N_ELEMENTS(kind_names));
}

const char *bounceinfo_severity_names_list(void)
{
	return names_list(severity_names, N_ELEMENTS(severity_names));
}

/* The values of bounceinfo_recipient.smtp_command, in session order */
static const char *const smtp_command_names[] = {
	"CONN", "HELO", "MAIL", "RCPT", "DATA",
};

bool bounceinfo_smtp_command_is_valid(const char *name)
{
	unsigned int idx;

	return name_lookup(smtp_command_names, N_ELEMENTS(smtp_command_names),
			   name, &idx);
}

const char *bounceinfo_smtp_command_names_list(void)
{
	return names_list(smtp_command_names, N_ELEMENTS(smtp_command_names));
}

bool bounceinfo_kind_is_bounce(enum bounceinfo_kind kind)
{
	return kind == BOUNCEINFO_KIND_DSN || kind == BOUNCEINFO_KIND_NDR ||
		kind == BOUNCEINFO_KIND_DELAYED;
}

const struct bounceinfo_recipient *
bounceinfo_result_first_recipient(const struct bounceinfo_result *result)
{
	const struct bounceinfo_recipient *rcpt;

	array_foreach(&result->recipients, rcpt) {
		if (rcpt->severity != BOUNCEINFO_SEVERITY_NONE)
			return rcpt;
	}
	if (array_count(&result->recipients) == 0)
		return NULL;
	return array_front(&result->recipients);
}

const char **bounceinfo_original_field(struct bounceinfo_original *orig,
				       const char *name)
{
	size_t name_len = strlen(name);

	if (BI_NAME_IS(name, name_len, "Message-ID"))
		return &orig->message_id;
	if (BI_NAME_IS(name, name_len, "Subject"))
		return &orig->subject;
	if (BI_NAME_IS(name, name_len, "From"))
		return &orig->from;
	if (BI_NAME_IS(name, name_len, "To"))
		return &orig->to;
	if (BI_NAME_IS(name, name_len, "Date"))
		return &orig->date;
	return NULL;
}

/* RFC 3464 section 2.3.3: the only five actions. Mail systems also write
   "failure", "Failed (...)", "delayed; will retry": the leading word is
   matched by its stem, anything else is dropped so no free text ever
   reaches a Sieve test, a header or a log line. */
const char *bounceinfo_action_canonical(const char *value)
{
	static const struct {
		const char *stem, *action;
	} actions[] = {
		{ "fail", "failed" },
		{ "delay", "delayed" },
		{ "deliver", "delivered" },
		{ "relay", "relayed" },
		{ "expand", "expanded" },
	};
	size_t len = 0;

	if (value == NULL)
		return NULL;
	while (*value == ' ' || *value == '\t')
		value++;
	while (i_isalpha(value[len]))
		len++;
	for (unsigned int i = 0; i < N_ELEMENTS(actions); i++) {
		size_t stem_len = strlen(actions[i].stem);

		if (len >= stem_len && len <= strlen(actions[i].action) + 1 &&
		    strncasecmp(value, actions[i].stem, stem_len) == 0)
			return actions[i].action;
	}
	return NULL;
}
