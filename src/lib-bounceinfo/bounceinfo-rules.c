/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Text rules: rules/<class>.rules files of pcre2 patterns, one a line.

   # comment
   [class]          following patterns belong to class
   hard: pattern    force the severity
   soft: pattern
   pattern          the class' default severity

   A file named after a class starts in that class' section. All patterns
   are compiled once, case-insensitive UTF-8, with JIT when available. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "bounceinfo-private.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* Order in which the shipped classes are tried: the more specific reasons
   first, so that e.g. "mailbox full" is not taken for a generic refusal
   and a blocklist listing is not taken for an unknown user. */
static const enum bounceinfo_class class_priority[] = {
	BOUNCEINFO_CLASS_VIRUS,
	BOUNCEINFO_CLASS_QUOTA,
	BOUNCEINFO_CLASS_SIZE,
	BOUNCEINFO_CLASS_RELAY,
	BOUNCEINFO_CLASS_AUTH,
	BOUNCEINFO_CLASS_RDNS,
	BOUNCEINFO_CLASS_REPUTATION,
	BOUNCEINFO_CLASS_BLOCKLIST,
	BOUNCEINFO_CLASS_SPAM,
	BOUNCEINFO_CLASS_RATE_LIMIT,
	BOUNCEINFO_CLASS_MOVED,
	BOUNCEINFO_CLASS_DISABLED,
	BOUNCEINFO_CLASS_POLICY,
	BOUNCEINFO_CLASS_SENDER_REJECTED,
	BOUNCEINFO_CLASS_SECURITY,
	BOUNCEINFO_CLASS_CONTENT,
	BOUNCEINFO_CLASS_SYSTEM,
	BOUNCEINFO_CLASS_NO_MAIL,
	BOUNCEINFO_CLASS_USER_UNKNOWN,
	BOUNCEINFO_CLASS_NETWORK,
	BOUNCEINFO_CLASS_HOST_UNKNOWN,
	BOUNCEINFO_CLASS_FILTERED,
	BOUNCEINFO_CLASS_SYNTAX,
	BOUNCEINFO_CLASS_MAILER,
	BOUNCEINFO_CLASS_EXPIRED,
	BOUNCEINFO_CLASS_DELIVERY_REPORT,
	BOUNCEINFO_CLASS_AUTOREPLY,
	BOUNCEINFO_CLASS_COMPLAINT,
	BOUNCEINFO_CLASS_UNKNOWN,
};

/* A literal every match of pattern must contain (lowercase ASCII), or
   NULL: a cheap memmem() on the folded text then skips most patterns
   without running pcre2. Conservative: only top-level literal runs of
   ASCII letters, digits, blanks and escaped punctuation count; groups,
   classes, optional characters and any top-level '|' end or disable it. */
const char *bounceinfo_pcre_literal(pool_t pool, const char *pattern)
{
	string_t *run = t_str_new(64), *best = t_str_new(64);
	const char *p = pattern;

	while (*p != '\0') {
		char c = *p;
		bool literal = FALSE;
		const char *next = p + 1;

		if (c == '|')
			return NULL;
		if (c == '\\') {
			if (p[1] == '\0')
				return NULL;
			if (i_isalnum(p[1])) {
				/* \b \s \w \d \x.. and the like */
				next = p + 2;
			} else {
				c = p[1];
				literal = TRUE;
				next = p + 2;
			}
		} else if (c == '(' || c == '[') {
			/* skip the group or class entirely */
			int depth = 0;
			bool in_class = FALSE;
			for (next = p; *next != '\0'; next++) {
				if (*next == '\\' && next[1] != '\0') {
					next++;
					continue;
				}
				if (in_class) {
					if (*next == ']' && next != p + 1 &&
					    !(next == p + 2 && p[1] == '^'))
						in_class = FALSE;
					if (c == '[' && !in_class)
						break;
					continue;
				}
				if (*next == '[') {
					in_class = TRUE;
					continue;
				}
				if (*next == '(')
					depth++;
				else if (*next == ')' && --depth == 0)
					break;
			}
			if (*next == '\0')
				return NULL;
			next++;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == ' ' || c == ':' ||
			   c == ',' || c == '\'' || c == '"' || c == '<' ||
			   c == '>' || c == '@' || c == '#' || c == '/' ||
			   c == '=' || c == '_' || c == '%' || c == '&' ||
			   c == ';' || c == '!' || c == '~' || c == '`') {
			literal = TRUE;
		}
		/* a quantifier makes the atom optional or repeated */
		bool quantified = *next == '?' || *next == '*' || *next == '+' ||
			*next == '{';
		if (literal && !quantified)
			str_append_c(run, i_tolower(c));
		else {
			if (literal && *next == '+')
				str_append_c(run, i_tolower(c));
			if (str_len(run) > str_len(best))
				str_truncate(best, 0), str_append_str(best, run);
			str_truncate(run, 0);
		}
		if (quantified) {
			/* skip the quantifier (and a lazy/possessive mark) */
			if (*next == '{') {
				while (*next != '\0' && *next != '}')
					next++;
				if (*next == '}')
					next++;
			} else {
				next++;
			}
			if (*next == '?' || *next == '+')
				next++;
		}
		p = next;
	}
	if (str_len(run) > str_len(best))
		str_truncate(best, 0), str_append_str(best, run);
	if (str_len(best) < 3)
		return NULL;
	return p_strdup(pool, str_c(best));
}

const char *bounceinfo_text_fold(const char *text)
{
	size_t len = strlen(text), i, o = 0;
	char *out = t_malloc_no0(len + 1);

	for (i = 0; i < len; i++) {
		unsigned char c = text[i];

		/* the only non-ASCII characters that caseless UTF-8 matching
		   equates with ASCII letters: KELVIN SIGN and LATIN SMALL
		   LETTER LONG S */
		if (c == 0xe2 && i + 2 < len &&
		    (unsigned char)text[i+1] == 0x84 &&
		    (unsigned char)text[i+2] == 0xaa) {
			out[o++] = 'k';
			i += 2;
		} else if (c == 0xc5 && i + 1 < len &&
			   (unsigned char)text[i+1] == 0xbf) {
			out[o++] = 's';
			i += 1;
		} else {
			out[o++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
		}
	}
	out[o] = '\0';
	return out;
}

pcre2_code *bounceinfo_pcre_compile(const char *pattern, const char **error_r)
{
	pcre2_code *code;
	int errcode;
	PCRE2_SIZE erroffset;
	PCRE2_UCHAR errbuf[256];

	/* UCP: \w, \b and case folding work for Polish, Czech and Cyrillic
	   letters too */
	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &errcode,
			     &erroffset, NULL);
	if (code == NULL) {
		pcre2_get_error_message(errcode, errbuf, sizeof(errbuf));
		*error_r = t_strdup_printf("pcre2 error at offset %zu: %s",
					   (size_t)erroffset, errbuf);
		return NULL;
	}
	/* Not JIT-compiled here: the literal prefilter means most patterns
	   never run, and JIT-compiling all of them dominated the start-up
	   of every process (bounceinfo_pcre_match_group() does it on first
	   use). */
	return code;
}

bool bounceinfo_pcre_match_group(struct bounceinfo *bi, pcre2_code *code,
				 const char *text, size_t len,
				 unsigned int group, size_t *start_r,
				 size_t *end_r)
{
	PCRE2_SIZE *ovector;
	int ret;

	/* JIT is an optimisation only: without it pcre2_match() interprets.
	   A pattern already compiled returns at once. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	/* text is valid UTF-8 (bounceinfo_text_clean() or checked) */
	ret = pcre2_match(code, (PCRE2_SPTR)text, len, 0, PCRE2_NO_UTF_CHECK,
			  bi->match_data, bi->match_ctx);
	if (ret < 0) {
		/* PCRE2_ERROR_NOMATCH, or a limit was hit: hostile or
		   pathological input simply does not match */
		if (ret != PCRE2_ERROR_NOMATCH) {
			e_debug(bi->event, "pcre2 match failed: %d", ret);
		}
		return FALSE;
	}
	if (start_r == NULL)
		return TRUE;
	ovector = pcre2_get_ovector_pointer(bi->match_data);
	if ((unsigned int)ret <= group ||
	    ovector[2*group] == PCRE2_UNSET) {
		*start_r = *end_r = 0;
		return TRUE;
	}
	*start_r = ovector[2*group];
	*end_r = ovector[2*group+1];
	return TRUE;
}

bool bounceinfo_pcre_match(struct bounceinfo *bi, pcre2_code *code,
			   const char *text, size_t len)
{
	return bounceinfo_pcre_match_group(bi, code, text, len, 0, NULL, NULL);
}

const struct bounceinfo_rule *
bounceinfo_rules_match(struct bounceinfo *bi,
		       const ARRAY_TYPE(bounceinfo_rule) *rules,
		       const char *text, const char *folded)
{
	const struct bounceinfo_rule *rule;
	size_t len = strlen(text);

	array_foreach(rules, rule) {
		if (rule->literal != NULL && folded != NULL &&
		    strstr(folded, rule->literal) == NULL)
			continue;
		if (bounceinfo_pcre_match(bi, rule->code, text, len))
			return rule;
	}
	return NULL;
}

const char *bounceinfo_display_path(struct bounceinfo *bi, const char *path)
{
	size_t len = strlen(bi->datadir);

	/* "rules/quota.rules" for shipped files, full path otherwise */
	if (strncmp(path, bi->datadir, len) == 0 && path[len] == '/')
		return path + len + 1;
	return path;
}

static bool class_from_filename(const char *path, enum bounceinfo_class *class_r)
{
	const char *base = strrchr(path, '/');
	const char *name;

	base = base == NULL ? path : base + 1;
	if (!bi_str_ends_with(base, ".rules"))
		return FALSE;
	name = t_strndup(base, strlen(base) - strlen(".rules"));
	return bounceinfo_class_parse(name, class_r);
}

int bounceinfo_rules_load(struct bounceinfo *bi, const char *path,
			  bool admin, const char **error_r)
{
	struct istream *input;
	const char *line, *display, *error;
	enum bounceinfo_class class_;
	bool have_class;
	unsigned int linenum = 0;
	int fd, ret = 0;

	display = bounceinfo_display_path(bi, path);
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	have_class = class_from_filename(path, &class_);

	input = i_stream_create_fd_autoclose(&fd, 4096);
	i_stream_set_max_buffer_size(input, 64 * 1024);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		struct bounceinfo_rule rule;
		const char *p;

		linenum++;
		while (*line == ' ' || *line == '\t')
			line++;
		p = line + strlen(line);
		while (p > line && (p[-1] == ' ' || p[-1] == '\t' ||
				    p[-1] == '\r'))
			p--;
		line = t_strdup_until(line, p);
		if (*line == '\0' || *line == '#')
			continue;

		if (*line == '[' && line[strlen(line)-1] == ']') {
			const char *name = t_strcut(line + 1, ']');

			if (!bounceinfo_class_parse(name, &class_)) {
				*error_r = t_strdup_printf(
					"%s:%u: unknown class '%s' (valid: %s)",
					display, linenum, name,
					bounceinfo_class_names_list());
				ret = -1;
				break;
			}
			have_class = TRUE;
			continue;
		}
		if (!have_class) {
			*error_r = t_strdup_printf(
				"%s:%u: pattern before any [class] section "
				"(file name is not a class name)",
				display, linenum);
			ret = -1;
			break;
		}

		i_zero(&rule);
		rule.class_ = class_;
		if (str_begins(line, "hard:")) {
			rule.severity = BOUNCEINFO_SEVERITY_HARD;
			line += 5;
		} else if (str_begins(line, "soft:")) {
			rule.severity = BOUNCEINFO_SEVERITY_SOFT;
			line += 5;
		}
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0') {
			*error_r = t_strdup_printf("%s:%u: empty pattern",
						   display, linenum);
			ret = -1;
			break;
		}
		rule.code = bounceinfo_pcre_compile(line, &error);
		if (rule.code == NULL) {
			*error_r = t_strdup_printf("%s:%u: %s", display,
						   linenum, error);
			ret = -1;
			break;
		}
		rule.literal = bounceinfo_pcre_literal(bi->pool, line);
		rule.source = p_strdup_printf(bi->pool, "%s:%u",
					      display, linenum);
		rule.source_not_rcpt = p_strdup_printf(bi->pool,
			"%s (not RCPT: filtered)", rule.source);
		if (admin)
			array_push_back(&bi->admin_rules, &rule);
		else
			array_push_back(&bi->rules, &rule);
	}
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	return ret;
}

static int cmp_str(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

int bounceinfo_rules_load_dir(struct bounceinfo *bi, const char *dir,
			      bool admin, const char **error_r)
{
	ARRAY_TYPE(const_string) files;
	const char *const *file;
	struct dirent *d;
	DIR *dirp;

	dirp = opendir(dir);
	if (dirp == NULL) {
		*error_r = t_strdup_printf("opendir(%s) failed: %m", dir);
		return -1;
	}
	t_array_init(&files, 32);
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.' || !bi_str_ends_with(d->d_name, ".rules"))
			continue;
		const char *path = t_strconcat(dir, "/", d->d_name, NULL);
		array_push_back(&files, &path);
	}
	(void)closedir(dirp);
	/* deterministic order independent of the file system */
	array_sort(&files, cmp_str);
	array_foreach(&files, file) {
		if (bounceinfo_rules_load(bi, *file, admin, error_r) < 0)
			return -1;
	}
	return 0;
}

static unsigned int class_rank(enum bounceinfo_class class_)
{
	for (unsigned int i = 0; i < N_ELEMENTS(class_priority); i++) {
		if (class_priority[i] == class_)
			return i;
	}
	return N_ELEMENTS(class_priority);
}

void bounceinfo_rules_sort(struct bounceinfo *bi)
{
	ARRAY_TYPE(bounceinfo_rule) sorted;
	const struct bounceinfo_rule *rule;
	unsigned int tier2 = class_rank(BOUNCEINFO_CLASS_NO_MAIL);

	/* stable: by class priority, then rules with an explicit severity
	   (the more certain phrasings), then file and line order */
	p_array_init(&sorted, bi->pool, array_count(&bi->rules));
	for (unsigned int r = 0; r <= N_ELEMENTS(class_priority); r++) {
		for (unsigned int pass = 0; pass < 2; pass++) {
			array_foreach(&bi->rules, rule) {
				if (class_rank(rule->class_) != r ||
				    (rule->severity != BOUNCEINFO_SEVERITY_NONE) !=
				    (pass == 0))
					continue;
				if (r < tier2)
					array_push_back(&sorted, rule);
				else
					array_push_back(&bi->rules_tier2, rule);
			}
		}
	}
	bi->rules = sorted;
}

void bounceinfo_rules_free(struct bounceinfo *bi)
{
	struct bounceinfo_rule *rule;

	if (array_is_created(&bi->admin_rules)) {
		array_foreach_modifiable(&bi->admin_rules, rule)
			pcre2_code_free(rule->code);
	}
	if (array_is_created(&bi->rules)) {
		array_foreach_modifiable(&bi->rules, rule)
			pcre2_code_free(rule->code);
	}
	if (array_is_created(&bi->rules_tier2)) {
		array_foreach_modifiable(&bi->rules_tier2, rule)
			pcre2_code_free(rule->code);
	}
}
