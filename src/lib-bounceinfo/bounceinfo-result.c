/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The result builder: what every format parser (bounceinfo-format-*.c)
   uses to put recipients into a result. A leaf: it calls no parser. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"

struct bounceinfo_recipient *
bounceinfo_recipient_add(struct bounceinfo_parse_ctx *ctx)
{
	if (array_count(&ctx->result->recipients) >=
	    ctx->bi->max_recipients) {
		ctx->result->truncated = TRUE;
		return NULL;
	}
	return array_append_space(&ctx->result->recipients);
}

struct bounceinfo_recipient *
bounceinfo_recipient_find(struct bounceinfo_parse_ctx *ctx, const char *addr)
{
	struct bounceinfo_recipient *rcpt;

	array_foreach_modifiable(&ctx->result->recipients, rcpt) {
		if (rcpt->address != NULL &&
		    strcasecmp(rcpt->address, addr) == 0)
			return rcpt;
	}
	return NULL;
}

bool bounceinfo_text_has_code(const char *text)
{
	return bounceinfo_status_find(text) != NULL ||
		bounceinfo_reply_code_find(text) != 0;
}

void bounceinfo_recipient_set_diagnostic(struct bounceinfo_parse_ctx *ctx,
					 struct bounceinfo_recipient *rcpt,
					 const char *diag)
{
	if (diag == NULL || *diag == '\0')
		return;
	if (rcpt->diagnostic != NULL) {
		/* a later, more precise mention (transcript) is added */
		if (bounceinfo_text_has_code(rcpt->diagnostic) ||
		    !bounceinfo_text_has_code(diag))
			return;
		diag = t_strconcat(rcpt->diagnostic, " ", diag, NULL);
	}
	rcpt->diagnostic = bounceinfo_text_clean(ctx->pool, diag, strlen(diag),
						 BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
}

enum bounceinfo_kind
bounceinfo_result_kind_from_actions(struct bounceinfo_parse_ctx *ctx,
				    bool report)
{
	const struct bounceinfo_recipient *rcpt;
	bool failed = FALSE, delayed = FALSE, delivered = FALSE;

	array_foreach(&ctx->result->recipients, rcpt) {
		const char *a = rcpt->action;

		if (a == NULL || strcmp(a, "failed") == 0)
			failed = TRUE;
		else if (strcmp(a, "delayed") == 0)
			delayed = TRUE;
		else if (strcmp(a, "delivered") == 0 ||
			 strcmp(a, "relayed") == 0 ||
			 strcmp(a, "expanded") == 0)
			delivered = TRUE;
		else
			failed = TRUE;
	}
	/* a failure is a dsn only in a multipart/report; else an ndr */
	if (failed || (!delayed && !delivered))
		return report ? BOUNCEINFO_KIND_DSN : BOUNCEINFO_KIND_NDR;
	if (delayed)
		return BOUNCEINFO_KIND_DELAYED;
	return BOUNCEINFO_KIND_DELIVERY_REPORT;
}

void bounceinfo_result_complaint(struct bounceinfo_parse_ctx *ctx)
{
	struct bounceinfo_recipient *rcpt;
	struct bounceinfo_result *result = ctx->result;
	const char *feedback_type = NULL;

	result->kind = BOUNCEINFO_KIND_COMPLAINT;
	/* one entry per complained-about recipient; one entry at least */
	array_foreach_modifiable(&result->recipients, rcpt) {
		if (rcpt->diagnostic != NULL)
			feedback_type = rcpt->diagnostic;
	}
	if (array_count(&result->recipients) == 0)
		(void)bounceinfo_recipient_add(ctx);
	if (feedback_type == NULL && ctx->subject != NULL)
		feedback_type = p_strdup(ctx->pool, ctx->subject);
	array_foreach_modifiable(&result->recipients, rcpt) {
		if (rcpt->address == NULL && result->original.to != NULL) {
			const char *to = result->original.to;
			const char *lt = strchr(to, '<');
			rcpt->address = bounceinfo_address_clean(ctx->pool,
				lt != NULL ? lt : to);
		}
		if (rcpt->address == NULL && ctx->from != NULL) {
			const char *lt = strchr(ctx->from, '<');
			rcpt->address = bounceinfo_address_clean(ctx->pool,
				lt != NULL ? lt : ctx->from);
		}
		if (rcpt->diagnostic == NULL)
			rcpt->diagnostic = feedback_type;
		rcpt->class_ = BOUNCEINFO_CLASS_COMPLAINT;
		rcpt->severity = BOUNCEINFO_SEVERITY_NONE;
		rcpt->matched_rule = "kind:complaint";
		rcpt->rule_id = "kind/complaint";
	}
}

void bounceinfo_result_autoreply(struct bounceinfo_parse_ctx *ctx)
{
	struct bounceinfo_recipient *rcpt;
	const char *from;

	ctx->result->kind = BOUNCEINFO_KIND_AUTOREPLY;
	rcpt = bounceinfo_recipient_add(ctx);
	if (rcpt == NULL)
		return;
	from = ctx->from == NULL ? NULL : strchr(ctx->from, '<');
	rcpt->address = bounceinfo_address_clean(ctx->pool,
		from != NULL ? from : ctx->from);
	rcpt->diagnostic = ctx->subject == NULL ? NULL :
		p_strdup(ctx->pool, ctx->subject);
	rcpt->class_ = BOUNCEINFO_CLASS_AUTOREPLY;
	rcpt->severity = BOUNCEINFO_SEVERITY_NONE;
	rcpt->matched_rule = "kind:autoreply";
	rcpt->rule_id = "kind/autoreply";
}
