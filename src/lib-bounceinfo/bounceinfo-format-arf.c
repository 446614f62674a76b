/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Complaints and opt-outs, three formats:
   "arf": multipart/report; report-type=feedback-report (RFC 5965), one
	recipient per Original-Rcpt-To;
   "complaint-header": abuse reports of their own kind recognised by their
	header (AOL SCOMP, X-ARF, Hotmail JMRP, which names the complainer in
	X-HmXmrOriginalRecipient);
   "apple-unsubscribe": Apple Mail's unsubscribe message. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

static enum bounceinfo_format_result
format_arf_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (!ctx->have_feedback)
		return BOUNCEINFO_FORMAT_NO;
	bounceinfo_dsn_parse(ctx, str_data(ctx->report), str_len(ctx->report));
	bounceinfo_result_complaint(ctx);
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_arf = {
	.name = "arf",
	.parse = format_arf_parse,
};

static enum bounceinfo_format_result
format_complaint_header_parse(struct bounceinfo_parse_ctx *ctx)
{
	struct bounceinfo_recipient *rcpt;

	if (!bounceinfo_detect_complaint_header(ctx->bi, str_c(ctx->headers),
						str_len(ctx->headers)))
		return BOUNCEINFO_FORMAT_NO;
	/* the complaint is about the attached message */
	rcpt = bounceinfo_recipient_add(ctx);
	if (rcpt != NULL) {
		rcpt->address = ctx->jmrp_recipient == NULL ? NULL :
			bounceinfo_address_clean(ctx->pool,
						 ctx->jmrp_recipient);
		rcpt->diagnostic = "abuse";
	}
	bounceinfo_result_complaint(ctx);
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_complaint_header = {
	.name = "complaint-header",
	.parse = format_complaint_header_parse,
};

static enum bounceinfo_format_result
format_apple_unsubscribe_parse(struct bounceinfo_parse_ctx *ctx)
{
	if (!ctx->apple_unsubscribe)
		return BOUNCEINFO_FORMAT_NO;
	/* an opt-out report */
	ctx->subject = "opt-out";
	bounceinfo_result_complaint(ctx);
	return BOUNCEINFO_FORMAT_DONE;
}

const struct bounceinfo_format bounceinfo_format_apple_unsubscribe = {
	.name = "apple-unsubscribe",
	.parse = format_apple_unsubscribe_parse,
};
