/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* rules/ndr-layout.map: the words of the layout of free-text bounces in
   every language, as pcre2 fragments under a key.

   <key> <fragment>

   The built-in structural patterns (bounceinfo-original.c,
   bounceinfo-format-ndr.c) put the fragments of a key in as one
   alternation, so adding a language is adding lines here. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"

static const char *const vocab_keys[] = {
	"copy-banner", "copy-line", "recipient-label", "delivery-verb",
	"delivery-to", "message-noun", "message-to", "not-delivered",
};

static bool vocab_key_is_valid(const char *key)
{
	for (unsigned int i = 0; i < N_ELEMENTS(vocab_keys); i++) {
		if (strcmp(vocab_keys[i], key) == 0)
			return TRUE;
	}
	return FALSE;
}

int bounceinfo_vocab_load(struct bounceinfo *bi, const char *path,
			  const char **error_r)
{
	struct bounceinfo_datafile file;
	const char *line, *error;
	int ret;

	/* optional: without it the text formats know no words */
	ret = bounceinfo_datafile_open(bi, path, TRUE, &file, error_r);
	if (ret <= 0)
		return ret;
	ret = 0;
	while ((line = bounceinfo_datafile_next(&file)) != NULL) {
		struct bounceinfo_vocab entry;
		const char *key, *fragment;
		pcre2_code *code;

		fragment = strpbrk(line, " \t");
		key = fragment == NULL ? line : t_strdup_until(line, fragment);
		if (!vocab_key_is_valid(key)) {
			*error_r = bounceinfo_datafile_error(&file,
				"unknown key '%s'", key);
			ret = -1;
			break;
		}
		if (fragment == NULL) {
			*error_r = bounceinfo_datafile_error(&file,
				"no words after '%s'", key);
			ret = -1;
			break;
		}
		while (*fragment == ' ' || *fragment == '\t')
			fragment++;
		/* each fragment must stand alone in an alternation */
		code = bounceinfo_builtin_compile(fragment, 0, &error);
		if (code == NULL) {
			*error_r = bounceinfo_datafile_error(&file, "%s", error);
			ret = -1;
			break;
		}
		pcre2_code_free(code);
		entry.key = p_strdup(bi->pool, key);
		entry.fragment = p_strdup(bi->pool, fragment);
		array_push_back(&bi->vocab, &entry);
	}
	return bounceinfo_datafile_close(&file, ret, error_r);
}

const char *bounceinfo_vocab_alternation(struct bounceinfo *bi,
					 const char *key)
{
	const struct bounceinfo_vocab *entry;
	string_t *str = t_str_new(256);

	i_assert(vocab_key_is_valid(key));
	array_foreach(&bi->vocab, entry) {
		if (strcmp(entry->key, key) != 0)
			continue;
		str_append(str, str_len(str) == 0 ? "(?:" : "|");
		str_append(str, entry->fragment);
	}
	/* no words: a group that never matches */
	if (str_len(str) == 0)
		return "(?!)";
	str_append_c(str, ')');
	return str_c(str);
}

const char *bounceinfo_vocab_expand(struct bounceinfo *bi, const char *template)
{
	string_t *str = t_str_new(strlen(template) + 256);
	const char *p = template, *start, *end;

	while ((start = strstr(p, "%{")) != NULL &&
	       (end = strchr(start, '}')) != NULL) {
		str_append_data(str, p, start - p);
		str_append(str, bounceinfo_vocab_alternation(bi,
			t_strdup_until(start + 2, end)));
		p = end + 1;
	}
	str_append(str, p);
	return str_c(str);
}
