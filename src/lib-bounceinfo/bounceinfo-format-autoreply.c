/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "autoreply": RFC 3834 auto-replies (vacation, out of office):
   Auto-Submitted: auto-replied, the X-Autoreply family of headers,
   Precedence: auto_reply, an auto-reply Subject; not an auto-generated
   notice (RFC 3834: tickets, CI, calendars). Never a message with a sign of
   a bounce (X-Failed-Recipients, a MAILER-DAEMON From, a bounce
   Subject). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

bool bounceinfo_autoreply_detect(struct bounceinfo_parse_ctx *ctx)
{
	/* RFC 3834: auto-generated is no reply (bounceinfo-detect.c) */
	return bounceinfo_detect_is_autoreply(ctx);
}

static enum bounceinfo_format_result
format_autoreply_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (ctx->failed_recipients != NULL || !bounceinfo_autoreply_detect(ctx) ||
	    bounceinfo_detect_bounce_sign(ctx->bi, str_c(ctx->headers),
					  str_len(ctx->headers)))
		return BOUNCEINFO_FORMAT_NO;
	bounceinfo_result_autoreply(ctx);
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_autoreply = {
	.name = "autoreply",
	.parse = format_autoreply_parse,
};
