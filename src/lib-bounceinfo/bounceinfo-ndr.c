/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Non-DSN bounces: recipients and diagnostics from the human-readable
   text. Generic, line based:

   1. The bounce text ends where the copy of the returned message starts
      ("--- Below this line is a copy of the message", "----- Original
      message -----", a header block...).
   2. A recipient starts at a line that is mainly an address: "<x@y>:",
      "x@y: 550 ...", "  x@y" (Exim, Gmail), "x@y on <date>" (Exchange),
      "RCPT TO:<x@y>" in a session transcript, "Final-Recipient:" copies.
   3. Its diagnostic is the rest of that line and the lines after it up
      to the next recipient or an empty line; while the diagnostic still
      holds no SMTP reply or status code the next paragraph is added too
      (Gmail's "Technical details ..." layout). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"

#include <ctype.h>

#define NDR_MAX_DIAG_LINES 12
#define NDR_MAX_PARAGRAPHS 3

/* Start of the returned message's copy, all at line start */
static const char *const separator_pattern =
	"^[ \\t]*(?:"
	"-+ ?(?:Below this line is a copy of the message|"
		"This is a copy of (?:the|your) message|"
		"Original message|Original Message|Returned message|"
		"The header of the original message|Forwarded message|"
		"Unsent message (?:below|follows)|Message text follows|"
		"Original message headers|Headers of the original|"
		"original message follows|Failed message|"
		"This is a copy of the headers|The original message|"
		"Kopia wiadomo|Oryginalna wiadomo|Копия|Исходное сообщение|"
		"Originalnachricht|Message d'origine|Mensaje original)|"
	"Original message follows|Message headers follow|"
	"Original message headers:|Included is a copy of the message header|"
	"The original message headers|"
	"Content-Type: message/rfc822|"
	"(?:Return-Path|Received|DKIM-Signature|Message-I[dD]|"
		"Received-SPF|X-Original-To|Delivered-To|"
		"Authentication-Results|ARC-Seal|MIME-Version):[ \\t]?\\S"
	")";

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
	/* "Recipient address: x@y", "Unknown user: x@y", localized */
	{ "^[ \\t]*(?:Recipient(?:'s)?(?: address)?|Original recipient|"
		"Failed recipient|Unknown user|Invalid recipient|"
		"Undeliverable(?: to)?|Address|Adres(?:at)?|Адрес(?:ат)?|"
		"Empf.nger|Destinataire|Destinatario|Příjemce)\\s*:\\s*"
		"<?([^\\s<>@\"]+@[^\\s<>@\"]+?)>?[ \\t]*(?:$|[ \\t,;:](.*)$)", 0 },
	/* "RCPT TO:<x@y>" in a transcript */
	{ "RCPT TO:\\s*<?([^\\s<>@]+@[^\\s<>@]+?)>?(?:\\s|$)(.*)$",
		MARKER_FULL_LINE },
	/* "error delivering your mail to <x@y>", "could not be sent to x@y" */
	{ "(?:deliver(?:ing|y|ed)?|send(?:ing)?|sent|relay(?:ing)?)\\b.{0,40}?"
		"\\bto:?\\s+<?([^\\s<>@\"(),;:]+@[A-Za-z0-9][A-Za-z0-9.\\-]*[A-Za-z0-9])>?"
		"[.,:;]?(.*)$", 0 },
	/* "Your message to x@y couldn't be delivered" */
	{ "(?:message|mail|e-mail) (?:to|for)\\s+<?([^\\s<>@\"]+@[^\\s<>@\"]+?)>?"
		"\\s+(?:could ?n.t be|was not|has not been|cannot be|could not be)"
		"(.*)$", 0 },
};

static const char *const skip_line_pattern =
	"^[ \\t]*(?:From|To|Cc|Reply-To|Sender|Message-ID|In-Reply-To|"
	"References|Return-Path|X-[A-Za-z-]+|Date|Subject):";

struct bounceinfo_ndr {
	pcre2_code *separator, *skip;
	pcre2_code *markers[N_ELEMENTS(marker_patterns)];
};

struct ndr_ctx {
	struct bounceinfo_parse_ctx *ctx;
	pcre2_code *separator, *skip;
	pcre2_code *const *markers;
	const char *sender;
};

static pcre2_code *ndr_compile(const char *pattern, uint32_t flags)
{
	const char *error;
	pcre2_code *code;
	int errcode;
	PCRE2_SIZE erroffset;

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_CASELESS | flags, &errcode,
			     &erroffset, NULL);
	if (code == NULL) {
		PCRE2_UCHAR buf[256];
		pcre2_get_error_message(errcode, buf, sizeof(buf));
		error = (const char *)buf;
		i_panic("bounceinfo: built-in pattern invalid at %zu: %s: %s",
			(size_t)erroffset, error, pattern);
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

void bounceinfo_ndr_init(struct bounceinfo *bi)
{
	struct bounceinfo_ndr *ndr = p_new(bi->pool, struct bounceinfo_ndr, 1);

	/* one multi-line search over the whole text, not one per line */
	ndr->separator = ndr_compile(separator_pattern, PCRE2_MULTILINE);
	ndr->skip = ndr_compile(skip_line_pattern, 0);
	for (unsigned int i = 0; i < N_ELEMENTS(marker_patterns); i++)
		ndr->markers[i] = ndr_compile(marker_patterns[i].pattern, 0);
	bi->ndr = ndr;
}

void bounceinfo_ndr_deinit(struct bounceinfo *bi)
{
	struct bounceinfo_ndr *ndr = bi->ndr;

	if (ndr == NULL)
		return;
	pcre2_code_free(ndr->separator);
	pcre2_code_free(ndr->skip);
	for (unsigned int i = 0; i < N_ELEMENTS(marker_patterns); i++)
		pcre2_code_free(ndr->markers[i]);
	bi->ndr = NULL;
}

static struct ndr_ctx *ndr_ctx_get(struct bounceinfo_parse_ctx *ctx)
{
	struct ndr_ctx *nctx = t_new(struct ndr_ctx, 1);

	nctx->ctx = ctx;
	nctx->separator = ctx->bi->ndr->separator;
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

static bool diag_has_code(const char *diag)
{
	return bounceinfo_status_find(diag) != NULL ||
		bounceinfo_reply_code_find(diag) != 0;
}

static struct bounceinfo_recipient *
ndr_rcpt_find(struct bounceinfo_parse_ctx *ctx, const char *addr)
{
	struct bounceinfo_recipient *rcpt;

	array_foreach_modifiable(&ctx->result->recipients, rcpt) {
		if (rcpt->address != NULL &&
		    strcasecmp(rcpt->address, addr) == 0)
			return rcpt;
	}
	return NULL;
}

static void
ndr_set_diag(struct bounceinfo_parse_ctx *ctx,
	     struct bounceinfo_recipient *rcpt, const char *diag)
{
	if (diag == NULL || *diag == '\0')
		return;
	if (rcpt->diagnostic != NULL) {
		/* a later, more precise mention (transcript) is added */
		if (diag_has_code(rcpt->diagnostic) || !diag_has_code(diag))
			return;
		diag = t_strconcat(rcpt->diagnostic, " ", diag, NULL);
	}
	rcpt->diagnostic = bounceinfo_text_clean(ctx->pool, diag, strlen(diag),
						 BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
}

/* End of the bounce's own text: where the copy of the message starts */
static size_t ndr_text_end(struct ndr_ctx *nctx, const char *text);

size_t bounceinfo_ndr_text_end(struct bounceinfo_parse_ctx *ctx,
				const char *text)
{
	return ndr_text_end(ndr_ctx_get(ctx), text);
}

static size_t ndr_text_end(struct ndr_ctx *nctx, const char *text)
{
	struct bounceinfo_parse_ctx *ctx = nctx->ctx;
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
		ret = pcre2_match(nctx->separator, (PCRE2_SPTR)text, len,
				  nl + 1 - text, PCRE2_NO_UTF_CHECK,
				  bi->match_data, bi->match_ctx);
		if (ret >= 0)
			end = pcre2_get_ovector_pointer(bi->match_data)[0];
	}
	ctx->text_end_for = text;
	ctx->text_end = end;
	return end;
}

void bounceinfo_ndr_parse(struct bounceinfo_parse_ctx *ctx, const char *text)
{
	struct ndr_ctx *nctx = ndr_ctx_get(ctx);
	const char *const *lines, *rest, *addr;
	unsigned int i, count;

	nctx->sender = NULL;
	if (ctx->result->original.from != NULL) {
		const char *p = strchr(ctx->result->original.from, '<');
		nctx->sender = bounceinfo_address_clean(pool_datastack_create(),
			p != NULL ? p : ctx->result->original.from);
	}

	text = t_strndup(text, ndr_text_end(nctx, text));
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
				if (diag_has_code(str_c(diag)) ||
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

		rcpt = ndr_rcpt_find(ctx, addr);
		if (rcpt == NULL) {
			rcpt = bounceinfo_recipient_add(ctx);
			if (rcpt == NULL)
				break;
			rcpt->address = p_strdup(ctx->pool, addr);
			rcpt->action = "failed";
		}
		ndr_set_diag(ctx, rcpt, str_c(diag));
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
	bounceinfo_ndr_parse(ctx, text);
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

void bounceinfo_ndr_find_original(struct bounceinfo_parse_ctx *ctx,
				  const char *text)
{
	struct ndr_ctx *nctx = ndr_ctx_get(ctx);
	size_t end = ndr_text_end(nctx, text);
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

bool bounceinfo_ndr_parse_inline_dsn(struct bounceinfo_parse_ctx *ctx,
				     const char *text)
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

const char *bounceinfo_ndr_bounce_text(struct bounceinfo_parse_ctx *ctx,
				       const char *text, size_t max_len)
{
	struct ndr_ctx *nctx = ndr_ctx_get(ctx);

	text = t_strndup(text, ndr_text_end(nctx, text));
	return bounceinfo_text_clean(ctx->pool, text, strlen(text), max_len);
}

void bounceinfo_ndr_fallback(struct bounceinfo_parse_ctx *ctx,
			     const char *text ATTR_UNUSED)
{
	const char *const *addrs, *diag;
	struct bounceinfo_recipient *rcpt;

	/* only for what the header calls a bounce */
	if (!bounceinfo_parse_looks_like_bounce(ctx))
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

		if (addr == NULL || ndr_rcpt_find(ctx, addr) != NULL)
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

/* Amazon SES notifications in JSON (possibly escaped inside an SNS
   "Message" string): {"notificationType":"Delivery", "delivery":
   {"recipients":["x@y"], "smtpResponse":"250 2.6.0 ..."}} or
   {"notificationType":"Bounce", "bounce":{"bouncedRecipients":
   [{"emailAddress":"x@y","action":"failed","status":"5.1.1",
   "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}} */
static const char *json_string(const char *obj, const char *end,
			       const char *key)
{
	const char *p = obj, *q;
	size_t klen = strlen(key);

	while ((p = strstr(p, key)) != NULL && p < end) {
		if (p > obj && p[-1] == '"' && p[klen] == '"') {
			q = p + klen + 1;
			while (*q == ' ' || *q == ':')
				q++;
			if (*q != '"')
				return NULL;
			q++;
			const char *e = strchr(q, '"');
			if (e == NULL || e > end)
				return NULL;
			return t_strdup_until(q, e);
		}
		p += klen;
	}
	return NULL;
}

static const char *json_flatten(const char *text)
{
	string_t *flat = t_str_new(strlen(text) + 1);

	/* the JSON may be wrapped over lines and escaped once */
	for (const char *p = text; *p != '\0' && str_len(flat) < 262144; p++) {
		if (*p == '\n')
			continue;
		if (*p == '\\' && p[1] == '"') {
			str_append_c(flat, '"');
			p++;
			continue;
		}
		str_append_c(flat, *p);
	}
	return str_c(flat);
}

bool bounceinfo_ndr_parse_json_delivery(struct bounceinfo_parse_ctx *ctx,
					const char *text, bool *complaint_r)
{
	const char *p, *end, *response;
	bool complaint;

	p = strstr(text, "notificationType");
	if (p == NULL)
		return FALSE;
	text = json_flatten(p - 1);
	p = text + strlen("\"notificationType\"");
	while (*p == ' ' || *p == ':')
		p++;
	*complaint_r = complaint = strncmp(p, "\"Complaint\"", 11) == 0;
	if (strncmp(p, "\"Bounce\"", 8) == 0 || complaint) {
		const char *feedback_type = !complaint ? NULL :
			json_string(p, p + strlen(p), "complaintFeedbackType");
		p = strstr(p, complaint ? "\"complainedRecipients\"" :
			   "\"bouncedRecipients\"");
		if (p == NULL || (p = strchr(p, '[')) == NULL)
			return FALSE;
		end = strchr(p, ']');
		if (end == NULL)
			return FALSE;
		/* one {...} per recipient */
		while ((p = strchr(p, '{')) != NULL && p < end) {
			const char *oend = strchr(p, '}');
			struct bounceinfo_recipient *rcpt;
			const char *addr, *value;

			if (oend == NULL || oend > end)
				break;
			addr = json_string(p, oend, "emailAddress");
			rcpt = bounceinfo_recipient_add(ctx);
			if (rcpt == NULL)
				break;
			rcpt->address = bounceinfo_address_clean(ctx->pool, addr);
			if (complaint) {
				rcpt->diagnostic = p_strdup(ctx->pool,
					feedback_type != NULL ? feedback_type :
					"abuse");
				p = oend + 1;
				continue;
			}
			value = json_string(p, oend, "action");
			rcpt->action = value == NULL ? "failed" :
				bounceinfo_action_canonical(value);
			value = json_string(p, oend, "status");
			if (bounceinfo_status_is_valid(value))
				rcpt->status = p_strdup(ctx->pool, value);
			value = json_string(p, oend, "diagnosticCode");
			if (value != NULL) {
				const char *semi = strchr(value, ';');
				if (semi != NULL && semi - value < 20)
					value = semi + 1;
				rcpt->diagnostic = bounceinfo_text_clean(ctx->pool,
					value, strlen(value),
					BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
			}
			p = oend + 1;
		}
		return array_count(&ctx->result->recipients) > 0;
	}
	if (strncmp(p, "\"Delivery\"", 10) != 0)
		return FALSE;
	response = json_string(p, p + strlen(p), "smtpResponse");
	p = strstr(p, "\"recipients\"");
	if (p == NULL || (p = strchr(p, '[')) == NULL ||
	    (end = strchr(p, ']')) == NULL)
		return FALSE;
	const char *const *items = t_strsplit(t_strdup_until(p + 1, end), ",");
	for (; *items != NULL; items++) {
		struct bounceinfo_recipient *rcpt;
		const char *addr = bounceinfo_address_clean(ctx->pool, *items);

		if (addr == NULL)
			continue;
		rcpt = bounceinfo_recipient_add(ctx);
		if (rcpt == NULL)
			break;
		rcpt->address = addr;
		rcpt->action = "delivered";
		if (response != NULL) {
			const char *status = bounceinfo_status_find(response);
			if (status != NULL)
				rcpt->status = p_strdup(ctx->pool, status);
			rcpt->diagnostic = bounceinfo_text_clean(ctx->pool,
				response, strlen(response),
				BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
		}
	}
	return array_count(&ctx->result->recipients) > 0;
}
