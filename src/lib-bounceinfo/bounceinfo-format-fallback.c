/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "fallback", tried last: a message that is clearly a bounce but
   whose recipients no other format found. An auto-reply if it looks like
   one; else the recipients of X-Failed-Recipients or the returned
   message's To, with the bounce's whole text as diagnostic. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

static void fallback_parse(struct bounceinfo_parse_ctx *ctx)
{
	const char *const *addrs, *diag;
	struct bounceinfo_recipient *rcpt;

	/* only for what the header calls a bounce */
	if (!bounceinfo_evidence_header(ctx))
		return;
	diag = ctx->bounce_text;

	if (ctx->failed_recipients != NULL)
		addrs = t_strsplit_spaces(ctx->failed_recipients, ", \t\r\n");
	else if (ctx->result->original.to != NULL) {
		const char *to = ctx->result->original.to;
		const char *lt = strchr(to, '<');
		addrs = t_strsplit_spaces(lt != NULL ? lt : to, ",");
	} else {
		addrs = t_strsplit_spaces("", " ");
	}
	for (; *addrs != NULL; addrs++) {
		const char *addr = bounceinfo_address_clean(ctx->pool, *addrs);

		if (addr == NULL || bounceinfo_recipient_find(ctx, addr) != NULL)
			continue;
		rcpt = bounceinfo_recipient_add(ctx);
		if (rcpt == NULL)
			break;
		rcpt->address = addr;
		rcpt->action = "failed";
		rcpt->diagnostic = diag;
	}
	if (array_count(&ctx->result->recipients) == 0 && diag != NULL) {
		/* a bounce that names no address still is one */
		rcpt = bounceinfo_recipient_add(ctx);
		if (rcpt != NULL) {
			rcpt->action = "failed";
			rcpt->diagnostic = diag;
		}
	}
}

static enum bounceinfo_format_result
format_fallback_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (ctx->failed_recipients == NULL && bounceinfo_autoreply_detect(ctx) &&
	    !bounceinfo_detect_bounce_sign(ctx->bi, str_c(ctx->headers),
					   str_len(ctx->headers))) {
		bounceinfo_result_autoreply(ctx);
		return BOUNCEINFO_FORMAT_DONE;
	}
	fallback_parse(ctx);
	if (array_count(&ctx->result->recipients) == 0)
		return BOUNCEINFO_FORMAT_DONE;
	ctx->result->kind = BOUNCEINFO_KIND_NDR;
	return BOUNCEINFO_FORMAT_FOUND;
}

const struct bounceinfo_format bounceinfo_format_fallback = {
	.name = "fallback",
	.parse = format_fallback_parse,
};
