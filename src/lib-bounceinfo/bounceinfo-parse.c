/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* One message -> bounceinfo_result.

   The top-level header is read first; if nothing in it suggests a bounce,
   auto-reply or abuse report the body is never read. Otherwise the MIME
   structure is walked with lib-mail's parser and decoder (transfer
   encodings and charsets to UTF-8), collecting at most max_scan_bytes of
   text: the human-readable part(s), the machine-readable report and the
   returned message's header. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "istream-chain.h"
#include "rfc822-parser.h"
#include "message-parser.h"
#include "message-decoder.h"
#include "message-header-parser.h"
#include "mail-html2text.h"
#include "unichar.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"
#include "bounceinfo-decode.h"

#include <ctype.h>

#define BOUNCEINFO_MAX_HEADER_BYTES (64 * 1024)

/* The rest of a message, read only once its top-level header says it
   may be a bounce (bounceinfo_parse()) */
static bool parse_more_read(struct bounceinfo_parse_more *more);
static bool parse_more_pending(const struct bounceinfo_parse_more *more);
static void parse_more_end(struct bounceinfo_parse_more *more);

struct part_info {
	const char *content_type; /* lowercase "type/subtype" */
	bool in_original;
	bool is_original_root;
	/* an attached message that is itself a report (a forwarded
	   bounce): its parts are read as the bounce's own */
	bool forwarded_report;
};

static const char *
content_type_parse(const unsigned char *value, size_t size,
		   const char **report_type_r)
{
	struct rfc822_parser_context parser;
	const char *key;
	string_t *str = t_str_new(64), *val = t_str_new(64);

	*report_type_r = NULL;
	rfc822_parser_init(&parser, value, size, NULL);
	rfc822_skip_lwsp(&parser);
	if (rfc822_parse_content_type(&parser, str) < 0 && str_len(str) == 0)
		return NULL;
	while (rfc822_parse_content_param(&parser, &key, val) > 0) {
		if (strcasecmp(key, "report-type") == 0)
			*report_type_r = t_str_lcase(str_c(val));
	}
	return t_str_lcase(str_c(str));
}

static void
root_header(struct bounceinfo_parse_ctx *ctx, const struct message_header_line *hdr)
{
	const char *value;
	size_t name_len = strlen(hdr->name);

	if (str_len(ctx->headers) < BOUNCEINFO_MAX_HEADER_BYTES) {
		str_append(ctx->headers, hdr->name);
		str_append(ctx->headers, ": ");
		/* (header values the decoder gave are valid UTF-8) */
		value = bounceinfo_text_clean_valid(pool_datastack_create(),
			(const char *)hdr->full_value, hdr->full_value_len,
			4096);
		if (value != NULL)
			str_append(ctx->headers, value);
		str_append_c(ctx->headers, '\n');
	}
	if (BI_NAME_IS(hdr->name, name_len, "Content-Type")) {
		ctx->content_type = content_type_parse(hdr->full_value,
			hdr->full_value_len, &ctx->report_type);
	} else if (BI_NAME_IS(hdr->name, name_len, "Subject")) {
		ctx->subject = bounceinfo_text_clean_valid(
			pool_datastack_create(),
			(const char *)hdr->full_value, hdr->full_value_len,
			BOUNCEINFO_MAX_FIELD_LEN);
	} else if (BI_NAME_IS(hdr->name, name_len, "From")) {
		ctx->from = bounceinfo_text_clean_valid(pool_datastack_create(),
			(const char *)hdr->full_value, hdr->full_value_len,
			BOUNCEINFO_MAX_FIELD_LEN);
		if (ctx->from != NULL) {
			const char *lt = strchr(ctx->from, '<');
			ctx->from_address = bounceinfo_address_clean(
				pool_datastack_create(),
				lt != NULL ? lt : ctx->from);
		}
	} else if (BI_NAME_IS(hdr->name, name_len, "Auto-Submitted")) {
		if (hdr->full_value_len >= 2 &&
		    strncasecmp((const char *)hdr->full_value, "no", 2) != 0)
			ctx->auto_submitted = TRUE;
		/* RFC 3834: auto-replied is what a vacation responder says;
		   DSNs say auto-generated */
		if (hdr->full_value_len >= 12 &&
		    strncasecmp((const char *)hdr->full_value,
				"auto-replied", 12) == 0)
			ctx->auto_replied = TRUE;
	} else if (BI_NAME_IS(hdr->name, name_len, "X-Autoreply") ||
		   BI_NAME_IS(hdr->name, name_len, "X-Autorespond") ||
		   BI_NAME_IS(hdr->name, name_len, "X-Autoresponder") ||
		   BI_NAME_IS(hdr->name, name_len, "X-Auto-Reply") ||
		   BI_NAME_IS(hdr->name, name_len, "X-Mail-Autoreply") ||
		   BI_NAME_IS(hdr->name, name_len, "X-Vacation")) {
		ctx->autoreply_header = TRUE;
	} else if (BI_NAME_IS(hdr->name, name_len, "Precedence")) {
		if (hdr->full_value_len >= 4 &&
		    strncasecmp((const char *)hdr->full_value, "auto", 4) == 0)
			ctx->autoreply_header = TRUE;
	} else if (BI_NAME_IS(hdr->name, name_len, "X-HmXmrOriginalRecipient")) {
		ctx->jmrp_recipient = t_strndup(hdr->full_value,
			I_MIN(hdr->full_value_len, BOUNCEINFO_MAX_FIELD_LEN));
	} else if (BI_NAME_IS(hdr->name, name_len, "X-Apple-Unsubscribe")) {
		ctx->apple_unsubscribe = TRUE;
	} else if (BI_NAME_IS(hdr->name, name_len, "X-Failed-Recipients")) {
		if (ctx->failed_recipients == NULL) {
			ctx->failed_recipients = t_strndup(hdr->full_value,
				I_MIN(hdr->full_value_len, 65536));
		}
	} else if (BI_NAME_IS(hdr->name, name_len, "Return-Path")) {
		ctx->return_path = t_strndup(hdr->full_value,
					     hdr->full_value_len);
	}
}

static struct part_info *
part_info_get(struct message_part *part)
{
	struct part_info *info = part->context;
	struct message_part *p;

	if (info != NULL)
		return info;
	info = t_new(struct part_info, 1);
	for (p = part->parent; p != NULL; p = p->parent) {
		if ((p->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0) {
			const struct part_info *root_info =
				p->children == NULL ? NULL :
				p->children->context;
			if (root_info != NULL && root_info->forwarded_report &&
			    p->children != part)
				continue;
			info->in_original = TRUE;
			info->is_original_root = (p == part->parent);
			break;
		}
	}
	part->context = info;
	return info;
}

static void
original_header(struct bounceinfo_parse_ctx *ctx,
		const struct message_header_line *hdr)
{
	struct bounceinfo_original *orig = &ctx->result->original;
	const char **dest;

	dest = bounceinfo_original_field(orig, hdr->name);
	if (dest != NULL && *dest == NULL) {
		*dest = bounceinfo_text_clean_valid(ctx->pool,
			(const char *)hdr->full_value, hdr->full_value_len,
			BOUNCEINFO_MAX_FIELD_LEN);
	}
}

/* Is this block worth decoding? The returned message is skipped except
   its header, and so are attachments the bounce itself carries. */
static bool part_wanted(const struct part_info *info, bool header)
{
	const char *ct = info->content_type;

	if (info->in_original)
		return header && info->is_original_root;
	if (header || ct == NULL)
		return TRUE;
	return str_begins_with(ct, "text/") || str_begins_with(ct, "multipart/") ||
		strcmp(ct, "message/delivery-status") == 0 ||
		strcmp(ct, "message/global-delivery-status") == 0 ||
		strcmp(ct, "message/feedback-report") == 0 ||
		strcmp(ct, "message/global-headers") == 0 ||
		strcmp(ct, "message/rfc822-headers") == 0;
}

/* A header line of a part other than the top one matters only for what it
   says of the part (Content-Type; Content-Transfer-Encoding for the
   decoder) or, in the returned message's header, for a field kept of it:
   the other lines (Received, DKIM-Signature, ...) are not decoded. */
static bool
part_header_wanted(struct bounceinfo_parse_ctx *ctx,
		   const struct part_info *info,
		   const struct message_header_line *hdr)
{
	if (strcasecmp(hdr->name, "Content-Type") == 0 ||
	    strcasecmp(hdr->name, "Content-Transfer-Encoding") == 0)
		return TRUE;
	return info->is_original_root && !info->forwarded_report &&
		bounceinfo_original_field(&ctx->result->original,
					  hdr->name) != NULL;
}

static bool scan_append(struct bounceinfo_parse_ctx *ctx, string_t *dest,
			const unsigned char *data, size_t size)
{
	size_t left = ctx->bi->max_scan_bytes - ctx->scanned;

	if (size > left) {
		/* (possibly inside a character) */
		size = left;
		ctx->result->truncated = TRUE;
		ctx->text_maybe_invalid = TRUE;
	}
	str_append_data(dest, data, size);
	ctx->scanned += size;
	return ctx->scanned < ctx->bi->max_scan_bytes;
}

static bool
body_block(struct bounceinfo_parse_ctx *ctx, struct part_info *info,
	   const struct message_block *block, string_t *html)
{
	const char *ct = info->content_type;

	if (info->in_original)
		return TRUE;
	if (ct != NULL && str_begins_with(ct, "multipart/")) {
		if (str_len(ctx->preamble) > 64 * 1024)
			return TRUE;
		return scan_append(ctx, ctx->preamble, block->data,
				   block->size);
	}
	if (ct == NULL || strcmp(ct, "text/plain") == 0 ||
	    (str_begins_with(ct, "text/") && strcmp(ct, "text/html") != 0 &&
	     strcmp(ct, "text/rfc822-headers") != 0)) {
		return scan_append(ctx, ctx->text, block->data, block->size);
	}
	if (strcmp(ct, "message/delivery-status") == 0 ||
	    strcmp(ct, "message/global-delivery-status") == 0) {
		ctx->have_dsn = TRUE;
		return scan_append(ctx, ctx->report, block->data, block->size);
	}
	if (strcmp(ct, "message/feedback-report") == 0) {
		ctx->have_feedback = TRUE;
		return scan_append(ctx, ctx->report, block->data, block->size);
	}
	if (strcmp(ct, "text/rfc822-headers") == 0 ||
	    strcmp(ct, "message/global-headers") == 0 ||
	    strcmp(ct, "message/rfc822-headers") == 0) {
		ctx->have_orig_part = TRUE;
		return scan_append(ctx, ctx->orig_headers, block->data,
				   block->size);
	}
	if (strcmp(ct, "text/html") == 0)
		return scan_append(ctx, html, block->data, block->size);
	return TRUE;
}

static int
parse_mime(struct bounceinfo_parse_ctx *ctx, struct istream *input,
	   bool *not_bounce_r, const char **error_r)
{
	struct message_parser_settings pset;
	struct message_parser_ctx *parser;
	struct bounceinfo_decoder *decoder;
	struct message_block block, decoded;
	struct message_part *parts;
	string_t *html = ctx->html;
	pool_t part_pool;
	bool root_done = FALSE, go_on = TRUE;
	int ret;

	*not_bounce_r = FALSE;
	i_zero(&pset);
	pset.max_total_mime_parts = ctx->bi->max_mime_parts;
	pset.max_nested_mime_parts = 20;
	pset.all_headers_max_size = 4 * 1024 * 1024;
	/* preambles too: a multipart/report whose boundary never appears
	   (broken MIME) has all its text there */
	pset.flags = MESSAGE_PARSER_FLAG_INCLUDE_MULTIPART_BLOCKS;

	part_pool = pool_alloconly_create("bounceinfo parts", 4096);
	parser = message_parser_init(part_pool, input, &pset);
	/* the decoder is kept from one message to the next (its two 8 KB
	   buffers are not made again for every message) */
	decoder = ctx->bi->decoder;
	ctx->bi->decoder = NULL;
	if (decoder == NULL)
		decoder = bounceinfo_decoder_init();
	bounceinfo_decoder_begin(decoder, ctx->bi->plain_decode);
	while (go_on) {
		struct part_info *info;
		bool is_root;

		ret = message_parser_parse_next_block(parser, &block);
		if (ret == 0 && parse_more_pending(ctx->more)) {
			/* the parser looks past a header that ends where the
			   bytes read so far end: every header line has been
			   seen (read_start() stopped after the blank line);
			   mail that is no bounce ends there, as if the header
			   were all of it */
			if (!root_done && !bounceinfo_evidence_header_hint(ctx))
				parse_more_end(ctx->more);
			else if (!parse_more_read(ctx->more))
				break;
			continue;
		}
		if (ret <= 0)
			break;
		info = part_info_get(block.part);
		is_root = block.part->parent == NULL;
		if (block.hdr == NULL && block.size == 0 && is_root &&
		    !root_done) {
			/* end of the top-level header: decide */
			root_done = TRUE;
			if (!bounceinfo_evidence_header_hint(ctx)) {
				*not_bounce_r = TRUE;
				break;
			}
			/* worth reading on: the rest of the message */
			if (parse_more_pending(ctx->more) &&
			    !parse_more_read(ctx->more))
				break;
		}
		if (info->is_original_root)
			ctx->have_returned_message = TRUE;
		if (block.hdr == NULL && block.size == 0 &&
		    info->is_original_root && !info->forwarded_report &&
		    (ctx->have_dsn || ctx->have_feedback ||
		     str_len(ctx->text) > 0)) {
			/* the returned message's header is all we want of
			   it, and the report comes before it: stop reading */
			break;
		}
		if (block.hdr != NULL && block.hdr->eoh)
			continue;
		if (!part_wanted(info, block.hdr != NULL))
			continue;
		if (block.hdr != NULL && !is_root &&
		    !part_header_wanted(ctx, info, block.hdr))
			continue;
		if (!bounceinfo_decoder_next(decoder, &block, &decoded))
			continue;
		if (decoded.hdr != NULL) {
			const struct message_header_line *hdr = decoded.hdr;

			if (strcasecmp(hdr->name, "Content-Type") == 0) {
				const char *rt;
				info->content_type = content_type_parse(
					hdr->full_value, hdr->full_value_len,
					&rt);
				if (info->is_original_root &&
				    info->content_type != NULL &&
				    strcmp(info->content_type,
					   "multipart/report") == 0 &&
				    (ctx->content_type == NULL ||
				     strcmp(ctx->content_type,
					    "multipart/report") != 0) &&
				    !ctx->have_dsn) {
					/* a forwarded bounce */
					info->forwarded_report = TRUE;
					ctx->forwarded_report = TRUE;
					i_zero(&ctx->result->original);
				}
			}
			if (is_root)
				root_header(ctx, hdr);
			else if (info->is_original_root &&
				 !info->forwarded_report)
				original_header(ctx, hdr);
			continue;
		}
		if (decoded.size > 0)
			go_on = body_block(ctx, info, &decoded, html);
	}
	if (!root_done && !*not_bounce_r && !bounceinfo_evidence_header_hint(ctx)) {
		/* the header ended the stream (or reading failed inside
		   it): decide with what was seen */
		*not_bounce_r = TRUE;
	}
	if (input->stream_errno != 0 && !*not_bounce_r) {
		/* (once the header said "not a bounce", the body does not
		   matter, even if reading ahead of it failed) */
		*error_r = t_strdup_printf("read(%s) failed: %s",
					   i_stream_get_name(input),
					   i_stream_get_error(input));
		ret = -1;
	} else {
		ret = 0;
	}
	if (ctx->bi->decoder == NULL)
		ctx->bi->decoder = decoder;
	else
		bounceinfo_decoder_deinit(&decoder);
	message_parser_deinit(&parser, &parts);
	pool_unref(&part_pool);

	if (str_len(ctx->text) == 0 && str_len(ctx->report) == 0 &&
	    str_len(html) == 0)
		str_append_str(ctx->text, ctx->preamble);
	if (str_len(ctx->text) == 0 && str_len(html) > 0) {
		/* HTML-only bounces (some Exchange and webmail NDRs) */
		struct mail_html2text *ht = mail_html2text_init(0);
		/* (entities may name what UTF-8 cannot hold) */
		ctx->text_maybe_invalid = TRUE;
		mail_html2text_more(ht, str_data(html), str_len(html),
				    ctx->text);
		mail_html2text_deinit(&ht);
	}
	return ret;
}

/* Valid UTF-8, CRLF as LF, a lone CR or NUL as a space: the text is then
   handled line by line. The decoder's output is valid UTF-8 already:
   checked again only where it may have stopped being so (maybe_invalid). */
static const char *
text_clean_multiline(const char *text, size_t len, bool maybe_invalid)
{
	const unsigned char *p, *end;
	unsigned char *out;
	size_t out_len = 0;

	p = (const unsigned char *)text;
	if (maybe_invalid && !uni_utf8_data_is_valid(p, len)) {
		string_t *valid = t_str_new(len + 1);

		if (!uni_utf8_get_valid_data(p, len, valid)) {
			p = str_data(valid);
			len = str_len(valid);
		}
	}
	end = p + len;
	out = t_malloc_no0(len + 1);
	for (; p < end; p++) {
		/* a forwarded bounce is quoted: "> " at line start goes
		   (Sendmail's ">>> " transcript lines stay) */
		if (*p == '>' && (out_len == 0 || out[out_len-1] == '\n') &&
		    (p + 1 == end || p[1] == ' ' || p[1] == '\n' ||
		     (p[1] == '>' && p + 3 < end && p[2] == '>' &&
		      p[3] == '>'))) {
			if (p + 1 < end && p[1] == ' ')
				p++;
			continue;
		}
		/* CRLF is a line break; a lone CR or a NUL separates words
		   ("user\rX-Injected" must not become one word) */
		if (*p == '\r' && p + 1 < end && p[1] == '\n')
			continue;
		out[out_len++] = *p == '\r' || *p == '\0' ? ' ' : *p;
	}
	out[out_len] = '\0';
	return (const char *)out;
}

/* Fill in the reply code, status and refused command of rcpt from text,
   where the recipient has none yet */
static void
codes_from_text(struct bounceinfo_parse_ctx *ctx,
		struct bounceinfo_recipient *rcpt, const char *text)
{
	const char *status = rcpt->status, *dstatus, *cmd;

	if (rcpt->reply_code == 0)
		rcpt->reply_code = bounceinfo_reply_code_find(text);
	/* the remote server's own answer ("550 5.2.2 ...") is more precise
	   than a reporting MTA's summary */
	dstatus = bounceinfo_status_find_reply(text);
	if (dstatus == NULL &&
	    (status == NULL || strcmp(status + 1, ".0.0") == 0)) {
		dstatus = bounceinfo_status_find(text);
		if (dstatus != NULL && status != NULL && dstatus[0] != status[0])
			dstatus = NULL;
	}
	if (dstatus != NULL)
		rcpt->status = p_strdup(ctx->pool, dstatus);
	if (rcpt->smtp_command == NULL) {
		cmd = bounceinfo_smtp_command_find(ctx->bi, text);
		if (cmd != NULL)
			rcpt->smtp_command = p_strdup(ctx->pool, cmd);
	}
}

/* Classify rcpt from text with everything else known about it */
static void
classify_one(struct bounceinfo_parse_ctx *ctx,
	     struct bounceinfo_recipient *rcpt, const char *text,
	     bool cmd_searched)
{
	struct bounceinfo_facts facts;
	struct bounceinfo_decision decision;

	i_zero(&facts);
	facts.status = rcpt->status;
	facts.reply_code = rcpt->reply_code;
	facts.diagnostic = text;
	facts.smtp_command = rcpt->smtp_command;
	/* codes_from_text() searched text when it found no command */
	facts.smtp_command_searched = cmd_searched;
	facts.remote_mta = rcpt->remote_mta;
	facts.reporting_mta = ctx->result->reporting_mta;
	facts.recipient = rcpt->address;
	facts.from = ctx->from_address;
	facts.mta = ctx->result->mta;
	bounceinfo_classify_facts(ctx->bi, &facts, &decision);
	rcpt->class_ = decision.class_;
	rcpt->severity = decision.severity;
	rcpt->matched_rule = decision.matched_rule;
	rcpt->rule_id = decision.rule_id;
}

static void classify_recipients(struct bounceinfo_parse_ctx *ctx)
{
	struct bounceinfo_recipient *rcpt;
	/* with one recipient, codes anywhere in the bounce are its own */
	bool single = array_count(&ctx->result->recipients) == 1;

	array_foreach_modifiable(&ctx->result->recipients, rcpt) {
		const char *diag = rcpt->diagnostic;
		bool whole_text = FALSE, searched = FALSE;

		if (rcpt->action != NULL &&
		    (strcmp(rcpt->action, "delivered") == 0 ||
		     strcmp(rcpt->action, "relayed") == 0 ||
		     strcmp(rcpt->action, "expanded") == 0)) {
			rcpt->class_ = BOUNCEINFO_CLASS_DELIVERY_REPORT;
			rcpt->severity = BOUNCEINFO_SEVERITY_NONE;
			rcpt->matched_rule = "action:delivered";
			rcpt->rule_id = "action/delivered";
			continue;
		}
		if (diag != NULL && diag != ctx->bounce_text) {
			const char *norm = bounceinfo_text_ununderscore(diag);
			if (norm != diag)
				rcpt->diagnostic = diag = p_strdup(ctx->pool, norm);
		}
		if (diag == NULL || *diag == '\0' ||
		    diag == ctx->bounce_text) {
			/* nothing per recipient: the bounce's own words */
			rcpt->diagnostic = ctx->bounce_text;
			diag = ctx->bounce_text_long;
			whole_text = TRUE;
		}
		if (diag != NULL && (!whole_text || single)) {
			codes_from_text(ctx, rcpt, diag);
			searched = TRUE;
		}
		if (rcpt->remote_mta == NULL && diag != NULL &&
		    (!whole_text || single)) {
			/* with one recipient, the server named anywhere in
			   the bounce is its own */
			rcpt->remote_mta = bounceinfo_detect_remote_mta(
				ctx->bi, ctx->pool, diag);
			if (rcpt->remote_mta == NULL && single &&
			    ctx->bounce_text_long != NULL) {
				rcpt->remote_mta = bounceinfo_detect_remote_mta(
					ctx->bi, ctx->pool,
					ctx->bounce_text_long);
			}
		}

		classify_one(ctx, rcpt, diag, searched);
		if (rcpt->class_ == BOUNCEINFO_CLASS_UNKNOWN && !whole_text &&
		    ctx->bounce_text_long != NULL) {
			/* the recipient's lines said nothing known: what
			   does the whole bounce say? */
			if (rcpt->status == NULL && rcpt->reply_code == 0) {
				/* nor anything else worth showing */
				rcpt->diagnostic = ctx->bounce_text;
			}
			if (single)
				codes_from_text(ctx, rcpt, ctx->bounce_text_long);
			classify_one(ctx, rcpt, ctx->bounce_text_long, single);
		}
	}
}

/* The mail system that wrote the bounce (once): its signatures are in
   the bounce's own words, near the top */
static void detect_mta(struct bounceinfo_parse_ctx *ctx)
{
	const char *text = ctx->clean_text, *mta;

	if (ctx->mta_detected || text == NULL)
		return;
	ctx->mta_detected = TRUE;
	mta = bounceinfo_mta_detect(ctx->bi, str_c(ctx->headers),
		t_strndup(text, I_MIN(bounceinfo_original_text_end(ctx, text),
				      BOUNCEINFO_MAX_CLASSIFY_LEN * 2)));
	if (mta != NULL)
		ctx->result->mta = p_strdup(ctx->pool, mta);
}

/* The bounce formats, tried in this order until one says what the message
   is (bounceinfo-format.h). Reports with a structure of their own come
   first; "no-evidence" stops ordinary mail before any text format reads
   it; "fallback" always decides. */
static const struct bounceinfo_format *const formats[] = {
	&bounceinfo_format_person_forward,
	&bounceinfo_format_arf,
	&bounceinfo_format_dsn,
	&bounceinfo_format_complaint_header,
	&bounceinfo_format_apple_unsubscribe,
	&bounceinfo_format_autoreply,
	&bounceinfo_format_no_evidence,
	&bounceinfo_format_ses,
	&bounceinfo_format_inline_dsn,
	&bounceinfo_format_ndr,
	&bounceinfo_format_fallback,
};

static int
bounceinfo_parse_real(struct bounceinfo_parse_ctx *ctx, struct istream *input,
		      const char **error_r)
{
	struct bounceinfo_result *result = ctx->result;
	enum bounceinfo_format_result ret = BOUNCEINFO_FORMAT_NO;
	bool not_bounce;
	const char *text;
	unsigned int i;

	if (parse_mime(ctx, input, &not_bounce, error_r) < 0)
		return -1;
	ctx->not_bounce_by_header = not_bounce;
	if (not_bounce)
		return 0;

	if (ctx->have_orig_part && str_len(ctx->orig_headers) > 0) {
		bounceinfo_headers_parse_original(ctx,
			str_data(ctx->orig_headers),
			str_len(ctx->orig_headers));
	}
	text = text_clean_multiline(str_c(ctx->text), str_len(ctx->text),
				    ctx->text_maybe_invalid);
	ctx->clean_text = text;
	ctx->bounce_text_long = bounceinfo_original_bounce_text(ctx, text,
		BOUNCEINFO_MAX_CLASSIFY_LEN);
	ctx->bounce_text = ctx->bounce_text_long == NULL ? NULL :
		bounceinfo_text_clean_valid(ctx->pool, ctx->bounce_text_long,
					    strlen(ctx->bounce_text_long),
					    BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
	if (result->original.message_id == NULL &&
	    result->original.subject == NULL)
		bounceinfo_original_find(ctx, text);

	for (i = 0; i < N_ELEMENTS(formats); i++) {
		ret = formats[i]->parse(ctx);
		if (ret != BOUNCEINFO_FORMAT_NO)
			break;
	}
	if (ret == BOUNCEINFO_FORMAT_NO)
		return 0;
	result->format = formats[i]->name;
	e_debug(ctx->bi->event, "format %s: %s, %u recipients",
		formats[i]->name, bounceinfo_kind_name(result->kind),
		array_count(&result->recipients));
	if (ret == BOUNCEINFO_FORMAT_DONE)
		return 0;

	/* provider scopes may name the mail system */
	detect_mta(ctx);
	classify_recipients(ctx);
	if (result->kind == BOUNCEINFO_KIND_NDR && ctx->bounce_text_long != NULL &&
	    bounceinfo_detect_delay_warning(ctx->bi, ctx->bounce_text_long)) {
		/* a text-only warning: nothing has failed for good yet */
		struct bounceinfo_recipient *rcpt;

		array_foreach_modifiable(&result->recipients, rcpt)
			rcpt->action = "delayed";
		result->kind = BOUNCEINFO_KIND_DELAYED;
	}
	return 0;
}

/* A string that grew past this is freed after the message, not kept for
   the next one */
#define BOUNCEINFO_PARSE_STR_KEEP (64 * 1024)

/* The strings of the last message, emptied, or new ones (no zeroed
   allocations for every message); taken from bi while in use */
static struct bounceinfo_parse_strs *parse_strs_get(struct bounceinfo *bi)
{
	struct bounceinfo_parse_strs *strs = bi->parse_strs;

	bi->parse_strs = NULL;
	if (strs == NULL) {
		strs = i_new(struct bounceinfo_parse_strs, 1);
		strs->headers = str_new(default_pool, 2048);
		strs->text = str_new(default_pool, 4096);
		strs->report = str_new(default_pool, 1024);
		strs->orig_headers = str_new(default_pool, 1024);
		strs->preamble = str_new(default_pool, 256);
		strs->html = str_new(default_pool, 256);
		return strs;
	}
	str_truncate(strs->headers, 0);
	str_truncate(strs->text, 0);
	str_truncate(strs->report, 0);
	str_truncate(strs->orig_headers, 0);
	str_truncate(strs->preamble, 0);
	str_truncate(strs->html, 0);
	return strs;
}

static void parse_strs_put(struct bounceinfo *bi,
			   struct bounceinfo_parse_strs *strs)
{
	if (bi->parse_strs == NULL &&
	    buffer_get_size(strs->headers) <= BOUNCEINFO_PARSE_STR_KEEP &&
	    buffer_get_size(strs->text) <= BOUNCEINFO_PARSE_STR_KEEP &&
	    buffer_get_size(strs->report) <= BOUNCEINFO_PARSE_STR_KEEP &&
	    buffer_get_size(strs->orig_headers) <= BOUNCEINFO_PARSE_STR_KEEP &&
	    buffer_get_size(strs->preamble) <= BOUNCEINFO_PARSE_STR_KEEP &&
	    buffer_get_size(strs->html) <= BOUNCEINFO_PARSE_STR_KEEP)
		bi->parse_strs = strs;
	else
		bounceinfo_parse_strs_free(&strs);
}

void bounceinfo_parse_strs_free(struct bounceinfo_parse_strs **_strs)
{
	struct bounceinfo_parse_strs *strs = *_strs;

	*_strs = NULL;
	str_free(&strs->headers);
	str_free(&strs->text);
	str_free(&strs->report);
	str_free(&strs->orig_headers);
	str_free(&strs->preamble);
	str_free(&strs->html);
	i_free(strs);
}

static int
parse_stream(struct bounceinfo *bi, struct istream *input,
	     struct bounceinfo_parse_more *more, pool_t pool,
	     struct bounceinfo_result **result_r, bool *not_bounce_r,
	     const char **error_r)
{
	struct bounceinfo_parse_ctx ctx;
	struct bounceinfo_parse_strs *strs;
	struct bounceinfo_result *result;
	int ret;

	*not_bounce_r = FALSE;
	result = p_new(pool, struct bounceinfo_result, 1);
	result->pool = pool;
	p_array_init(&result->recipients, pool, 4);

	/* the header text of this message only grows from here on */
	bounceinfo_header_lines_cache(bi, TRUE);
	strs = parse_strs_get(bi);
	T_BEGIN {
		i_zero(&ctx);
		ctx.bi = bi;
		ctx.pool = pool;
		ctx.result = result;
		ctx.more = more;
		ctx.headers = strs->headers;
		ctx.text = strs->text;
		ctx.report = strs->report;
		ctx.orig_headers = strs->orig_headers;
		ctx.preamble = strs->preamble;
		ctx.html = strs->html;
		ret = bounceinfo_parse_real(&ctx, input, error_r);
		*not_bounce_r = ctx.not_bounce_by_header;
		if (ret < 0)
			*error_r = p_strdup(pool, *error_r);
		else if (result->kind != BOUNCEINFO_KIND_NONE)
			detect_mta(&ctx);
	} T_END;
	parse_strs_put(bi, strs);
	bounceinfo_header_lines_cache(bi, FALSE);
	if (ret < 0) {
		*error_r = t_strdup(*error_r);
		return -1;
	}
	*result_r = result;
	return 0;
}

size_t bounceinfo_get_read_limit(struct bounceinfo *bi)
{
	/* several times the text scanned, for the headers and MIME
	   structure around that text */
	return I_MAX(bi->max_scan_bytes, 16 * 1024) * 4;
}

/* A top-level header line longer than this keeps only its start: one
   huge hostile line must not crowd the rest of the message out of the
   bounded read (a bounce behind a 5 MB header line is still one). */
#define BOUNCEINFO_MAX_HEADER_LINE (64 * 1024)

/* A read buffer that grew past this is freed after the message, not
   kept for the next one */
#define BOUNCEINFO_PARSE_BUF_KEEP (64 * 1024)

struct read_state {
	size_t limit;
	/* still in the top-level header; its line read so far */
	bool in_header;
	size_t line_len;
	unsigned char line_first;
	/* bytes of buf that hold the header, once it ended */
	size_t hdr_size;
};

/* Header bytes data[0..size) into buf, long lines cut; returns how many
   bytes were consumed (less than size once the header ends or buf is
   full). */
static size_t
read_header_block(struct read_state *st, buffer_t *buf,
		  const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;

	while (p < end && st->in_header && buf->used < st->limit) {
		const unsigned char *nl = memchr(p, '\n', end - p);
		const unsigned char *seg_end = nl == NULL ? end : nl + 1;
		size_t seg_len = seg_end - p, keep = 0;

		if (st->line_len == 0)
			st->line_first = *p;
		if (st->line_len < BOUNCEINFO_MAX_HEADER_LINE) {
			keep = I_MIN(seg_len,
				     BOUNCEINFO_MAX_HEADER_LINE - st->line_len);
			keep = I_MIN(keep, st->limit - buf->used);
			buffer_append(buf, p, keep);
		}
		st->line_len += seg_len;
		if (nl != NULL) {
			if (keep < seg_len && buf->used < st->limit) {
				/* the cut line still ends the way it did */
				buffer_append_c(buf, '\n');
			}
			if (st->line_len == 1 ||
			    (st->line_len == 2 && st->line_first == '\r')) {
				st->in_header = FALSE;
				st->hdr_size = buf->used;
			}
			st->line_len = 0;
		}
		p = seg_end;
	}
	return p - data;
}

/* Copy the start of the message by reading and consuming it block by
   block instead of handing the caller's stream to the MIME parser:
   Pigeonhole's edit-mail stream (any Sieve editheader action) returns 0
   from a blocking read when a header line outgrows its buffer, which
   panics the delivery process in i_stream_read(). Every caller (mail
   plugin, Sieve extension, doveadm, CLI, and bounceinfo_parse_data())
   goes through this one bounded read, so the same bytes give the same
   result. With stop_at_header, reading stops once the top-level header
   is in buf (st->hdr_size != 0). */
static int
read_start(struct istream *input, struct read_state *st, bool stop_at_header,
	   buffer_t *buf)
{
	const unsigned char *data;
	size_t size;

	while (buf->used < st->limit &&
	       i_stream_read_more(input, &data, &size) > 0) {
		if (st->in_header)
			size = read_header_block(st, buf, data, size);
		else {
			size = I_MIN(size, st->limit - buf->used);
			buffer_append(buf, data, size);
		}
		i_stream_skip(input, size);
		if (stop_at_header && !st->in_header)
			break;
	}
	return input->stream_errno != 0 ? -1 : 0;
}

static int
parse_buffer(struct bounceinfo *bi, const void *data, size_t size,
	     pool_t pool, struct bounceinfo_result **result_r,
	     bool *not_bounce_r, const char **error_r)
{
	struct istream *input;
	int ret;

	input = i_stream_create_from_data(data,
		I_MIN(size, bounceinfo_get_read_limit(bi)));
	i_stream_set_name(input, "(data)");
	ret = parse_stream(bi, input, NULL, pool, result_r, not_bounce_r,
			   error_r);
	i_stream_unref(&input);
	return ret;
}

struct bounceinfo_parse_more {
	struct bounceinfo *bi;
	/* the caller's stream and where reading it stopped */
	struct istream *input;
	const struct read_state *st;
	/* what the parser reads: the header (and whatever was read with
	   it), then the rest */
	struct istream_chain *chain;
	/* bytes the chain holds before the rest */
	size_t first_size;
	bool appended;
	bool failed;
};

static bool parse_more_pending(const struct bounceinfo_parse_more *more)
{
	return more != NULL && !more->appended;
}

/* No more to read: the chain ends after what it holds */
static void parse_more_end(struct bounceinfo_parse_more *more)
{
	i_assert(!more->appended);
	more->appended = TRUE;
	i_stream_chain_append_eof(more->chain);
}

/* Read the rest of the message (up to the read limit) into a buffer of
   its own (the chain still reads the first one) and append it; FALSE on
   a read error */
static bool parse_more_read(struct bounceinfo_parse_more *more)
{
	struct bounceinfo *bi = more->bi;
	struct read_state st = *more->st;
	struct istream *rest;
	buffer_t *buf;
	int ret;

	i_assert(!more->appended);
	more->appended = TRUE;
	if (bi->parse_buf_rest == NULL) {
		bi->parse_buf_rest =
			buffer_create_dynamic(default_pool, 16 * 1024);
	}
	buf = bi->parse_buf_rest;
	buffer_set_used_size(buf, 0);
	st.limit -= more->first_size;
	ret = read_start(more->input, &st, FALSE, buf);
	rest = i_stream_create_from_data(buf->data, buf->used);
	i_stream_chain_append(more->chain, rest);
	i_stream_unref(&rest);
	i_stream_chain_append_eof(more->chain);
	if (ret < 0) {
		more->failed = TRUE;
		return FALSE;
	}
	return TRUE;
}

/* One pass over the message: the parser reads the header from a chain
   stream, and the rest of the message is read and appended to the chain
   only when the header says to read on (lib-mail's parser simply goes
   on), so that the header is parsed once and the body of mail that is
   no bounce is never read */
static int
parse_chain(struct bounceinfo *bi, struct istream *input,
	    const struct read_state *st, const buffer_t *buf, pool_t pool,
	    struct bounceinfo_result **result_r, const char **error_r)
{
	struct bounceinfo_parse_more more;
	struct istream *chain_input, *first;
	bool not_bounce;
	int ret;

	i_zero(&more);
	more.bi = bi;
	more.input = input;
	more.st = st;
	more.first_size = buf->used;
	chain_input = i_stream_create_chain(&more.chain,
					    bounceinfo_get_read_limit(bi));
	i_stream_set_name(chain_input, "(data)");
	first = i_stream_create_from_data(buf->data, buf->used);
	i_stream_chain_append(more.chain, first);
	i_stream_unref(&first);
	ret = parse_stream(bi, chain_input, &more, pool, result_r,
			   &not_bounce, error_r);
	i_stream_unref(&chain_input);
	return more.failed ? -1 : ret;
}

int bounceinfo_parse(struct bounceinfo *bi, struct istream *input,
		     pool_t pool, struct bounceinfo_result **result_r,
		     const char **error_r)
{
	struct read_state st;
	bool not_bounce;
	buffer_t *buf;
	int ret;

	i_zero(&st);
	st.limit = bounceinfo_get_read_limit(bi);
	st.in_header = TRUE;
	/* the read buffer is kept from one message to the next (no 16 KB
	   zeroed per message), unless a large message grew it */
	if (bi->parse_buf == NULL)
		bi->parse_buf = buffer_create_dynamic(default_pool, 16 * 1024);
	buf = bi->parse_buf;
	buffer_set_used_size(buf, 0);
	/* the header first: mail whose header says it is no bounce is
	   decided without reading its body, with the same answer the
	   whole message would give (the body is never looked at then) */
	if (read_start(input, &st, TRUE, buf) < 0)
		ret = -1;
	else if (st.hdr_size > 0 && buf->used < st.limit)
		ret = parse_chain(bi, input, &st, buf, pool, result_r, error_r);
	else if (read_start(input, &st, FALSE, buf) < 0)
		ret = -1;
	else {
		ret = parse_buffer(bi, buf->data, buf->used, pool, result_r,
				   &not_bounce, error_r);
	}
	if (ret < 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s",
					   i_stream_get_name(input),
					   i_stream_get_error(input));
	}
	if (bi->parse_buf->used > BOUNCEINFO_PARSE_BUF_KEEP)
		buffer_free(&bi->parse_buf);
	if (bi->parse_buf_rest != NULL &&
	    bi->parse_buf_rest->used > BOUNCEINFO_PARSE_BUF_KEEP)
		buffer_free(&bi->parse_buf_rest);
	return ret;
}

int bounceinfo_parse_data(struct bounceinfo *bi, const void *data,
			  size_t size, pool_t pool,
			  struct bounceinfo_result **result_r,
			  const char **error_r)
{
	struct istream *input;
	int ret;

	/* the same bounded read as a stream gets */
	input = i_stream_create_from_data(data, size);
	i_stream_set_name(input, "(data)");
	ret = bounceinfo_parse(bi, input, pool, result_r, error_r);
	i_stream_unref(&input);
	return ret;
}
