/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Text rules: rules/<class>.rules and rules/providers/<provider>.rules
   files of pcre2 patterns, one a line (format: doc/rules.md).

   # comment
   [class]             following patterns belong to class
   hard: pattern       force the severity
   soft: pattern
   certain: pattern    the phrasing alone decides the class
   pattern             the class' default severity
   {name} pattern      an explicit rule id
   @provider NAME      start a block of rules scoped to a provider
   @scope FIELD PCRE2  where the block applies (any scope matching)
   @provider none      end the block

   A file named after a class starts in that class' section. Patterns
   are case-insensitive UTF-8. A rule's pattern is compiled (and
   JIT-compiled) when the rule is first tried, so that start-up does not
   pay for the many rules a process never runs; a pattern that does not
   compile is logged then, once, and left out. bounceinfo_rules_check()
   compiles them all (bounceinfo --check-rules). @scope patterns are
   compiled at load. */

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

/* A literal every match of pattern must contain (lowercase ASCII), or
   NULL: a cheap memmem() on the folded text then skips most patterns
   without running pcre2. Conservative: only top-level literal runs of
   ASCII letters, digits, blanks and escaped punctuation count; groups,
   classes, optional characters and any top-level '|' end or disable it. */
/* p points at the letter after a backslash: the end of the escape */
static const char *escape_skip(const char *p)
{
	char e = *p++;

	switch (e) {
	case 'x': case 'o': case 'p': case 'P': case 'N': case 'g':
	case 'k':
		if (*p == '{' || *p == '<' || *p == '\'') {
			char close = *p == '{' ? '}' : *p == '<' ? '>' : '\'';
			while (*p != '\0' && *p != close)
				p++;
			return *p == '\0' ? p : p + 1;
		}
		if (e == 'x') {
			for (unsigned int i = 0; i < 2 && i_isxdigit(*p); i++)
				p++;
		} else if (e == 'g') {
			if (*p == '-' || *p == '+')
				p++;
			while (i_isdigit(*p))
				p++;
		} else if ((e == 'p' || e == 'P') && *p != '\0') {
			p++;
		}
		return p;
	case 'c':
		return *p == '\0' ? p : p + 1;
	default:
		/* octal \0nn and back references \1.. */
		if (i_isdigit(e)) {
			while (i_isdigit(*p))
				p++;
		}
		return p;
	}
}

/* Does the pattern set an option that changes how its text reads:
   (?x) ignores blanks, (?n) and the like do not matter */
static bool pattern_has_extended(const char *pattern)
{
	const char *p;

	for (p = strstr(pattern, "(?"); p != NULL; p = strstr(p + 2, "(?")) {
		const char *q = p + 2;

		while (i_isalpha(*q) || *q == '-' || *q == '^') {
			if (*q == 'x')
				return TRUE;
			q++;
		}
	}
	return FALSE;
}

static const char *const *literal_set(pool_t pool, const char *pattern);
static const char *const *alt_literals_ascii(pool_t pool, const char *alt);

/* Is the atom before p (a group) mandatory: no '?', '*', '{0' or '{,'
   quantifier follows */
static bool atom_mandatory(const char *p)
{
	return *p != '?' && *p != '*' &&
		!(*p == '{' && (p[1] == '0' || p[1] == ','));
}

static size_t literals_min_len(const char *const *set)
{
	size_t min = SIZE_MAX;

	for (; *set != NULL; set++)
		min = I_MIN(min, strlen(*set));
	return min;
}

/* The longest top-level literal run of pattern (possibly empty; NULL if
   the pattern has a top-level '|' or is not understood). With
   group_set_r, also the literal set of the mandatory group whose
   shortest literal is longest (NULL if none). */
static const char *
literal_scan(const char *pattern, const char *const **group_set_r)
{
	string_t *run = t_str_new(64), *best = t_str_new(64);
	const char *p = pattern;
	size_t group_min = 0;

	if (group_set_r != NULL)
		*group_set_r = NULL;
	while (*p != '\0') {
		char c = *p;
		bool literal = FALSE;
		const char *next = p + 1;

		if (c == '|')
			return NULL;
		if (c == '\\') {
			if (p[1] == '\0' || p[1] == 'Q')
				return NULL;
			if (i_isalnum(p[1])) {
				/* \b \s \w \d and the like; escapes with an
				   argument (\x20, \x{..}, \p{L}, \cX, \012,
				   \k<n>) skip it: it is no literal text */
				next = escape_skip(p + 1);
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
			/* a mandatory plain or (?:) group: every match of
			   the pattern holds one of its alternatives' literals */
			if (c == '(' && group_set_r != NULL &&
			    ((p[1] != '?' && p[1] != '*') || p[2] == ':') &&
			    atom_mandatory(next)) {
				const char *inner = t_strdup_until(
					p + (p[1] == '?' ? 3 : 1), next - 1);
				const char *const *set =
					literal_set(pool_datastack_create(),
						    inner);

				if (set != NULL &&
				    literals_min_len(set) > group_min) {
					*group_set_r = set;
					group_min = literals_min_len(set);
				}
			}
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
	return str_c(best);
}

const char *bounceinfo_pcre_literal(pool_t pool, const char *pattern)
{
	const char *best;

	if (pattern_has_extended(pattern))
		return NULL;
	best = literal_scan(pattern, NULL);
	if (best == NULL || strlen(best) < 3)
		return NULL;
	return p_strdup(pool, best);
}

static const char *class_skip(const char *p);
static const char *group_end(const char *p);
static const char *const *alternatives_split(const char *pattern, size_t len);

/* What every Cyrillic letter (U+0400-U+04FF) and the letters caseless
   UTF-8 matching equates with it (the same block, and U+1C80-U+1C87,
   the rounded and tall forms of в д о с т ъ ѣ) hold in UTF-8: one of
   these lead bytes. The literal pass folds ASCII only; a pattern that
   needs a Cyrillic letter is skipped on text without any. */
static const char *const cyrillic_literals[] = {
	"\xd0", "\xd1", "\xd2", "\xd3", "\xe1\xb2", NULL
};

/* Does every match of alt (no top-level '|') hold a Cyrillic letter: a
   top-level one that is not optional, or a mandatory group each of
   whose alternatives needs one? */
static bool alt_needs_cyrillic(const char *p)
{
	while (*p != '\0') {
		unsigned char c = *p;
		const char *next;

		if (c == '\\') {
			if (p[1] == '\0' || p[1] == 'Q')
				return FALSE;
			next = i_isalnum(p[1]) ? escape_skip(p + 1) : p + 2;
		} else if (c == '[') {
			next = class_skip(p);
		} else if (c == '(') {
			const char *const *alts, *inner;
			bool all = TRUE;

			next = group_end(p);
			if (next == NULL)
				return FALSE;
			if (((p[1] != '?' && p[1] != '*') || p[2] == ':') &&
			    atom_mandatory(next)) {
				inner = p + (p[1] == '?' ? 3 : 1);
				for (alts = alternatives_split(inner,
						next - 1 - inner);
				     *alts != NULL && all; alts++)
					all = alt_needs_cyrillic(*alts);
				if (all)
					return TRUE;
			}
		} else if (c >= 0xd0 && c <= 0xd3 &&
			   ((unsigned char)p[1] & 0xc0) == 0x80) {
			next = p + 2;
			if (atom_mandatory(next))
				return TRUE;
		} else {
			next = p + 1;
		}
		p = next;
	}
	return FALSE;
}

static const char *const *cyrillic_literals_dup(pool_t pool)
{
	const char **set = p_new(pool, const char *,
				 N_ELEMENTS(cyrillic_literals));

	for (unsigned int i = 0; cyrillic_literals[i] != NULL; i++)
		set[i] = p_strdup(pool, cyrillic_literals[i]);
	return set;
}

/* The literals of one alternative (no top-level '|'): its longest run,
   or a mandatory group's set when that set's shortest literal is
   longer; NULL if neither reaches 3 characters; then the lead bytes of
   Cyrillic letters when the alternative needs one */
static const char *const *alt_literals(pool_t pool, const char *alt)
{
	const char *const *set;

	set = alt_literals_ascii(pool, alt);
	if (set == NULL && alt_needs_cyrillic(alt))
		set = cyrillic_literals_dup(pool);
	return set;
}

static const char *const *alt_literals_ascii(pool_t pool, const char *alt)
{
	const char *const *group_set, **set;
	const char *best;
	unsigned int count;

	best = literal_scan(alt, &group_set);
	if (best == NULL)
		return NULL;
	if (group_set != NULL && literals_min_len(group_set) > strlen(best)) {
		if (literals_min_len(group_set) < 3)
			return NULL;
		count = str_array_length(group_set);
		set = p_new(pool, const char *, count + 1);
		for (unsigned int i = 0; i < count; i++)
			set[i] = p_strdup(pool, group_set[i]);
		return set;
	}
	if (strlen(best) < 3)
		return NULL;
	set = p_new(pool, const char *, 2);
	set[0] = p_strdup(pool, best);
	return set;
}

/* p points at '[': the character after the class' closing ']' */
static const char *class_skip(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '\\' && p[1] != '\0')
			p += 2;
		else if (*p == '[' && p[1] == ':') {
			/* [:alpha:] */
			const char *end = strstr(p + 2, ":]");
			p = end == NULL ? p + 1 : end + 2;
		} else {
			p++;
		}
	}
	return *p == '\0' ? p : p + 1;
}

/* The strings of arr as a NULL-terminated array in pool (the strings
   themselves are not copied) */
static const char *const *
strarray_from_array(pool_t pool, ARRAY_TYPE(const_string) *arr)
{
	unsigned int count;
	const char *const *src;
	const char **dest;

	array_append_zero(arr);
	src = array_get(arr, &count);
	dest = p_new(pool, const char *, count);
	memcpy(dest, src, sizeof(*dest) * count);
	return dest;
}

/* The literals of each top-level alternative of pattern, together; NULL
   if one alternative has none */
static const char *const *literal_set(pool_t pool, const char *pattern)
{
	ARRAY_TYPE(const_string) lits;
	const char *const *alt, *const *alt_lits;

	t_array_init(&lits, 8);
	for (alt = alternatives_split(pattern, strlen(pattern));
	     *alt != NULL; alt++) {
		/* one top-level alternative: it needs its own literal, or
		   the pattern gets no prefilter */
		alt_lits = alt_literals(pool, *alt);
		if (alt_lits == NULL)
			return NULL;
		for (; *alt_lits != NULL; alt_lits++)
			array_push_back(&lits, alt_lits);
	}
	return strarray_from_array(pool, &lits);
}

const char *const *
bounceinfo_pcre_literals(pool_t pool, const char *pattern)
{
	/* quoted text could hide a ')' or '|' from the scan */
	if (pattern_has_extended(pattern) || strstr(pattern, "\\Q") != NULL)
		return NULL;
	return literal_set(pool, pattern);
}

bool bounceinfo_literals_found(const char *const *literals,
			       const char *folded)
{
	if (literals == NULL || folded == NULL)
		return TRUE;
	for (; *literals != NULL; literals++) {
		if (strstr(folded, *literals) != NULL)
			return TRUE;
	}
	return FALSE;
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

pcre2_code *bounceinfo_builtin_compile(const char *pattern, uint32_t flags,
				       const char **error_r)
{
	pcre2_code *code;
	int errcode;
	PCRE2_SIZE erroffset;
	PCRE2_UCHAR errbuf[256];

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_CASELESS | flags, &errcode,
			     &erroffset, NULL);
	if (code == NULL) {
		pcre2_get_error_message(errcode, errbuf, sizeof(errbuf));
		*error_r = t_strdup_printf("pcre2 error at offset %zu: %s",
					   (size_t)erroffset, errbuf);
		return NULL;
	}
	return code;
}

/* pcre2_match() with the library's match data, JIT code used when
   made */
static bool
pcre_match_code(struct bounceinfo *bi, pcre2_code *code, const char *text,
		size_t len, unsigned int group, size_t *start_r,
		size_t *end_r)
{
	PCRE2_SIZE *ovector;
	int ret;

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

bool bounceinfo_pcre_match_group(struct bounceinfo *bi, pcre2_code *code,
				 const char *text, size_t len,
				 unsigned int group, size_t *start_r,
				 size_t *end_r)
{
	/* JIT once per pattern: it is an optimisation only (without it
	   pcre2_match() interprets), so the slot only saves calls */
	unsigned int slot = ((uintptr_t)code >> 4) &
		(BOUNCEINFO_JIT_DONE_SLOTS - 1);

	if (bi->jit_done[slot] != code) {
		(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
		bi->jit_done[slot] = code;
	}
	return pcre_match_code(bi, code, text, len, group, start_r, end_r);
}

bool bounceinfo_pcre_match(struct bounceinfo *bi, pcre2_code *code,
			   const char *text, size_t len)
{
	return bounceinfo_pcre_match_group(bi, code, text, len, 0, NULL, NULL);
}

int bounceinfo_rule_compile(struct bounceinfo_rule *rule,
			    const char **error_r)
{
	const char *error;

	if (rule->code != NULL)
		return 0;
	/* a pattern that failed before is compiled again for its message
	   (bounceinfo_rules_check() only: matching does not retry) */
	rule->compiled = TRUE;
	rule->code = bounceinfo_pcre_compile(rule->pattern, &error);
	if (rule->code == NULL) {
		*error_r = t_strconcat(rule->source, ": ", error, NULL);
		return -1;
	}
	return 0;
}

bool bounceinfo_rule_match(struct bounceinfo *bi,
			   struct bounceinfo_rule *rule, const char *text,
			   size_t len)
{
	const char *error;

	if (rule->code == NULL) {
		if (rule->compiled)
			return FALSE;
		if (bounceinfo_rule_compile(rule, &error) < 0) {
			/* the message is classified without this rule */
			e_error(bi->event, "%s (the rule is left out; "
				"bounceinfo --check-rules checks every rule)",
				error);
			return FALSE;
		}
	}
	if (!rule->jit) {
		/* once: JIT is an optimisation only, pcre2_match()
		   interprets when it failed */
		rule->jit = TRUE;
		(void)pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE);
	}
	return pcre_match_code(bi, rule->code, text, len, 0, NULL, NULL);
}

static int
rules_check(ARRAY_TYPE(bounceinfo_rule) *rules, string_t *errors)
{
	struct bounceinfo_rule *rule;
	const char *error;
	int ret = 0;

	array_foreach_modifiable(rules, rule) {
		if (bounceinfo_rule_compile(rule, &error) < 0) {
			if (str_len(errors) > 0)
				str_append_c(errors, '\n');
			str_append(errors, error);
			ret = -1;
		}
	}
	return ret;
}

int bounceinfo_rules_check(struct bounceinfo *bi, const char **error_r)
{
	string_t *errors = t_str_new(256);
	int ret = 0;

	/* in the order they were loaded: administrator's, then shipped */
	if (rules_check(&bi->admin_rules, errors) < 0)
		ret = -1;
	if (rules_check(&bi->provider_rules, errors) < 0)
		ret = -1;
	if (rules_check(&bi->rules, errors) < 0)
		ret = -1;
	if (rules_check(&bi->rules_tier2, errors) < 0)
		ret = -1;
	if (ret < 0)
		*error_r = str_c(errors);
	return ret;
}

/* Header signatures matched field by field (doc/rules.md, "Header
   signatures"): when every top-level alternative of a multi-line pattern
   starts at "^" with literal text (a field name or its start: "From:",
   "X-MS-Exchange-Organization-", or a group of such starts), a match can
   only begin on a line that starts with one of those texts, and only
   such lines are handed to pcre2, each on its own. */

/* The ASCII literal at the start of p (lowercase, data stack), at least
   one character; NULL when p does not start with one */
static const char *line_start_run(const char *p)
{
	string_t *run = t_str_new(32);

	for (;;) {
		char c = *p;
		const char *next = p + 1;

		if (c == '\\' && p[1] != '\0' && !i_isalnum(p[1]) &&
		    (unsigned char)p[1] < 0x80) {
			c = p[1];
			next = p + 2;
		} else if (!(i_isalnum(c) || c == '-' || c == ':' ||
			     c == ' ' || c == '_') ||
			   (unsigned char)c >= 0x80) {
			break;
		}
		/* an optional or repeated character ends the run before
		   it, a '+' after it */
		if (*next == '?' || *next == '*' || *next == '{')
			break;
		str_append_c(run, i_tolower(c));
		if (*next == '+')
			break;
		p = next;
	}
	return str_len(run) == 0 ? NULL : str_c(run);
}

/* The end of the group that starts at p ('('): the character after its
   ')', or NULL */
static const char *group_end(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; ) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p += 2;
		} else if (*p == '[') {
			p = class_skip(p);
		} else {
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

/* Split pattern[0..len) at its top-level '|' (data stack) */
static const char *const *alternatives_split(const char *pattern, size_t len)
{
	ARRAY_TYPE(const_string) alts;
	const char *p = pattern, *start = pattern, *end = pattern + len;
	const char *alt;
	int depth = 0;

	t_array_init(&alts, 8);
	while (p <= end) {
		if (p == end || (*p == '|' && depth == 0)) {
			alt = t_strdup_until(start, p);
			array_push_back(&alts, &alt);
			start = ++p;
			continue;
		}
		if (*p == '\\') {
			p += p + 1 < end ? 2 : 1;
		} else if (*p == '[') {
			p = class_skip(p);
			if (p > end)
				p = end;
		} else {
			if (*p == '(')
				depth++;
			else if (*p == ')' && depth > 0)
				depth--;
			p++;
		}
	}
	array_append_zero(&alts);
	return array_front(&alts);
}

/* Add the line starts of one top-level alternative; FALSE if it has
   none (it may match elsewhere than at a line start) */
static bool
alt_line_starts(pool_t pool, const char *alt, ARRAY_TYPE(const_string) *dest)
{
	const char *run, *const *inner, *end;

	if (*alt++ != '^')
		return FALSE;
	if (*alt != '(') {
		run = line_start_run(alt);
		if (run == NULL)
			return FALSE;
		run = p_strdup(pool, run);
		array_push_back(dest, &run);
		return TRUE;
	}
	/* ^(?:A|B...) or ^(A|B...): each alternative's start */
	end = group_end(alt);
	if (end == NULL || !atom_mandatory(end))
		return FALSE;
	if (alt[1] == '?' && alt[2] == ':')
		alt += 3;
	else if (alt[1] != '?' && alt[1] != '*')
		alt += 1;
	else
		return FALSE;
	for (inner = alternatives_split(alt, end - 1 - alt);
	     *inner != NULL; inner++) {
		run = line_start_run(*inner);
		if (run == NULL)
			return FALSE;
		run = p_strdup(pool, run);
		array_push_back(dest, &run);
	}
	return TRUE;
}

const char *const *bounceinfo_pcre_alternatives(const char *pattern)
{
	return alternatives_split(pattern, strlen(pattern));
}

const char *const *
bounceinfo_pcre_line_starts(pool_t pool, const char *pattern,
			    pcre2_code *code, bool multiline)
{
	ARRAY_TYPE(const_string) starts;
	const char *const *alts;
	uint32_t newline;

	/* lines are what "\n" ends (pcre2's default, checked) */
	if (pcre2_pattern_info(code, PCRE2_INFO_NEWLINE, &newline) != 0 ||
	    newline != PCRE2_NEWLINE_LF)
		return NULL;
	if (pattern_has_extended(pattern) || strstr(pattern, "\\Q") != NULL)
		return NULL;
	if (str_begins_with(pattern, "(?m)")) {
		pattern += 4;
		multiline = TRUE;
	}
	/* without multi-line mode "^" is the first line's start only */
	if (!multiline)
		return NULL;
	t_array_init(&starts, 8);
	for (alts = alternatives_split(pattern, strlen(pattern));
	     *alts != NULL; alts++) {
		if (!alt_line_starts(pool, *alts, &starts))
			return NULL;
	}
	return strarray_from_array(pool, &starts);
}

/* Does the line start with lit (lowercase ASCII), letters caseless? A
   non-ASCII byte may be a character caseless UTF-8 matching equates with
   an ASCII letter (KELVIN SIGN): the line is then a candidate too. */
static bool line_starts_with(const char *line, size_t len, const char *lit)
{
	for (size_t i = 0; lit[i] != '\0'; i++) {
		unsigned char c;

		if (i >= len)
			return FALSE;
		c = line[i];
		if (c >= 0x80)
			return TRUE;
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)lit[i])
			return FALSE;
	}
	return TRUE;
}

/* The lines of text (bounceinfo_header_match()); during one
   bounceinfo_parse() the index of the last header text is kept: that
   text only grows, so the same address and length are the same text */
static const struct bounceinfo_header_line *
header_lines_get(struct bounceinfo *bi, const char *text, size_t len,
		 unsigned int *count_r)
{
	const char *p = text, *end = text + len, *nl;

	if (!array_is_created(&bi->header_lines))
		i_array_init(&bi->header_lines, 64);
	else if (bi->header_lines_cache && bi->header_lines_text == text &&
		 bi->header_lines_len == len)
		return array_get(&bi->header_lines, count_r);
	array_clear(&bi->header_lines);
	for (; p < end; p = nl + 1) {
		struct bounceinfo_header_line *line;
		unsigned char c = *p;

		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		line = array_append_space(&bi->header_lines);
		line->start = p - text;
		line->len = nl - p;
		line->first = c >= 'A' && c <= 'Z' ? c + 32 : c;
	}
	bi->header_lines_text = bi->header_lines_cache ? text : NULL;
	bi->header_lines_len = len;
	return array_get(&bi->header_lines, count_r);
}

void bounceinfo_header_lines_cache(struct bounceinfo *bi, bool enable)
{
	bi->header_lines_cache = enable;
	bi->header_lines_text = NULL;
}

bool bounceinfo_header_match(struct bounceinfo *bi, pcre2_code *code,
			     const char *const *starts, const char *text,
			     size_t len)
{
	const struct bounceinfo_header_line *lines;
	unsigned int i, count;

	if (starts == NULL || bi->no_prefilter)
		return bounceinfo_pcre_match(bi, code, text, len);
	lines = header_lines_get(bi, text, len, &count);
	for (i = 0; i < count; i++) {
		const char *line = text + lines[i].start;
		const char *const *s;

		for (s = starts; *s != NULL; s++) {
			/* the first byte first: most lines start otherwise */
			if (((unsigned char)(*s)[0] != lines[i].first &&
			     lines[i].first < 0x80) ||
			    !line_starts_with(line, lines[i].len, *s))
				continue;
			if (bounceinfo_pcre_match(bi, code, line,
						  lines[i].len))
				return TRUE;
			break;
		}
	}
	return FALSE;
}

static const char *const scope_field_names[BOUNCEINFO_SCOPE_FIELD_COUNT] = {
	[BOUNCEINFO_SCOPE_REMOTE_MTA] = "remote-mta",
	[BOUNCEINFO_SCOPE_REPORTING_MTA] = "reporting-mta",
	[BOUNCEINFO_SCOPE_RECIPIENT_DOMAIN] = "recipient-domain",
	[BOUNCEINFO_SCOPE_FROM] = "from",
	[BOUNCEINFO_SCOPE_MTA] = "mta",
};

bool bounceinfo_scope_field_parse(const char *name,
				  enum bounceinfo_scope_field *field_r)
{
	for (unsigned int i = 0; i < N_ELEMENTS(scope_field_names); i++) {
		if (strcasecmp(scope_field_names[i], name) == 0) {
			*field_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

bool bounceinfo_provider_applies(struct bounceinfo *bi,
				 const struct bounceinfo_provider *provider,
				 struct bounceinfo_scope_ctx *scope)
{
	const struct bounceinfo_scope *sc;
	bool applies = FALSE;

	if (scope == NULL)
		return FALSE;
	if (scope->applies != NULL && scope->applies[provider->idx] != 0)
		return scope->applies[provider->idx] == 1;
	array_foreach(&provider->scopes, sc) {
		if (sc->field == BOUNCEINFO_SCOPE_REMOTE_MTA &&
		    scope->remote_text != NULL) {
			scope->values[sc->field] =
				bounceinfo_remote_host_find(bi,
							    scope->remote_text);
			scope->remote_text = NULL;
		}
		const char *value = scope->values[sc->field];

		if (value != NULL && *value != '\0' &&
		    bounceinfo_pcre_match(bi, sc->code, value, strlen(value))) {
			applies = TRUE;
			break;
		}
	}
	if (scope->applies != NULL)
		scope->applies[provider->idx] = applies ? 1 : 2;
	return applies;
}

/* Bytes of a literal the prefilter's automaton looks for */
#define BOUNCEINFO_PREFILTER_MAX_LEN 20

void bounceinfo_prefilter_literal_ids(struct bounceinfo *bi,
				      const char *const *literals,
				      unsigned int **ids_r,
				      unsigned int *count_r)
{
	unsigned int count;

	*ids_r = NULL;
	*count_r = 0;
	if (literals == NULL)
		return;
	count = str_array_length(literals);
	*ids_r = p_new(bi->pool, unsigned int, count);
	/* any part of a literal every match holds is held too: the first
	   bytes select about as well and keep the automaton small */
	for (unsigned int i = 0; i < count; i++) {
		(*ids_r)[i] = bi_acmatch_add(bi->prefilter,
			t_strndup(literals[i], BOUNCEINFO_PREFILTER_MAX_LEN));
	}
	*count_r = count;
}

static void
rules_literal_ids(struct bounceinfo *bi, ARRAY_TYPE(bounceinfo_rule) *rules)
{
	struct bounceinfo_rule *rule;

	array_foreach_modifiable(rules, rule)
		bounceinfo_prefilter_literal_ids(bi, rule->literals, &rule->lit_ids,
				&rule->lit_count);
}

void bounceinfo_prefilter_build(struct bounceinfo *bi)
{
	struct bounceinfo_mta_sig *sig;

	i_assert(bi->prefilter == NULL);
	bi->prefilter = bi_acmatch_create();
	rules_literal_ids(bi, &bi->admin_rules);
	rules_literal_ids(bi, &bi->provider_rules);
	rules_literal_ids(bi, &bi->rules);
	rules_literal_ids(bi, &bi->rules_tier2);
	array_foreach_modifiable(&bi->mta_sigs, sig)
		bounceinfo_prefilter_literal_ids(bi, sig->literals, &sig->lit_ids,
				&sig->lit_count);
	for (unsigned int i = 0; i < N_ELEMENTS(bi->command_alts); i++) {
		struct bounceinfo_command_alt *alt;

		if (!array_is_created(&bi->command_alts[i]))
			continue;
		array_foreach_modifiable(&bi->command_alts[i], alt) {
			bounceinfo_prefilter_literal_ids(bi, alt->literals, &alt->lit_ids,
					&alt->lit_count);
		}
	}
	bounceinfo_detect_prefilter_add(bi);
	bi_acmatch_build(bi->prefilter);
}

const unsigned char *
bounceinfo_prefilter_scan(struct bounceinfo *bi, const char *text)
{
	unsigned char *hits;

	if (bi->no_prefilter || text == NULL || bi->prefilter == NULL)
		return NULL;
	hits = t_malloc_no0(bi_acmatch_set_size(bi->prefilter));
	/* the literals are lowercase: as in bounceinfo_text_fold(text) */
	bi_acmatch_scan_fold(bi->prefilter, text, strlen(text), hits);
	return hits;
}

bool bounceinfo_prefilter_candidate(const unsigned int *ids,
				    unsigned int count,
				    const unsigned char *hits)
{
	if (hits == NULL || ids == NULL)
		return TRUE;
	for (unsigned int i = 0; i < count; i++) {
		if (bi_acmatch_found(hits, ids[i]))
			return TRUE;
	}
	return FALSE;
}

const struct bounceinfo_rule *
bounceinfo_rules_match(struct bounceinfo *bi,
		       ARRAY_TYPE(bounceinfo_rule) *rules,
		       const char *text, const unsigned char *hits,
		       struct bounceinfo_scope_ctx *scope)
{
	struct bounceinfo_rule *rule;
	size_t len = strlen(text);

	if (bi->no_prefilter)
		hits = NULL;
	array_foreach_modifiable(rules, rule) {
		if (!bounceinfo_prefilter_candidate(rule->lit_ids,
						    rule->lit_count, hits))
			continue;
		if (scope != NULL && scope->rcpt &&
		    rule->class_ == BOUNCEINFO_CLASS_FILTERED)
			continue;
		if (rule->provider != NULL &&
		    !bounceinfo_provider_applies(bi, rule->provider, scope))
			continue;
		if (bounceinfo_rule_match(bi, rule, text, len))
			return rule;
	}
	return NULL;
}

const char *bounceinfo_rule_hash_id(pool_t pool, enum bounceinfo_class class_,
				    const char *provider, const char *pattern)
{
	/* FNV-1a (32 bits): the id depends on the pattern text alone, so it
	   survives lines moving; in a provider block the provider's name is
	   hashed too, so that the same phrase scoped and unscoped differs */
	uint32_t h = 2166136261U;
	const unsigned char *p;

	if (provider != NULL) {
		for (p = (const unsigned char *)provider; *p != '\0'; p++)
			h = (h ^ *p) * 16777619U;
		h = (h ^ '\n') * 16777619U;
	}
	for (p = (const unsigned char *)pattern; *p != '\0'; p++)
		h = (h ^ *p) * 16777619U;
	/* "%s/%08x" without printf: start-up makes a thousand of these */
	char hex[9];
	for (unsigned int i = 0; i < 8; i++)
		hex[i] = "0123456789abcdef"[(h >> (28 - 4 * i)) & 0xf];
	hex[8] = '\0';
	return p_strconcat(pool, bounceinfo_class_name(class_), "/", hex,
			   NULL);
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

/* State of loading one rules file */
struct rules_file {
	struct bounceinfo *bi;
	const char *display;
	unsigned int linenum;
	bool admin;
	enum bounceinfo_class class_;
	bool have_class;
	/* the current @provider block, and whether a rule came in it */
	struct bounceinfo_provider *provider;
	bool provider_has_rule;
};

static bool rule_name_is_valid(const char *name)
{
	if (*name == '\0' || strlen(name) > 64)
		return FALSE;
	for (; *name != '\0'; name++) {
		if (!i_isalnum(*name) && *name != '-' && *name != '_' &&
		    *name != '.')
			return FALSE;
	}
	return TRUE;
}

static int provider_end(struct rules_file *rf, const char **error_r)
{
	if (rf->provider != NULL && array_count(&rf->provider->scopes) == 0) {
		*error_r = t_strdup_printf(
			"%s: @provider %s has no @scope line",
			rf->provider->source, rf->provider->name);
		return -1;
	}
	rf->provider = NULL;
	return 0;
}

static int
directive_parse(struct rules_file *rf, const char *line, const char **error_r)
{
	struct bounceinfo *bi = rf->bi;
	const char *const *args = t_strsplit_spaces(line, " \t");

	if (strcmp(args[0], "@provider") == 0) {
		if (args[1] == NULL || args[2] != NULL ||
		    !rule_name_is_valid(args[1])) {
			*error_r = t_strdup_printf("%s:%u: usage: @provider NAME "
				"(letters, digits, '-', '_', '.')",
				rf->display, rf->linenum);
			return -1;
		}
		if (provider_end(rf, error_r) < 0)
			return -1;
		if (strcmp(args[1], "none") == 0)
			return 0;
		struct bounceinfo_provider *provider =
			p_new(bi->pool, struct bounceinfo_provider, 1);
		provider->name = p_strdup(bi->pool, args[1]);
		provider->source = p_strdup_printf(bi->pool, "%s:%u",
						   rf->display, rf->linenum);
		provider->idx = array_count(&bi->providers);
		p_array_init(&provider->scopes, bi->pool, 2);
		array_push_back(&bi->providers, &provider);
		rf->provider = provider;
		rf->provider_has_rule = FALSE;
		return 0;
	}
	if (strcmp(args[0], "@scope") == 0) {
		struct bounceinfo_scope scope;
		const char *pattern, *error;

		if (rf->provider == NULL) {
			*error_r = t_strdup_printf(
				"%s:%u: @scope outside a @provider block",
				rf->display, rf->linenum);
			return -1;
		}
		if (rf->provider_has_rule) {
			*error_r = t_strdup_printf(
				"%s:%u: @scope after a rule of @provider %s "
				"(scopes come first)", rf->display,
				rf->linenum, rf->provider->name);
			return -1;
		}
		if (args[1] == NULL || args[2] == NULL) {
			*error_r = t_strdup_printf(
				"%s:%u: usage: @scope FIELD PATTERN",
				rf->display, rf->linenum);
			return -1;
		}
		i_zero(&scope);
		if (!bounceinfo_scope_field_parse(args[1], &scope.field)) {
			*error_r = t_strdup_printf(
				"%s:%u: unknown @scope field '%s' (valid: "
				"remote-mta, reporting-mta, recipient-domain, "
				"from, mta)", rf->display, rf->linenum,
				args[1]);
			return -1;
		}
		/* the pattern is the rest of the line, blanks included */
		pattern = strstr(line, args[1]) + strlen(args[1]);
		while (*pattern == ' ' || *pattern == '\t')
			pattern++;
		scope.code = bounceinfo_pcre_compile(pattern, &error);
		if (scope.code == NULL) {
			*error_r = t_strdup_printf("%s:%u: %s", rf->display,
						   rf->linenum, error);
			return -1;
		}
		array_push_back(&rf->provider->scopes, &scope);
		return 0;
	}
	*error_r = t_strdup_printf("%s:%u: unknown directive '%s' (valid: "
				   "@provider, @scope)", rf->display,
				   rf->linenum, args[0]);
	return -1;
}

static int
rule_parse(struct rules_file *rf, const char *line, const char **error_r)
{
	struct bounceinfo *bi = rf->bi;
	struct bounceinfo_rule rule;
	const char *name = NULL, *first;

	i_zero(&rule);
	rule.class_ = rf->class_;
	if (*line == '{') {
		const char *end = strchr(line, '}');

		if (end != NULL && (end[1] == ' ' || end[1] == '\t')) {
			name = t_strdup_until(line + 1, end);
			if (!rule_name_is_valid(name)) {
				*error_r = t_strdup_printf(
					"%s:%u: invalid rule id '{%s}' "
					"(letters, digits, '-', '_', '.'; "
					"escape a pattern's leading '{' as "
					"'\\{')", rf->display, rf->linenum,
					name);
				return -1;
			}
			line = end + 1;
			while (*line == ' ' || *line == '\t')
				line++;
		}
	}
	/* "hard:"/"soft:" (the severity) and "certain:", in any order */
	for (;;) {
		if (rule.severity == BOUNCEINFO_SEVERITY_NONE &&
		    str_begins_with(line, "hard:")) {
			rule.severity = BOUNCEINFO_SEVERITY_HARD;
			line += 5;
		} else if (rule.severity == BOUNCEINFO_SEVERITY_NONE &&
			   str_begins_with(line, "soft:")) {
			rule.severity = BOUNCEINFO_SEVERITY_SOFT;
			line += 5;
		} else if (!rule.certain && str_begins_with(line, "certain:")) {
			rule.certain = TRUE;
			line += 8;
		} else {
			break;
		}
		while (*line == ' ' || *line == '\t')
			line++;
	}
	if (*line == '\0') {
		*error_r = t_strdup_printf("%s:%u: empty pattern",
					   rf->display, rf->linenum);
		return -1;
	}
	if (rule.class_ == BOUNCEINFO_CLASS_USER_UNKNOWN &&
	    rule.severity == BOUNCEINFO_SEVERITY_HARD && !rule.certain) {
		/* before certain: existed, hard: meant it here */
		e_warning(bi->event, "%s:%u: hard: on a user-unknown rule only "
			  "repeats the class' severity; write certain: if the "
			  "phrasing proves the address does not exist",
			  rf->display, rf->linenum);
	}
	/* compiled on first use (bounceinfo_rule_match()); the literals
	   come from the text */
	rule.pattern = p_strdup(bi->pool, line);
	rule.literals = bounceinfo_pcre_literals(bi->pool, line);
	/* (concatenated, not printf-ed: once per rule at start-up) */
	rule.source = p_strconcat(bi->pool, rf->display, ":",
				  dec2str(rf->linenum), NULL);
	rule.source_not_rcpt = p_strconcat(bi->pool, rule.source,
					   " (not RCPT: filtered)", NULL);
	rule.provider = rf->provider;
	if (name != NULL) {
		rule.id = p_strconcat(bi->pool,
			rf->provider != NULL ? rf->provider->name :
			bounceinfo_class_name(rule.class_), "/", name, NULL);
	} else {
		rule.id = bounceinfo_rule_hash_id(bi->pool, rule.class_,
			rf->provider == NULL ? NULL : rf->provider->name, line);
	}
	first = rf->admin ? hash_table_lookup(bi->admin_ids, rule.id) :
		hash_table_lookup(bi->shipped_ids, rule.id);
	if (first != NULL) {
		*error_r = t_strdup_printf("%s:%u: duplicate rule id %s "
					   "(first at %s)%s", rf->display,
					   rf->linenum, rule.id, first,
					   name != NULL ? "" :
					   ": the same pattern twice");
		return -1;
	}
	if (rf->admin)
		hash_table_insert(bi->admin_ids, rule.id, rule.source);
	else
		hash_table_insert(bi->shipped_ids, rule.id, rule.source);
	rf->provider_has_rule = rf->provider != NULL;

	if (rf->admin)
		array_push_back(&bi->admin_rules, &rule);
	else if (rf->provider != NULL)
		array_push_back(&bi->provider_rules, &rule);
	else
		array_push_back(&bi->rules, &rule);
	return 0;
}

int bounceinfo_rules_load(struct bounceinfo *bi, const char *path,
			  bool admin, const char **error_r)
{
	struct bounceinfo_datafile file;
	struct rules_file rf;
	const char *line;
	int ret;

	if (bounceinfo_datafile_open(bi, path, FALSE, &file, error_r) < 0)
		return -1;
	i_zero(&rf);
	rf.bi = bi;
	rf.admin = admin;
	rf.display = file.display;
	rf.have_class = class_from_filename(path, &rf.class_);

	ret = 0;
	while ((line = bounceinfo_datafile_next(&file)) != NULL) {
		rf.linenum = file.linenum;
		if (*line == '@') {
			if (directive_parse(&rf, line, error_r) < 0) {
				ret = -1;
				break;
			}
			continue;
		}
		if (*line == '[' && line[strlen(line)-1] == ']') {
			const char *name = t_strcut(line + 1, ']');

			if (!bounceinfo_class_parse(name, &rf.class_)) {
				*error_r = t_strdup_printf(
					"%s:%u: unknown class '%s' (valid: %s)",
					rf.display, rf.linenum, name,
					bounceinfo_class_names_list());
				ret = -1;
				break;
			}
			rf.have_class = TRUE;
			continue;
		}
		if (!rf.have_class) {
			*error_r = t_strdup_printf(
				"%s:%u: pattern before any [class] section "
				"(file name is not a class name)",
				rf.display, rf.linenum);
			ret = -1;
			break;
		}
		if (rule_parse(&rf, line, error_r) < 0) {
			ret = -1;
			break;
		}
	}
	ret = bounceinfo_datafile_close(&file, ret, error_r);
	/* a block lasts until the end of its file at most */
	if (ret == 0)
		ret = provider_end(&rf, error_r);
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

void bounceinfo_rules_sort(struct bounceinfo *bi)
{
	ARRAY_TYPE(bounceinfo_rule) sorted;
	const struct bounceinfo_rule *rule;

	/* stable: by class priority (the class table), then rules marked
	   hard:/soft:/certain: (the more certain phrasings), then file and
	   line order; tier-2 classes go to rules_tier2 */
	p_array_init(&sorted, bi->pool, array_count(&bi->rules));
	for (unsigned int r = 1; r <= BOUNCEINFO_CLASS_COUNT; r++) {
		for (unsigned int pass = 0; pass < 2; pass++) {
			array_foreach(&bi->rules, rule) {
				const struct bounceinfo_class_def *def =
					bounceinfo_class_def_get(rule->class_);
				bool marked = rule->severity !=
					BOUNCEINFO_SEVERITY_NONE ||
					rule->certain;

				if (def->priority != r ||
				    marked != (pass == 0))
					continue;
				if (def->tier == 1)
					array_push_back(&sorted, rule);
				else
					array_push_back(&bi->rules_tier2, rule);
			}
		}
	}
	i_assert(array_count(&sorted) + array_count(&bi->rules_tier2) ==
		 array_count(&bi->rules));
	bi->rules = sorted;
}

void bounceinfo_rules_free(struct bounceinfo *bi)
{
	struct bounceinfo_rule *rule;
	struct bounceinfo_provider *const *provider;
	struct bounceinfo_scope *scope;

	if (array_is_created(&bi->providers)) {
		array_foreach(&bi->providers, provider) {
			array_foreach_modifiable(&(*provider)->scopes, scope)
				pcre2_code_free(scope->code);
		}
	}
	if (array_is_created(&bi->provider_rules)) {
		array_foreach_modifiable(&bi->provider_rules, rule)
			pcre2_code_free(rule->code);
	}
	bi_acmatch_free(&bi->prefilter);
	if (hash_table_is_created(bi->admin_ids))
		hash_table_destroy(&bi->admin_ids);
	if (hash_table_is_created(bi->shipped_ids))
		hash_table_destroy(&bi->shipped_ids);

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
