/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "bounceinfo-private.h"

#include <ctype.h>

/* Bytes text_clean() copies as they are: not blank (C0 controls, space,
   DEL) and not the lead byte of a C1 control (0xc2) or of U+2028/9
   (0xe2) */
static const bool text_copied[256] = {
	[0x21 ... 0x7e] = TRUE,
	[0x80 ... 0xc1] = TRUE,
	[0xc3 ... 0xe1] = TRUE,
	[0xe3 ... 0xff] = TRUE,
};

static const char *
text_clean(pool_t pool, const char *text, size_t len, size_t max_len,
	   bool valid)
{
	const unsigned char *p, *end;
	unsigned char *out;
	size_t out_len = 0;

	if (text == NULL || len == 0)
		return NULL;
	if (len > max_len * 4) {
		/* (possibly inside a character) */
		len = max_len * 4;
		valid = FALSE;
	}

	p = (const unsigned char *)text;
	if (!valid && !uni_utf8_data_is_valid(p, len)) {
		string_t *valid = t_str_new(len + 16);

		if (!uni_utf8_get_valid_data(p, len, valid)) {
			p = str_data(valid);
			len = str_len(valid);
		}
	}
	end = p + len;

	/* control characters and whitespace runs become one space; the
	   output is never longer than the input. (The last byte written is
	   a space exactly when a space was last written for a blank: no
	   copied byte is one.) */
	out = t_malloc_no0(len + 1);
	while (p < end && out_len <= max_len + 4) {
		size_t room = max_len + 5 - out_len;
		const unsigned char *run_end =
			(size_t)(end - p) > room ? p + room : end;

		/* most bytes are copied as they are, and most blanks are
		   single spaces between words */
		for (; p < run_end; p++) {
			if (text_copied[*p])
				out[out_len++] = *p;
			else if (*p == ' ' && out_len > 0 &&
				 out[out_len-1] != ' ')
				out[out_len++] = ' ';
			else
				break;
		}
		if (p == run_end)
			continue;

		/* C0 and C1 controls, DEL, and the Unicode line and paragraph
		   separators (U+2028/9) all end up as one space: no field
		   may contain anything a reader could take for a line break */
		bool blank = *p <= ' ' || *p == 0x7f;
		unsigned int skip = 0;

		if (*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f) {
			blank = TRUE;
			skip = 1;
		} else if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 &&
			   (p[2] == 0xa8 || p[2] == 0xa9)) {
			blank = TRUE;
			skip = 2;
		}
		if (!blank)
			out[out_len++] = *p;
		else {
			if (out_len > 0 && out[out_len-1] != ' ')
				out[out_len++] = ' ';
			p += skip;
		}
		p++;
	}
	while (out_len > 0 && out[out_len-1] == ' ')
		out_len--;
	if (out_len > max_len)
		out_len = uni_utf8_data_truncate(out, out_len, max_len);
	while (out_len > 0 && out[out_len-1] == ' ')
		out_len--;
	if (out_len == 0)
		return NULL;
	return p_strndup(pool, out, out_len);
}

const char *bounceinfo_text_clean(pool_t pool, const char *text, size_t len,
				  size_t max_len)
{
	return text_clean(pool, text, len, max_len, FALSE);
}

const char *bounceinfo_text_clean_valid(pool_t pool, const char *text,
					size_t len, size_t max_len)
{
	return text_clean(pool, text, len, max_len, TRUE);
}

const char *bounceinfo_text_ununderscore(const char *text)
{
	unsigned int underscores = 0, spaces = 0;
	const char *p;
	char *copy;

	for (p = text; *p != '\0'; p++) {
		if (*p == '_')
			underscores++;
		else if (*p == ' ')
			spaces++;
	}
	/* qmail log style "does_not_like_recipient./Remote_host_said:_550"
	   (some control panels show bounces so) */
	if (underscores < 3 || underscores <= spaces)
		return text;
	copy = t_strdup_noconst(text);
	for (char *q = copy; *q != '\0'; q++) {
		if (*q == '_')
			*q = ' ';
	}
	return copy;
}

const char *bounceinfo_address_clean(pool_t pool, const char *text)
{
	const char *p, *start, *end, *at;
	string_t *str;

	if (text == NULL)
		return NULL;
	/* "rfc822; user@example.com" */
	p = strchr(text, ';');
	if (p != NULL && strchr(p, '@') != NULL)
		text = p + 1;
	while (*text == ' ' || *text == '\t' || *text == '<' ||
	       *text == '"' || *text == '(' || *text == '\'')
		text++;
	start = text;
	for (end = start; *end != '\0'; end++) {
		if (*end == '>' || *end == ' ' || *end == '\t' ||
		    *end == '"' || *end == ')' || *end == '\r' ||
		    *end == '\n' || *end == ',' || *end == '\'')
			break;
	}
	while (end > start && (end[-1] == '.' || end[-1] == ':' ||
			       end[-1] == ';'))
		end--;
	if (end - start > BOUNCEINFO_MAX_FIELD_LEN || end == start)
		return NULL;
	at = NULL;
	for (p = start; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	if (at == NULL || at == start || at + 1 >= end)
		return NULL;

	str = t_str_new(end - start + 1);
	str_append_data(str, start, at - start + 1);
	for (p = at + 1; p < end; p++)
		str_append_c(str, i_tolower(*p));
	return bounceinfo_text_clean(pool, str_c(str), str_len(str),
				     BOUNCEINFO_MAX_FIELD_LEN);
}
