/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* explanations/<lang>.txt: "<class> = <sentence>" lines in UTF-8, '#'
   comments; "<kind> = ..." and "<kind>:<class> = ..." for texts that
   depend on the kind of message (a delay warning has not failed yet).
   Every file in the directory is loaded at init. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "str-sanitize.h"
#include "bounceinfo-private.h"

#include <ctype.h>

#include <dirent.h>

#define BOUNCEINFO_GENERIC_DELAYED_EXPLANATION \
	"Delivery of the message is delayed; the server keeps trying and " \
	"will report if it gives up. Nothing needs to be done yet."
#define BOUNCEINFO_GENERIC_EXPLANATION \
	"The message could not be delivered; read the diagnostic text " \
	"and contact the recipient by other means if it persists."

static struct bounceinfo_lang *
lang_find(struct bounceinfo *bi, const char *lang, size_t len)
{
	struct bounceinfo_lang *l;

	array_foreach_modifiable(&bi->langs, l) {
		if (strlen(l->lang) != len)
			continue;
		size_t i;
		for (i = 0; i < len; i++) {
			char a = i_tolower(l->lang[i]), b = i_tolower(lang[i]);
			if (a == '_') a = '-';
			if (b == '_') b = '-';
			if (a != b)
				break;
		}
		if (i == len)
			return l;
	}
	return NULL;
}

int bounceinfo_explanations_load(struct bounceinfo *bi, const char *path,
				 const char *lang, const char **error_r)
{
	struct bounceinfo_lang *l;
	struct bounceinfo_datafile file;
	const char *line;
	int ret;

	if (bounceinfo_datafile_open(bi, path, FALSE, &file, error_r) < 0)
		return -1;
	l = lang_find(bi, lang, strlen(lang));
	if (l == NULL) {
		l = array_append_space(&bi->langs);
		l->lang = p_strdup(bi->pool, lang);
		array_push_back(&bi->lang_names, &l->lang);
	}
	ret = 0;
	while ((line = bounceinfo_datafile_next(&file)) != NULL) {
		enum bounceinfo_class class_;
		const char *name, *text, *eq;

		eq = strchr(line, '=');
		if (eq == NULL) {
			*error_r = bounceinfo_datafile_error(&file,
				"expected '<class> = <text>'");
			ret = -1;
			break;
		}
		name = t_strdup_until(line, eq);
		name = t_str_trim(name, " \t");
		text = t_str_trim(eq + 1, " \t");
		const char *colon = strchr(name, ':');
		enum bounceinfo_kind kind = BOUNCEINFO_KIND_NONE;
		bool kind_only = FALSE;
		if (colon != NULL) {
			if (!bounceinfo_kind_parse(t_strdup_until(name, colon),
						   &kind) ||
			    kind == BOUNCEINFO_KIND_NONE) {
				*error_r = bounceinfo_datafile_error(&file,
					"unknown kind '%s' (valid: %s)",
					t_strdup_until(name, colon),
					bounceinfo_kind_names_list());
				ret = -1;
				break;
			}
			name = colon + 1;
		} else if (!bounceinfo_class_parse(name, &class_) &&
			   bounceinfo_kind_parse(name, &kind) &&
			   kind != BOUNCEINFO_KIND_NONE) {
			kind_only = TRUE;
		}
		if (!kind_only && !bounceinfo_class_parse(name, &class_)) {
			*error_r = bounceinfo_datafile_error(&file,
				"unknown class '%s'", name);
			ret = -1;
			break;
		}
		if (!uni_utf8_str_is_valid(text)) {
			*error_r = bounceinfo_datafile_error(&file,
				"text is not valid UTF-8");
			ret = -1;
			break;
		}
		if (*text == '\0')
			continue;
		if (kind_only)
			l->kind_texts[kind] = p_strdup(bi->pool, text);
		else if (kind != BOUNCEINFO_KIND_NONE)
			l->kind_class_texts[kind][class_] =
				p_strdup(bi->pool, text);
		else
			l->texts[class_] = p_strdup(bi->pool, text);
	}
	return bounceinfo_datafile_close(&file, ret, error_r);
}

int bounceinfo_explanations_load_dir(struct bounceinfo *bi, const char *dir,
				     const char **error_r)
{
	struct dirent *d;
	DIR *dirp;
	int ret = 0;

	bi->explanations_dir = p_strdup(bi->pool, dir);
	dirp = opendir(dir);
	if (dirp == NULL) {
		if (errno == ENOENT) {
			/* not fatal (the built-in English sentence is used),
			   but an administrator must hear of it */
			e_warning(bi->event, "%s does not exist: no "
				  "explanations are loaded, every language "
				  "falls back to the built-in English "
				  "sentence", dir);
			return 0;
		}
		*error_r = t_strdup_printf("opendir(%s) failed: %m", dir);
		return -1;
	}
	while (ret == 0 && (d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.' || !bi_str_ends_with(d->d_name, ".txt"))
			continue;
		const char *lang = t_strndup(d->d_name,
					     strlen(d->d_name) - 4);
		ret = bounceinfo_explanations_load(bi,
			t_strconcat(dir, "/", d->d_name, NULL), lang, error_r);
	}
	(void)closedir(dirp);
	array_append_zero(&bi->lang_names);
	array_pop_back(&bi->lang_names);
	return ret;
}

/* Log once per language that it is not available and what is used
   instead: an installation without explanations/ or with a user language
   that has no file is otherwise silent. */
static void
explain_fallback_warn(struct bounceinfo *bi, const char *lang,
		      const char *used)
{
	const char *const *warned;

	array_foreach(&bi->langs_warned, warned) {
		if (strcasecmp(*warned, lang) == 0)
			return;
	}
	/* a bounded list: a hostile language setting cannot grow it */
	if (array_count(&bi->langs_warned) >= 32)
		return;
	lang = p_strdup(bi->pool, lang);
	array_push_back(&bi->langs_warned, &lang);
	e_warning(bi->event, "No explanations for language '%s' in %s: "
		  "using %s", str_sanitize(lang, 32),
		  bi->explanations_dir == NULL ? "(none)" :
		  bi->explanations_dir, used);
}

const char *bounceinfo_explain(struct bounceinfo *bi,
			       enum bounceinfo_class class_,
			       const char *lang)
{
	const struct bounceinfo_lang *l;
	const char *dash;
	bool have_lang;

	i_assert(class_ < BOUNCEINFO_CLASS_COUNT);
	if (lang == NULL || *lang == '\0')
		lang = "en";
	/* "pt-BR" -> "pt" -> "en"; a class missing from a language's file
	   falls back quietly, a language with no file at all is logged */
	l = lang_find(bi, lang, strlen(lang));
	have_lang = l != NULL;
	if (l != NULL && l->texts[class_] != NULL)
		return l->texts[class_];
	dash = strpbrk(lang, "-_");
	if (dash != NULL) {
		l = lang_find(bi, lang, dash - lang);
		have_lang = have_lang || l != NULL;
		if (l != NULL && l->texts[class_] != NULL)
			return l->texts[class_];
	}
	l = lang_find(bi, "en", 2);
	if (l != NULL && l->texts[class_] != NULL) {
		if (!have_lang)
			explain_fallback_warn(bi, lang, "English (en)");
		return l->texts[class_];
	}
	if (!have_lang || l == NULL)
		explain_fallback_warn(bi, lang,
				      "the built-in English sentence");
	return BOUNCEINFO_GENERIC_EXPLANATION;
}

/* There is a file for lang or its base language ("pt-BR" -> "pt") */
static bool lang_has_file(struct bounceinfo *bi, const char *lang)
{
	const char *dash = strpbrk(lang, "-_");

	return lang_find(bi, lang, strlen(lang)) != NULL ||
		(dash != NULL && lang_find(bi, lang, dash - lang) != NULL);
}

/* lang, its base language ("pt-BR" -> "pt"), then "en" */
static unsigned int
lang_chain(struct bounceinfo *bi, const char *lang,
	   const struct bounceinfo_lang *chain[3])
{
	unsigned int n = 0;
	const char *dash;

	if (lang != NULL && *lang != '\0') {
		chain[n] = lang_find(bi, lang, strlen(lang));
		if (chain[n] != NULL)
			n++;
		dash = strpbrk(lang, "-_");
		if (dash != NULL) {
			chain[n] = lang_find(bi, lang, dash - lang);
			if (chain[n] != NULL)
				n++;
		}
	}
	chain[n] = lang_find(bi, "en", 2);
	if (chain[n] != NULL)
		n++;
	return n;
}

const char *bounceinfo_explain_kind(struct bounceinfo *bi,
				    enum bounceinfo_kind kind,
				    enum bounceinfo_class class_,
				    const char *lang)
{
	const struct bounceinfo_lang *chain[3];
	unsigned int i, n;

	i_assert(kind < BOUNCEINFO_KIND_COUNT);
	i_assert(class_ < BOUNCEINFO_CLASS_COUNT);
	/* the user's language first, the most specific text in it */
	n = lang_chain(bi, lang, chain);
	for (i = 0; i < n; i++) {
		const char *text = chain[i]->kind_class_texts[kind][class_];

		if (text == NULL)
			text = chain[i]->kind_texts[kind];
		if (text == NULL)
			continue;
		if (lang != NULL && *lang != '\0' && !lang_has_file(bi, lang)) {
			/* logged as bounceinfo_explain() does */
			explain_fallback_warn(bi, lang, "English (en)");
		}
		return text;
	}
	/* a class' text says delivery failed: wrong for a warning */
	if (kind == BOUNCEINFO_KIND_DELAYED)
		return BOUNCEINFO_GENERIC_DELAYED_EXPLANATION;
	return bounceinfo_explain(bi, class_, lang);
}

const char *const *bounceinfo_get_languages(struct bounceinfo *bi)
{
	unsigned int count;

	/* NULL-terminated: a zero element is kept past the end */
	array_append_zero(&bi->lang_names);
	array_pop_back(&bi->lang_names);
	return array_get(&bi->lang_names, &count);
}
