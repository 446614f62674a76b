/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* message/delivery-status (RFC 3464) and message/feedback-report (RFC 5965)
   bodies: groups of header-like fields separated by empty lines. The first
   group is per message, the others per recipient. lib-mail's header parser
   does the unfolding; encoded words are decoded although the RFC does not
   allow them, because real MTAs emit them. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "message-header-parser.h"
#include "message-header-decode.h"
#include "bounceinfo-private.h"

struct dsn_ctx {
	struct bounceinfo_parse_ctx *ctx;
	struct bounceinfo_recipient *rcpt;
	bool rcpt_has_final:1;
	/* the recipient's diagnostic is a Status: comment so far */
	bool diag_from_status:1;
};

static const char *
dsn_value(struct bounceinfo_parse_ctx *ctx, const unsigned char *data,
	  size_t size, size_t max_len)
{
	string_t *str = t_str_new(size + 16);

	message_header_decode_utf8(data, size, str, NULL);
	return bounceinfo_text_clean(ctx->pool, str_c(str), str_len(str),
				     max_len);
}

/* "rfc822; user@example.com" -> the part after the type */
static const char *strip_type(const char *value)
{
	const char *p;

	if (value == NULL)
		return NULL;
	/* "X-Unix; 255" is a local program's exit code: the type is what
	   gives the number its meaning, so it stays */
	if (strncasecmp(value, "x-unix;", 7) == 0)
		return value;
	p = strchr(value, ';');
	if (p == NULL)
		return value;
	/* only a short atom before ';' is a type */
	if (p - value > 20 || memchr(value, ' ', p - value) != NULL)
		return value;
	p++;
	while (*p == ' ')
		p++;
	return *p == '\0' ? NULL : p;
}

static struct bounceinfo_recipient *dsn_rcpt(struct dsn_ctx *dctx)
{
	if (dctx->rcpt == NULL) {
		dctx->rcpt = bounceinfo_recipient_add(dctx->ctx);
		dctx->rcpt_has_final = FALSE;
		dctx->diag_from_status = FALSE;
	}
	return dctx->rcpt;
}

static void
dsn_field(struct dsn_ctx *dctx, const char *name,
	  const unsigned char *data, size_t size)
{
	struct bounceinfo_parse_ctx *ctx = dctx->ctx;
	struct bounceinfo_result *result = ctx->result;
	struct bounceinfo_recipient *rcpt;
	const char *value;
	size_t name_len = strlen(name);

	if (BI_NAME_IS(name, name_len, "Reporting-MTA")) {
		if (result->reporting_mta == NULL) {
			value = dsn_value(ctx, data, size,
					  BOUNCEINFO_MAX_FIELD_LEN);
			result->reporting_mta = strip_type(value);
		}
		return;
	}
	if (BI_NAME_IS(name, name_len, "Arrival-Date")) {
		if (result->arrival_date == NULL) {
			result->arrival_date = dsn_value(ctx, data, size,
				BOUNCEINFO_MAX_FIELD_LEN);
		}
		return;
	}
	if (BI_NAME_IS(name, name_len, "Final-Recipient") ||
	    BI_NAME_IS(name, name_len, "Original-Rcpt-To")) {
		/* a second Final-Recipient without an empty line between:
		   broken, but it is a new recipient */
		if (dctx->rcpt != NULL && dctx->rcpt_has_final)
			dctx->rcpt = NULL;
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size, BOUNCEINFO_MAX_FIELD_LEN);
		value = bounceinfo_address_clean(ctx->pool, value);
		if (value != NULL)
			rcpt->address = value;
		dctx->rcpt_has_final = TRUE;
		return;
	}
	if (BI_NAME_IS(name, name_len, "Original-Recipient")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size, BOUNCEINFO_MAX_FIELD_LEN);
		rcpt->original_address =
			bounceinfo_address_clean(ctx->pool, value);
		return;
	}
	if (BI_NAME_IS(name, name_len, "Action")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size, 64);
		rcpt->action = bounceinfo_action_canonical(value);
		return;
	}
	if (BI_NAME_IS(name, name_len, "Status")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size, BOUNCEINFO_MAX_FIELD_LEN);
		if (value != NULL) {
			/* "4.0.0 (cat.example.net: host name lookup
			   failure)": the comment is a diagnostic when there
			   is no Diagnostic-Code */
			const char *comment = strchr(value, '(');
			if (comment != NULL &&
			    (strncasecmp(comment, "(permanent failure", 18) == 0 ||
			     strncasecmp(comment, "(temporary failure", 18) == 0 ||
			     strncasecmp(comment, "(success", 8) == 0))
				comment = NULL;
			if (comment != NULL && rcpt->diagnostic == NULL) {
				rcpt->diagnostic = p_strdup(ctx->pool,
					t_strcut(comment + 1, ')'));
				dctx->diag_from_status = TRUE;
			}
			value = bounceinfo_status_find(value);
		}
		if (value != NULL)
			rcpt->status = p_strdup(ctx->pool, value);
		return;
	}
	if (BI_NAME_IS(name, name_len, "Remote-MTA")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size, BOUNCEINFO_MAX_FIELD_LEN);
		rcpt->remote_mta = strip_type(value);
		return;
	}
	if (BI_NAME_IS(name, name_len, "Diagnostic-Code")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt == NULL)
			return;
		value = dsn_value(ctx, data, size,
				  BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
		value = strip_type(value);
		if (value != NULL || dctx->diag_from_status)
			rcpt->diagnostic = value;
		dctx->diag_from_status = FALSE;
		return;
	}
	if (BI_NAME_IS(name, name_len, "Feedback-Type")) {
		rcpt = dsn_rcpt(dctx);
		if (rcpt != NULL && rcpt->diagnostic == NULL) {
			rcpt->diagnostic = dsn_value(ctx, data, size,
				BOUNCEINFO_MAX_FIELD_LEN);
		}
		return;
	}
}

void bounceinfo_dsn_parse(struct bounceinfo_parse_ctx *ctx,
			  const unsigned char *data, size_t size)
{
	struct dsn_ctx dctx;
	struct istream *input;
	struct message_header_parser_ctx *parser;
	struct message_header_line *hdr;
	uoff_t prev_offset;
	unsigned int groups = 0;
	int ret;

	i_zero(&dctx);
	dctx.ctx = ctx;
	input = i_stream_create_from_data(data, size);
	do {
		bool have_fields = FALSE;

		prev_offset = input->v_offset;
		parser = message_parse_header_init(input, NULL, 0);
		while ((ret = message_parse_header_next(parser, &hdr)) > 0) {
			if (hdr->eoh)
				break;
			if (hdr->continues) {
				hdr->use_full_value = TRUE;
				continue;
			}
			have_fields = TRUE;
			dsn_field(&dctx, hdr->name, hdr->full_value,
				  hdr->full_value_len);
		}
		message_parse_header_deinit(&parser);
		/* each empty-line separated group after the first is one
		   recipient */
		if (have_fields) {
			groups++;
			dctx.rcpt = NULL;
		}
	} while (ret > 0 && input->v_offset > prev_offset &&
		 i_stream_have_bytes_left(input) && groups < 100000);
	i_stream_unref(&input);

	/* RFC 3464: the Final-Recipient, else the Original-Recipient */
	struct bounceinfo_recipient *rcpt;
	array_foreach_modifiable(&ctx->result->recipients, rcpt) {
		if (rcpt->address == NULL)
			rcpt->address = rcpt->original_address;
	}
}

void bounceinfo_headers_parse_original(struct bounceinfo_parse_ctx *ctx,
				       const unsigned char *data, size_t size)
{
	struct bounceinfo_original *orig = &ctx->result->original;
	struct istream *input;
	struct message_header_parser_ctx *parser;
	struct message_header_line *hdr;
	int ret;

	input = i_stream_create_from_data(data, size);
	parser = message_parse_header_init(input, NULL, 0);
	while ((ret = message_parse_header_next(parser, &hdr)) > 0) {
		const char **dest;

		if (hdr->eoh)
			break;
		if (hdr->continues) {
			hdr->use_full_value = TRUE;
			continue;
		}
		dest = bounceinfo_original_field(orig, hdr->name);
		if (dest != NULL && *dest == NULL) {
			*dest = dsn_value(ctx, hdr->full_value,
					  hdr->full_value_len,
					  BOUNCEINFO_MAX_FIELD_LEN);
		}
	}
	message_parse_header_deinit(&parser);
	i_stream_unref(&input);
}
