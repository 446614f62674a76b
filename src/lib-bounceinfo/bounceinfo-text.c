/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "bounceinfo-private.h"

#include <ctype.h>

const char *bounceinfo_text_clean(pool_t pool, const char *text, size_t len,
				  size_t max_len)
{
	string_t *valid, *out;
	const unsigned char *p, *end;
	bool space = TRUE;

	if (text == NULL || len == 0)
		return NULL;
	if (len > max_len * 4)
		len = max_len * 4;

	valid = t_str_new(len + 16);
	if (!uni_utf8_get_valid_data((const unsigned char *)text, len, valid))
		p = str_data(valid);
	else {
		str_append_data(valid, text, len);
		p = str_data(valid);
	}
	end = str_data(valid) + str_len(valid);

	/* control characters and whitespace runs become one space */
	out = t_str_new(str_len(valid) + 1);
	for (; p < end; p++) {
		/* C0 and C1 controls, DEL, and the Unicode line and paragraph
		   separators (U+2028/9) all end up as one space: no field
		   may contain anything a reader could take for a line break */
		bool blank = *p < 0x20 || *p == 0x7f || *p == ' ';
		unsigned int skip = 0;

		if (*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f) {
			blank = TRUE;
			skip = 1;
		} else if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 &&
			   (p[2] == 0xa8 || p[2] == 0xa9)) {
			blank = TRUE;
			skip = 2;
		}
		if (blank) {
			if (!space)
				str_append_c(out, ' ');
			space = TRUE;
			p += skip;
		} else {
			str_append_c(out, *p);
			space = FALSE;
		}
	}
	while (str_len(out) > 0 && str_data(out)[str_len(out)-1] == ' ')
		str_truncate(out, str_len(out) - 1);
	if (str_len(out) > max_len) {
		size_t n = uni_utf8_data_truncate(str_data(out),
						  str_len(out), max_len);
		str_truncate(out, n);
	}
	if (str_len(out) == 0)
		return NULL;
	return p_strdup(pool, str_c(out));
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
