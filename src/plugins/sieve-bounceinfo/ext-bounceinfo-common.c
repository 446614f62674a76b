/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "istream.h"
#include "mail-storage.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-message.h"
#include "sieve-execute.h"
#include "sieve-interpreter.h"
#include "sieve-runtime-trace.h"
#include "sieve-ext-variables.h"

#include "ext-bounceinfo-common.h"

/*
 * Fields
 */

static bool class_is_valid(const char *value)
{
	enum bounceinfo_class class_;

	return bounceinfo_class_parse(value, &class_);
}

static bool severity_is_valid(const char *value)
{
	enum bounceinfo_severity severity;

	return bounceinfo_severity_parse(value, &severity);
}

static bool kind_is_valid(const char *value)
{
	enum bounceinfo_kind kind;

	return bounceinfo_kind_parse(value, &kind);
}

static bool verified_is_valid(const char *value)
{
	for (unsigned int i = 0; i < BOUNCEINFO_VERIFY_RESULT_COUNT; i++) {
		if (strcasecmp(bounceinfo_verify_result_names[i], value) == 0)
			return TRUE;
	}
	return FALSE;
}

static const char *verified_names_list(void)
{
	return "genuine, forged, unchecked, not-applicable";
}

#define FIELD(_tag, _variable, _what) \
	{ .tag = (_tag), .variable = (_variable), .what = (_what) }
#define FIELD_MSG(_tag, _variable, _what) \
	{ .tag = (_tag), .variable = (_variable), .what = (_what), \
	  .per_message = TRUE }
#define FIELD_CHECKED(_tag, _what, _is_valid, _valid_values, _per_msg) \
	{ .tag = (_tag), .variable = (_tag), .what = (_what), \
	  .value_is_valid = (_is_valid), .valid_values = (_valid_values), \
	  .per_message = (_per_msg) }

/* Tags follow the Sieve habit of run-together lowercase words
   (":remotemta", like ":originalzone" of RFC 5260); variable names keep the
   underscore for readability ("${bounceinfo.remote_mta}"). */
const struct ext_bounceinfo_field_def
ext_bounceinfo_fields[EXT_BOUNCEINFO_FIELD_COUNT] = {
	[EXT_BOUNCEINFO_FIELD_CLASS] = FIELD_CHECKED(
		"class", "class",
		class_is_valid, bounceinfo_class_names_list, FALSE),
	[EXT_BOUNCEINFO_FIELD_SEVERITY] = FIELD_CHECKED(
		"severity", "severity",
		severity_is_valid, bounceinfo_severity_names_list, FALSE),
	[EXT_BOUNCEINFO_FIELD_STATUS] = FIELD("status", "status", "status"),
	[EXT_BOUNCEINFO_FIELD_CODE] = FIELD("code", "code", "reply code"),
	[EXT_BOUNCEINFO_FIELD_ACTION] = FIELD("action", "action", "action"),
	[EXT_BOUNCEINFO_FIELD_RECIPIENT] = FIELD(
		"recipient", "recipient", "recipient"),
	[EXT_BOUNCEINFO_FIELD_REMOTE_MTA] = FIELD(
		"remotemta", "remote_mta", "remote MTA"),
	[EXT_BOUNCEINFO_FIELD_DIAGNOSTIC] = FIELD(
		"diagnostic", "diagnostic", "diagnostic"),
	[EXT_BOUNCEINFO_FIELD_KIND] = FIELD_CHECKED(
		"kind", "kind",
		kind_is_valid, bounceinfo_kind_names_list, TRUE),
	[EXT_BOUNCEINFO_FIELD_REPORTING_MTA] = FIELD_MSG(
		"reportingmta", "reporting_mta", "reporting MTA"),
	[EXT_BOUNCEINFO_FIELD_MTA] = FIELD_MSG("mta", "mta", "mail system"),
	[EXT_BOUNCEINFO_FIELD_ORIGINAL_MESSAGE_ID] = FIELD_MSG(
		"originalmessageid", "original_message_id",
		"original Message-ID"),
	[EXT_BOUNCEINFO_FIELD_ORIGINAL_SUBJECT] = FIELD_MSG(
		"originalsubject", "original_subject", "original subject"),
	[EXT_BOUNCEINFO_FIELD_VERIFIED] = FIELD_CHECKED(
		"verified", ":verified value",
		verified_is_valid, verified_names_list, TRUE),
	[EXT_BOUNCEINFO_FIELD_SMTP_COMMAND] = {
		.tag = "smtpcommand", .variable = "smtp_command",
		.what = "SMTP command",
		.value_is_valid = bounceinfo_smtp_command_is_valid,
		.valid_values = bounceinfo_smtp_command_names_list,
		.upper_case = TRUE,
	},
};

/*
 * Extension context: settings (ext-bounceinfo-settings*.c), read once per
 * Sieve instance
 */

bool ext_bounceinfo_load(const struct sieve_extension *ext, void **context)
{
	struct sieve_instance *svinst = ext->svinst;
	struct ext_bounceinfo_context *ectx;
	pool_t pool;

	if (*context != NULL) {
		ext_bounceinfo_unload(ext);
		*context = NULL;
	}

	pool = pool_alloconly_create("sieve bounceinfo", 1024);
	ectx = p_new(pool, struct ext_bounceinfo_context, 1);
	ectx->pool = pool;
	if (sieve_ext_variables_get_extension_compat(svinst,
						     &ectx->var_ext) < 0 ||
	    !ext_bounceinfo_read_settings(svinst, pool, &ectx->set)) {
		pool_unref(&pool);
		return FALSE;
	}

	*context = ectx;
	return TRUE;
}

void ext_bounceinfo_unload(const struct sieve_extension *ext)
{
	struct ext_bounceinfo_context *ectx = ext->context;

	if (ectx == NULL)
		return;
	ext_bounceinfo_release_classifier(ectx);
	pool_unref(&ectx->pool);
}

/*
 * Per-message information
 */

static void
ext_bounceinfo_parse_mail(const struct sieve_runtime_env *renv,
			  const struct sieve_extension *ext, struct mail *mail,
			  pool_t pool, struct ext_bounceinfo_message *msg)
{
	struct bounceinfo *bi;
	struct bounceinfo_result *result;
	struct istream *input;
	const char *error;

	bi = ext_bounceinfo_get_classifier(ext, renv->event);
	if (bi == NULL)
		return;

	if (mail_get_stream_because(mail, NULL, NULL, "bounceinfo",
				    &input) < 0) {
		e_error(renv->event, "bounceinfo: Failed to read the message: "
			"%s - treating it as not a bounce",
			mailbox_get_last_internal_error(mail->box, NULL));
		return;
	}
	i_stream_seek(input, 0);
	if (bounceinfo_parse(bi, input, pool, &result, &error) < 0) {
		e_error(renv->event, "bounceinfo: Failed to parse the message: "
			"%s - treating it as not a bounce", error);
		return;
	}
	msg->result = result;
}

const struct ext_bounceinfo_message *
ext_bounceinfo_get_message(const struct sieve_runtime_env *renv,
			   const struct sieve_extension *ext)
{
	struct sieve_message_context *msgctx = renv->msgctx;
	const struct ext_bounceinfo_message *cached;
	const struct bounceinfo_mail_info *info;
	struct ext_bounceinfo_message *msg;
	struct mail *mail;
	struct mail_user *user;
	pool_t pool;

	cached = sieve_message_context_extension_get(msgctx, ext);
	if (cached != NULL)
		return cached;

	pool = sieve_message_context_pool(msgctx);
	msg = p_new(pool, struct ext_bounceinfo_message, 1);
	msg->verify = BOUNCEINFO_VERIFY_UNCHECKED;

	mail = renv->exec_env->msgdata->mail;
	user = renv->exec_env->scriptenv->user;
	if (mail == NULL) {
		e_error(renv->event, "bounceinfo: No message to classify");
	} else if (bounceinfo_plugin_mail_get_info_user != NULL &&
		   user != NULL &&
		   bounceinfo_plugin_mail_get_info_user(mail, user, &info) == 0 &&
		   info != NULL && info->result != NULL) {
		/* Shared with the mail plugin: one classification per message
		   and recipient, and its spoof check. Always for the user the
		   script runs for: in LMTP, later recipients read the first
		   recipient's saved copy. */
		msg->result = info->result;
		msg->verify = info->verify;
		e_debug(renv->event, "bounceinfo: "
			"using the mail plugin's classification");
	} else {
		/* The mail plugin is not loaded (or failed; it logged why):
		   classify here. */
		e_debug(renv->event, "bounceinfo: classifying the message "
			"in the Sieve extension (mail plugin %s)",
			bounceinfo_plugin_mail_get_info_user == NULL ?
			"not loaded" : "gave no result");
		ext_bounceinfo_parse_mail(renv, ext, mail, pool, msg);
	}

	if (msg->result != NULL) {
		const struct bounceinfo_recipient *rcpt =
			bounceinfo_result_first_recipient(msg->result);

		e_debug(renv->event, "bounceinfo: kind=%s class=%s "
			"recipients=%u verified=%s",
			bounceinfo_kind_name(msg->result->kind),
			rcpt == NULL ? "" : bounceinfo_class_name(rcpt->class_),
			array_count(&msg->result->recipients),
			bounceinfo_verify_result_name(msg->verify));
	}
	sieve_message_context_extension_set(msgctx, ext, msg);
	return msg;
}

bool ext_bounceinfo_message_has_values(const struct ext_bounceinfo_message *msg)
{
	return (msg->result != NULL &&
		msg->result->kind != BOUNCEINFO_KIND_NONE);
}

const char *
ext_bounceinfo_recipient_value(const struct bounceinfo_recipient *rcpt,
			       enum ext_bounceinfo_field field)
{
	switch (field) {
	case EXT_BOUNCEINFO_FIELD_CLASS:
		return bounceinfo_class_name(rcpt->class_);
	case EXT_BOUNCEINFO_FIELD_SEVERITY:
		return bounceinfo_severity_name(rcpt->severity);
	case EXT_BOUNCEINFO_FIELD_STATUS:
		return rcpt->status;
	case EXT_BOUNCEINFO_FIELD_CODE:
		return rcpt->reply_code == 0 ? NULL : dec2str(rcpt->reply_code);
	case EXT_BOUNCEINFO_FIELD_ACTION:
		return rcpt->action;
	case EXT_BOUNCEINFO_FIELD_RECIPIENT:
		return rcpt->address;
	case EXT_BOUNCEINFO_FIELD_REMOTE_MTA:
		return rcpt->remote_mta;
	case EXT_BOUNCEINFO_FIELD_DIAGNOSTIC:
		return rcpt->diagnostic;
	case EXT_BOUNCEINFO_FIELD_SMTP_COMMAND:
		return rcpt->smtp_command;
	default:
		break;
	}
	i_unreached();
}

static void
ext_bounceinfo_add_value(ARRAY_TYPE(const_string) *values, const char *value)
{
	if (value == NULL)
		return;
	value = ext_bounceinfo_sanitize(value, 0);
	if (*value == '\0')
		return;
	array_push_back(values, &value);
}

void ext_bounceinfo_get_values(const struct ext_bounceinfo_message *msg,
			       enum ext_bounceinfo_field field,
			       ARRAY_TYPE(const_string) *values)
{
	const struct bounceinfo_result *result = msg->result;
	const struct bounceinfo_recipient *rcpt;

	/* Not a bounce (or not classified): no values at all. */
	if (!ext_bounceinfo_message_has_values(msg))
		return;

	switch (field) {
	case EXT_BOUNCEINFO_FIELD_KIND:
		ext_bounceinfo_add_value(values,
					 bounceinfo_kind_name(result->kind));
		return;
	case EXT_BOUNCEINFO_FIELD_REPORTING_MTA:
		ext_bounceinfo_add_value(values, result->reporting_mta);
		return;
	case EXT_BOUNCEINFO_FIELD_MTA:
		ext_bounceinfo_add_value(values, result->mta);
		return;
	case EXT_BOUNCEINFO_FIELD_ORIGINAL_MESSAGE_ID:
		ext_bounceinfo_add_value(values, result->original.message_id);
		return;
	case EXT_BOUNCEINFO_FIELD_ORIGINAL_SUBJECT:
		ext_bounceinfo_add_value(values, result->original.subject);
		return;
	case EXT_BOUNCEINFO_FIELD_VERIFIED:
		ext_bounceinfo_add_value(values,
					 bounceinfo_verify_result_name(msg->verify));
		return;
	default:
		break;
	}

	array_foreach(&result->recipients, rcpt) {
		ext_bounceinfo_add_value(
			values, ext_bounceinfo_recipient_value(rcpt, field));
	}
}

/*
 * Safe values
 */

static bool ext_bounceinfo_is_control(const unsigned char *p, size_t left,
				      unsigned int *len_r)
{
	*len_r = 1;
	if (*p < 0x20 || *p == 0x7f)
		return TRUE;
	/* C1 controls U+0080..U+009F */
	if (*p == 0xc2 && left > 1 && p[1] >= 0x80 && p[1] <= 0x9f) {
		*len_r = 2;
		return TRUE;
	}
	/* U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR */
	if (*p == 0xe2 && left > 2 && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9)) {
		*len_r = 3;
		return TRUE;
	}
	return FALSE;
}

const char *ext_bounceinfo_sanitize(const char *value, size_t max_size)
{
	const unsigned char *p, *end;
	string_t *valid, *out;
	size_t size = strlen(value);
	unsigned int len;
	bool space = TRUE; /* drops leading white space */

	valid = t_str_new(size + 16);
	if (uni_utf8_get_valid_data((const unsigned char *)value, size, valid))
		str_append_data(valid, value, size);

	out = t_str_new(str_len(valid));
	p = str_data(valid);
	end = p + str_len(valid);
	while (p < end) {
		if (ext_bounceinfo_is_control(p, end - p, &len) || *p == ' ') {
			if (!space)
				str_append_c(out, ' ');
			space = TRUE;
			p += len;
			continue;
		}
		str_append_c(out, *p);
		space = FALSE;
		p++;
	}
	if (str_len(out) > 0 && str_data(out)[str_len(out) - 1] == ' ')
		str_truncate(out, str_len(out) - 1);

	if (max_size > 0 && str_len(out) > max_size) {
		str_truncate(out, uni_utf8_data_truncate(str_data(out),
							 str_len(out),
							 max_size));
	}
	return str_c(out);
}
