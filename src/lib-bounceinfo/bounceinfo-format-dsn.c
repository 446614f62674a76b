/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "dsn": multipart/report; report-type=delivery-status (RFC 3464,
   RFC 6522, RFC 6533 global-delivery-status). One recipient per
   per-recipient field group; the human-readable part fills in the
   diagnostic and refused command where the fields lack them. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

static enum bounceinfo_format_result
format_dsn_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (!ctx->have_dsn)
		return BOUNCEINFO_FORMAT_NO;
	bounceinfo_dsn_parse(ctx, str_data(ctx->report), str_len(ctx->report));
	if (array_count(&ctx->result->recipients) == 0)
		return BOUNCEINFO_FORMAT_NO;
	bounceinfo_ndr_enrich(ctx, ctx->clean_text);
	ctx->result->kind = bounceinfo_result_kind_from_actions(ctx, TRUE);
	return BOUNCEINFO_FORMAT_FOUND;
}

const struct bounceinfo_format bounceinfo_format_dsn = {
	.name = "dsn",
	.parse = format_dsn_parse,
};
