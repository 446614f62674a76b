/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Evidence that a message is a bounce at all, from what the parser
   collected (the patterns themselves are in bounceinfo-detect.c), and the
   "no-evidence" entry of the format table: ordinary mail with a "bounce@"
   sender or bounce words must not have its text searched for
   recipients. */

#include "lib.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

bool bounceinfo_evidence_header_hint(struct bounceinfo_parse_ctx *ctx)
{
	if (ctx->content_type != NULL &&
	    strcmp(ctx->content_type, "multipart/report") == 0)
		return TRUE;
	return bounceinfo_detect_header_hint(ctx->bi, str_c(ctx->headers),
					     str_len(ctx->headers));
}

bool bounceinfo_evidence_header(struct bounceinfo_parse_ctx *ctx)
{
	return ctx->failed_recipients != NULL ||
		bounceinfo_evidence_header_hint(ctx);
}

/* Evidence that this is a bounce at all (bounceinfo-detect.c): words,
   a bounce-like subject or a null sender alone are not */
static bool bounce_evidence(struct bounceinfo_parse_ctx *ctx, const char *text)
{
	return bounceinfo_detect_is_bounce(ctx, text);
}

static enum bounceinfo_format_result
format_no_evidence_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (bounce_evidence(ctx, ctx->clean_text))
		return BOUNCEINFO_FORMAT_NO;
	if (ctx->failed_recipients == NULL && bounceinfo_autoreply_detect(ctx))
		bounceinfo_result_autoreply(ctx);
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_no_evidence = {
	.name = "no-evidence",
	.parse = format_no_evidence_parse,
};

/* A report attached to a person's message (a forwarded bounce or
   complaint): that person's mail, not a report of our own */
static enum bounceinfo_format_result
format_person_forward_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (!ctx->forwarded_report || bounce_evidence(ctx, ctx->clean_text))
		return BOUNCEINFO_FORMAT_NO;
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_person_forward = {
	.name = "person-forward",
	.parse = format_person_forward_parse,
};
