/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "ses-json": Amazon SES bounce, complaint and delivery
   notifications, JSON in the text (possibly escaped inside an SNS
   "Message" string). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

/* Amazon SES notifications in JSON (possibly escaped inside an SNS
   "Message" string): {"notificationType":"Delivery", "delivery":
   {"recipients":["x@y"], "smtpResponse":"250 2.6.0 ..."}} or
   {"notificationType":"Bounce", "bounce":{"bouncedRecipients":
   [{"emailAddress":"x@y","action":"failed","status":"5.1.1",
   "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}} */
static const char *json_string(const char *obj, const char *end,
			       const char *key)
{
	const char *p = obj, *q;
	size_t klen = strlen(key);

	while ((p = strstr(p, key)) != NULL && p < end) {
		if (p > obj && p[-1] == '"' && p[klen] == '"') {
			q = p + klen + 1;
			while (*q == ' ' || *q == ':')
				q++;
			if (*q != '"')
				return NULL;
			q++;
			const char *e = strchr(q, '"');
			if (e == NULL || e > end)
				return NULL;
			return t_strdup_until(q, e);
		}
		p += klen;
	}
	return NULL;
}

static const char *json_flatten(const char *text)
{
	string_t *flat = t_str_new(strlen(text) + 1);

	/* the JSON may be wrapped over lines and escaped once */
	for (const char *p = text; *p != '\0' && str_len(flat) < 262144; p++) {
		if (*p == '\n')
			continue;
		if (*p == '\\' && p[1] == '"') {
			str_append_c(flat, '"');
			p++;
			continue;
		}
		str_append_c(flat, *p);
	}
	return str_c(flat);
}

static bool
ses_json_parse(struct bounceinfo_parse_ctx *ctx, const char *text,
	       bool *complaint_r)
{
	const char *p, *end, *response;
	bool complaint;

	p = strstr(text, "notificationType");
	if (p == NULL)
		return FALSE;
	text = json_flatten(p - 1);
	p = text + strlen("\"notificationType\"");
	while (*p == ' ' || *p == ':')
		p++;
	*complaint_r = complaint = strncmp(p, "\"Complaint\"", 11) == 0;
	if (strncmp(p, "\"Bounce\"", 8) == 0 || complaint) {
		const char *feedback_type = !complaint ? NULL :
			json_string(p, p + strlen(p), "complaintFeedbackType");
		p = strstr(p, complaint ? "\"complainedRecipients\"" :
			   "\"bouncedRecipients\"");
		if (p == NULL || (p = strchr(p, '[')) == NULL)
			return FALSE;
		end = strchr(p, ']');
		if (end == NULL)
			return FALSE;
		/* one {...} per recipient */
		while ((p = strchr(p, '{')) != NULL && p < end) {
			const char *oend = strchr(p, '}');
			struct bounceinfo_recipient *rcpt;
			const char *addr, *value;

			if (oend == NULL || oend > end)
				break;
			addr = json_string(p, oend, "emailAddress");
			rcpt = bounceinfo_recipient_add(ctx);
			if (rcpt == NULL)
				break;
			rcpt->address = bounceinfo_address_clean(ctx->pool, addr);
			if (complaint) {
				rcpt->diagnostic = p_strdup(ctx->pool,
					feedback_type != NULL ? feedback_type :
					"abuse");
				p = oend + 1;
				continue;
			}
			value = json_string(p, oend, "action");
			rcpt->action = value == NULL ? "failed" :
				bounceinfo_action_canonical(value);
			value = json_string(p, oend, "status");
			if (bounceinfo_status_is_valid(value))
				rcpt->status = p_strdup(ctx->pool, value);
			value = json_string(p, oend, "diagnosticCode");
			if (value != NULL) {
				const char *semi = strchr(value, ';');
				if (semi != NULL && semi - value < 20)
					value = semi + 1;
				rcpt->diagnostic = bounceinfo_text_clean(ctx->pool,
					value, strlen(value),
					BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
			}
			p = oend + 1;
		}
		return array_count(&ctx->result->recipients) > 0;
	}
	if (strncmp(p, "\"Delivery\"", 10) != 0)
		return FALSE;
	response = json_string(p, p + strlen(p), "smtpResponse");
	p = strstr(p, "\"recipients\"");
	if (p == NULL || (p = strchr(p, '[')) == NULL ||
	    (end = strchr(p, ']')) == NULL)
		return FALSE;
	const char *const *items = t_strsplit(t_strdup_until(p + 1, end), ",");
	for (; *items != NULL; items++) {
		struct bounceinfo_recipient *rcpt;
		const char *addr = bounceinfo_address_clean(ctx->pool, *items);

		if (addr == NULL)
			continue;
		rcpt = bounceinfo_recipient_add(ctx);
		if (rcpt == NULL)
			break;
		rcpt->address = addr;
		rcpt->action = "delivered";
		if (response != NULL) {
			const char *status = bounceinfo_status_find(response);
			if (status != NULL)
				rcpt->status = p_strdup(ctx->pool, status);
			rcpt->diagnostic = bounceinfo_text_clean(ctx->pool,
				response, strlen(response),
				BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
		}
	}
	return array_count(&ctx->result->recipients) > 0;
}

static enum bounceinfo_format_result
format_ses_parse(struct bounceinfo_parse_ctx *ctx)
{
	bool complaint = FALSE;

	if (!ses_json_parse(ctx, ctx->clean_text, &complaint))
		return BOUNCEINFO_FORMAT_NO;
	if (complaint) {
		bounceinfo_result_complaint(ctx);
		return BOUNCEINFO_FORMAT_DONE;
	}
	/* not a multipart/report: a failure is an ndr */
	ctx->result->kind = bounceinfo_result_kind_from_actions(ctx, FALSE);
	return BOUNCEINFO_FORMAT_FOUND;
}

const struct bounceinfo_format bounceinfo_format_ses = {
	.name = "ses-json",
	.parse = format_ses_parse,
};
