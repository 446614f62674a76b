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
#include "istream.h"
#include "bounceinfo-private.h"

#include <fcntl.h>
#include <unistd.h>

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
	const char *display = bounceinfo_display_path(bi, path);
	struct istream *input;
	const char *line, *error;
	unsigned int linenum = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		/* optional: without it the text formats know no words */
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	input = i_stream_create_fd_autoclose(&fd, 4096);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		struct bounceinfo_vocab entry;
		const char *key, *fragment, *p;
		pcre2_code *code;

		linenum++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || *line == '\0')
			continue;
		p = line + strlen(line);
		while (p > line && (p[-1] == ' ' || p[-1] == '\t' ||
				    p[-1] == '\r'))
			p--;
		line = t_strdup_until(line, p);
		fragment = strpbrk(line, " \t");
		key = fragment == NULL ? line : t_strdup_until(line, fragment);
		if (!vocab_key_is_valid(key)) {
			*error_r = t_strdup_printf("%s:%u: unknown key '%s'",
						   display, linenum, key);
			ret = -1;
			break;
		}
		while (fragment != NULL && (*fragment == ' ' ||
					    *fragment == '\t'))
			fragment++;
		if (fragment == NULL || *fragment == '\0') {
			*error_r = t_strdup_printf("%s:%u: no words after '%s'",
						   display, linenum, key);
			ret = -1;
			break;
		}
		/* each fragment must stand alone in an alternation */
		code = bounceinfo_builtin_compile(fragment, 0, &error);
		if (code == NULL) {
			*error_r = t_strdup_printf("%s:%u: %s", display,
						   linenum, error);
			ret = -1;
			break;
		}
		pcre2_code_free(code);
		entry.key = p_strdup(bi->pool, key);
		entry.fragment = p_strdup(bi->pool, fragment);
		array_push_back(&bi->vocab, &entry);
	}
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	return ret;
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
