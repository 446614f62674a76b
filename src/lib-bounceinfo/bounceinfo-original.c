/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The returned original message inside a bounce: where the bounce's own
   text ends and the copy of the message begins ("--- Below this line is a
   copy of the message", "----- Original message -----", a header
   block...), the bounce's own text without it, and the copy's header
   fields when there is no separate part for them. */

#include "lib.h"
#include "str.h"
#include "bounceinfo-private.h"

/* Start of the returned message's copy, all at line start: a banner after
   a line of dashes, a line of its own (both words from
   rules/ndr-layout.map), or the copy's first header line */
static const char *separator_pattern(struct bounceinfo *bi)
{
	return t_strconcat(
		"^[ \\t]*(?:-+ ?",
		bounceinfo_vocab_alternation(bi, "copy-banner"), "|",
		bounceinfo_vocab_alternation(bi, "copy-line"), "|"
		"Content-Type: message/rfc822|"
		"(?:Return-Path|Received|DKIM-Signature|Message-I[dD]|"
		"Received-SPF|X-Original-To|Delivered-To|"
		"Authentication-Results|ARC-Seal|MIME-Version):[ \\t]?\\S"
		")", NULL);
}

int bounceinfo_original_init(struct bounceinfo *bi, const char **error_r)
{
	const char *error;

	/* one multi-line search over the whole text, not one per line */
	bi->copy_separator = bounceinfo_builtin_compile(separator_pattern(bi),
		PCRE2_MULTILINE, &error);
	if (bi->copy_separator == NULL) {
		*error_r = t_strdup_printf("copy separator pattern (from "
			"rules/ndr-layout.map): %s", error);
		return -1;
	}
	(void)pcre2_jit_compile(bi->copy_separator, PCRE2_JIT_COMPLETE);
	return 0;
}

void bounceinfo_original_deinit(struct bounceinfo *bi)
{
	if (bi->copy_separator != NULL)
		pcre2_code_free(bi->copy_separator);
	bi->copy_separator = NULL;
}

size_t bounceinfo_original_text_end(struct bounceinfo_parse_ctx *ctx,
				     const char *text)
{
	struct bounceinfo *bi = ctx->bi;
	const char *nl;
	size_t len, end;
	int ret;

	if (ctx->text_end_for == text)
		return ctx->text_end;
	len = strlen(text);
	end = len;
	/* skip the first line: a bounce never starts with a copy */
	nl = strchr(text, '\n');
	if (nl != NULL) {
		ret = pcre2_match(bi->copy_separator, (PCRE2_SPTR)text, len,
				  nl + 1 - text, PCRE2_NO_UTF_CHECK,
				  bi->match_data, bi->match_ctx);
		if (ret >= 0)
			end = pcre2_get_ovector_pointer(bi->match_data)[0];
	}
	ctx->text_end_for = text;
	ctx->text_end = end;
	return end;
}

void bounceinfo_original_find(struct bounceinfo_parse_ctx *ctx,
				  const char *text)
{
	size_t end = bounceinfo_original_text_end(ctx, text);
	const char *p;

	if (end >= strlen(text))
		return;
	/* the copy starts at the separator; skip the separator line itself
	   unless it already is a header line */
	p = text + end;
	while (*p == ' ' || *p == '\t')
		p++;
	/* skip the separator line unless it already is a header line of
	   the copy ("Return-Path: ...") */
	const char *colon = strpbrk(p, ": \n");
	if (colon == NULL || *colon != ':' || colon[1] != ' ' ||
	    strncasecmp(p, "Content-Type: message/rfc822", 28) == 0) {
		p = strchr(p, '\n');
		if (p == NULL)
			return;
		p++;
		while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			p++;
	}
	bounceinfo_headers_parse_original(ctx, (const unsigned char *)p,
					  strlen(p));
}

const char *bounceinfo_original_bounce_text(struct bounceinfo_parse_ctx *ctx,
					    const char *text, size_t max_len)
{
	size_t end = bounceinfo_original_text_end(ctx, text);

	/* text is the cleaned text (valid UTF-8): so is its start up to
	   where a character begins */
	if (((unsigned char)text[end] & 0xc0) == 0x80) {
		text = t_strndup(text, end);
		return bounceinfo_text_clean(ctx->pool, text, strlen(text),
					     max_len);
	}
	return bounceinfo_text_clean_valid(ctx->pool, text, end, max_len);
}
