/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Format "text-ndr": non-DSN bounces in free text (qmail, Exim, Sendmail,
   Courier, Exchange, Gmail, ...): recipients and diagnostics from the
   human-readable text. Generic, line based:

   1. The bounce text ends where the copy of the returned message starts
      (bounceinfo-original.c).
   2. A recipient starts at a line that is mainly an address: "<x@y>:",
      "x@y: 550 ...", "  x@y" (Exim, Gmail), "x@y on <date>" (Exchange),
      "RCPT TO:<x@y>" in a session transcript, "Final-Recipient:" copies.
   3. Its diagnostic is the rest of that line and the lines after it up
      to the next recipient or an empty line; while the diagnostic still
      holds no SMTP reply or status code the next paragraph is added too
      (Gmail's "Technical details ..." layout).

   The same scan gives DSN recipients that lack them their diagnostic
   and refused command (bounceinfo_ndr_enrich()). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-format.h"

#define NDR_MAX_DIAG_LINES 12
#define NDR_MAX_PARAGRAPHS 3

/* Lines that introduce a recipient; group 1 = address, group 2 = rest */
enum marker_flags {
	/* the diagnostic is this line only (Sendmail's per-recipient
	   summary lines follow each other) */
	MARKER_SINGLE_LINE = 0x01,
	/* the whole line belongs to the diagnostic (it names the SMTP
	   command that was refused) */
	MARKER_FULL_LINE = 0x02,
};
static const struct {
	const char *pattern;
	enum marker_flags flags;
} marker_patterns[] = {
	/* <x@y>: ... / <x@y> ... */
	{ "^[ \\t]*<([^\\s<>@]+@[^\\s<>@]+)>[ \\t]*(?:\\.\\.\\.|:|\\s|$)(.*)$", 0 },
	/* x@y: ... / x@y... / x@y / x@y Invalid address ... */
	{ "^[ \\t]*(?:\\* )?\"?([^\\s<>@\"(),;:]+@[A-Za-z0-9][A-Za-z0-9.\\-]*[A-Za-z0-9])\"?"
		"[ \\t]*(?:\\.\\.\\.|:|$|[ \\t]+)(.*)$", 0 },
	/* Sendmail: "554 <x@y>... reason" */
	{ "^[45]\\d\\d <([^\\s<>@]+@[^\\s<>@]+)>\\.\\.\\.\\s*(.*)$",
		MARKER_SINGLE_LINE },
	/* "Recipient address: x@y", "Unknown user: x@y", "Adresat: x@y" */
	{ "^[ \\t]*%{recipient-label}\\s*:\\s*"
		"<?([^\\s<>@\"]+@[^\\s<>@\"]+?)>?[ \\t]*(?:$|[ \\t,;:](.*)$)", 0 },
	/* "RCPT TO:<x@y>" in a transcript */
	{ "RCPT TO:\\s*<?([^\\s<>@]+@[^\\s<>@]+?)>?(?:\\s|$)(.*)$",
		MARKER_FULL_LINE },
	/* "error delivering your mail to <x@y>", "could not be sent to x@y" */
	{ "%{delivery-verb}\\b.{0,40}?"
		"\\b%{delivery-to}:?\\s+<?([^\\s<>@\"(),;:]+@[A-Za-z0-9][A-Za-z0-9.\\-]*[A-Za-z0-9])>?"
		"[.,:;]?(.*)$", 0 },
	/* "Your message to x@y couldn't be delivered" */
	{ "%{message-noun} %{message-to}\\s+<?([^\\s<>@\"]+@[^\\s<>@\"]+?)>?"
		"\\s+%{not-delivered}"
		"(.*)$", 0 },
};

static const char *const skip_line_pattern =
	"^[ \\t]*(?:From|To|Cc|Reply-To|Sender|Message-ID|In-Reply-To|"
	"References|Return-Path|X-[A-Za-z-]+|Date|Subject):";

struct bounceinfo_ndr {
	pcre2_code *skip;
	pcre2_code *markers[N_ELEMENTS(marker_patterns)];
};

struct ndr_ctx {
	struct bounceinfo_parse_ctx *ctx;
	pcre2_code *skip;
	pcre2_code *const *markers;
};

/* The marker patterns with the words of rules/ndr-layout.map put in */
int bounceinfo_ndr_init(struct bounceinfo *bi, const char **error_r)
{
	struct bounceinfo_ndr *ndr = p_new(bi->pool, struct bounceinfo_ndr, 1);
	const char *error;

	bi->ndr = ndr;
	ndr->skip = bounceinfo_builtin_compile(skip_line_pattern, 0, &error);
	if (ndr->skip == NULL)
		i_panic("bounceinfo: skip line pattern: %s", error);
	for (unsigned int i = 0; i < N_ELEMENTS(marker_patterns); i++) {
		ndr->markers[i] = bounceinfo_builtin_compile(
			bounceinfo_vocab_expand(bi, marker_patterns[i].pattern),
			0, &error);
		if (ndr->markers[i] == NULL) {
			*error_r = t_strdup_printf("recipient line pattern %u "
				"(words from rules/ndr-layout.map): %s",
				i + 1, error);
			return -1;
		}
	}
	return 0;
}

void bounceinfo_ndr_deinit(struct bounceinfo *bi)
{
	struct bounceinfo_ndr *ndr = bi->ndr;

	if (ndr == NULL)
		return;
	if (ndr->skip != NULL)
		pcre2_code_free(ndr->skip);
	for (unsigned int i = 0; i < N_ELEMENTS(marker_patterns); i++) {
		if (ndr->markers[i] != NULL)
			pcre2_code_free(ndr->markers[i]);
	}
	bi->ndr = NULL;
}

static struct ndr_ctx *ndr_ctx_get(struct bounceinfo_parse_ctx *ctx)
{
	struct ndr_ctx *nctx = t_new(struct ndr_ctx, 1);

	nctx->ctx = ctx;
	nctx->skip = ctx->bi->ndr->skip;
	nctx->markers = ctx->bi->ndr->markers;
	return nctx;
}

static bool line_is_blank(const char *line)
{
	for (; *line != '\0'; line++) {
		if (*line != ' ' && *line != '\t' && *line != '\r')
			return FALSE;
	}
	return TRUE;
}

static bool
address_is_ignored(struct ndr_ctx *nctx, const char *addr)
{
	const char *local = t_strcut(addr, '@');

	/* the bounce's own sender; the original sender is not excluded:
	   people do write to themselves */
	(void)nctx;
	return strcasecmp(local, "mailer-daemon") == 0 ||
		strcasecmp(local, "mailer_daemon") == 0;
}

/* Returns the address if line is a recipient marker, rest_r = rest */
static const char *
line_marker(struct ndr_ctx *nctx, const char *line, const char **rest_r,
	    enum marker_flags *flags_r)
{
	struct bounceinfo *bi = nctx->ctx->bi;
	size_t len = strlen(line), s, e, rs, re;

	if (strchr(line, '@') == NULL)
		return NULL;
	if (bounceinfo_pcre_match(bi, nctx->skip, line, len))
		return NULL;
	for (unsigned int i = 0; i < N_ELEMENTS(marker_patterns); i++) {
		if (!bounceinfo_pcre_match_group(bi, nctx->markers[i], line,
						 len, 1, &s, &e) || e <= s)
			continue;
		/* group 2 from the same match */
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(bi->match_data);
		rs = ov[4]; re = ov[5];
		const char *addr = bounceinfo_address_clean(
			pool_datastack_create(), t_strndup(line + s, e - s));
		if (addr == NULL || address_is_ignored(nctx, addr))
			continue;
		*rest_r = (rs == PCRE2_UNSET || re <= rs) ? "" :
			t_strndup(line + rs, re - rs);
		*flags_r = marker_patterns[i].flags;
		if ((*flags_r & MARKER_FULL_LINE) != 0)
			*rest_r = line;
		return addr;
	}
	return NULL;
}

static void ndr_parse(struct bounceinfo_parse_ctx *ctx, const char *text)
{
	struct ndr_ctx *nctx = ndr_ctx_get(ctx);
	const char *const *lines, *rest, *addr;
	unsigned int i, count;

	text = t_strndup(text, bounceinfo_original_text_end(ctx, text));
	lines = (const char *const *)p_strsplit(pool_datastack_create(),
						 text, "\n");
	count = str_array_length(lines);
	for (i = 0; i < count; i++) {
		struct bounceinfo_recipient *rcpt;
		string_t *diag;
		unsigned int j, paragraphs = 0, nlines = 0;

		enum marker_flags flags, flags2;

		addr = line_marker(nctx, lines[i], &rest, &flags);
		if (addr == NULL)
			continue;

		diag = t_str_new(256);
		str_append(diag, rest);
		for (j = i + 1; j < count && nlines < NDR_MAX_DIAG_LINES &&
			    (flags & MARKER_SINGLE_LINE) == 0; j++) {
			const char *r2;

			if (line_is_blank(lines[j])) {
				if (str_len(diag) == 0 ||
				    line_is_blank(str_c(diag)))
					continue;
				if (bounceinfo_text_has_code(str_c(diag)) ||
				    ++paragraphs >= NDR_MAX_PARAGRAPHS)
					break;
				continue;
			}
			const char *addr2 = line_marker(nctx, lines[j], &r2,
							&flags2);
			/* the same address again continues the block
			   ("SMTP error ... after RCPT TO:<x>:") */
			if (addr2 != NULL && strcasecmp(addr2, addr) != 0)
				break;
			str_append_c(diag, ' ');
			str_append(diag, lines[j]);
			nlines++;
		}

		rcpt = bounceinfo_recipient_find(ctx, addr);
		if (rcpt == NULL) {
			rcpt = bounceinfo_recipient_add(ctx);
			if (rcpt == NULL)
				break;
			rcpt->address = p_strdup(ctx->pool, addr);
			rcpt->action = "failed";
		}
		bounceinfo_recipient_set_diagnostic(ctx, rcpt, str_c(diag));
		i = j - 1;
	}
}

void bounceinfo_ndr_enrich(struct bounceinfo_parse_ctx *ctx, const char *text)
{
	struct bounceinfo_recipient *rcpt;
	bool need = FALSE;

	array_foreach_modifiable(&ctx->result->recipients, rcpt) {
		if (rcpt->diagnostic == NULL || rcpt->smtp_command == NULL)
			need = TRUE;
	}
	if (!need || *text == '\0')
		return;

	/* parse the text into a scratch result and copy diagnostics of
	   the same addresses */
	struct bounceinfo_result *real = ctx->result;
	struct bounceinfo_result scratch;
	const struct bounceinfo_recipient *srcpt;

	i_zero(&scratch);
	scratch.original = real->original;
	t_array_init(&scratch.recipients, 4);
	ctx->result = &scratch;
	ndr_parse(ctx, text);
	ctx->result = real;

	array_foreach_modifiable(&real->recipients, rcpt) {
		const struct bounceinfo_recipient *match = NULL;

		array_foreach(&scratch.recipients, srcpt) {
			if (srcpt->address != NULL && rcpt->address != NULL &&
			    strcasecmp(srcpt->address, rcpt->address) == 0) {
				match = srcpt;
				break;
			}
		}
		if (match == NULL && array_count(&real->recipients) == 1 &&
		    array_count(&scratch.recipients) == 1)
			match = array_front(&scratch.recipients);
		if (match == NULL || match->diagnostic == NULL)
			continue;
		if (rcpt->diagnostic == NULL)
			rcpt->diagnostic = match->diagnostic;
		if (rcpt->smtp_command == NULL) {
			const char *cmd = bounceinfo_smtp_command_find(ctx->bi,
				match->diagnostic);
			if (cmd != NULL)
				rcpt->smtp_command = p_strdup(ctx->pool, cmd);
		}
	}
}

static enum bounceinfo_format_result
format_ndr_parse(struct bounceinfo_parse_ctx *ctx)
{
	ndr_parse(ctx, ctx->clean_text);
	if (array_count(&ctx->result->recipients) == 0)
		return BOUNCEINFO_FORMAT_NO;
	ctx->result->kind = BOUNCEINFO_KIND_NDR;
	return BOUNCEINFO_FORMAT_FOUND;
}

const struct bounceinfo_format bounceinfo_format_ndr = {
	.name = "text-ndr",
	.parse = format_ndr_parse,
};
