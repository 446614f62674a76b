/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "inline-dsn": RFC 3464 fields copied into the text of a message
   that is not a multipart/report ("Final-Recipient: rfc822; x@y" lines in
   a plain text bounce, or a bounce forwarded inline). */

#include "lib.h"
#include "array.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

static const char *line_start_find(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p = text;

	for (;;) {
		if (strncasecmp(p, name, len) == 0)
			return p;
		p = strchr(p, '\n');
		if (p == NULL)
			return NULL;
		p++;
	}
}

static bool
inline_dsn_parse(struct bounceinfo_parse_ctx *ctx, const char *text)
{
	const char *start, *p;

	/* not cut at the copy of the message: a forwarded bounce has its
	   header lines before the DSN fields */
	start = line_start_find(text, "Final-Recipient:");
	if (start == NULL)
		start = line_start_find(text, "Original-Recipient:");
	if (start == NULL)
		return FALSE;
	/* include the per-message fields when they come right before */
	p = line_start_find(text, "Reporting-MTA:");
	if (p != NULL && p < start)
		start = p;
	bounceinfo_dsn_parse(ctx, (const unsigned char *)start, strlen(start));
	return array_count(&ctx->result->recipients) > 0;
}

static enum bounceinfo_format_result
format_inline_dsn_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (!inline_dsn_parse(ctx, ctx->clean_text))
		return BOUNCEINFO_FORMAT_NO;
	bounceinfo_ndr_enrich(ctx, ctx->clean_text);
	ctx->result->kind = bounceinfo_result_kind_from_actions(ctx, FALSE);
	return BOUNCEINFO_FORMAT_FOUND;
}

const struct bounceinfo_format bounceinfo_format_inline_dsn = {
	.name = "inline-dsn",
	.parse = format_inline_dsn_parse,
};
