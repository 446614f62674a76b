/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* rules/status.map: enhanced status codes (RFC 3463) and reply codes to
   classes.

   <pattern> <class> <hard|soft> [strong|weak]

   pattern: "5.1.1" exact, "5.1" any 5.1.x, "X.7.26" 'X' for any class
   digit, "code:552" an SMTP reply code. The longest pattern that matches
   wins. "strong" entries decide before the text rules (the code is
   specific enough to be trusted), others only when no text rule matched. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strfuncs.h"
#include "istream.h"
#include "bounceinfo-private.h"

#include <ctype.h>

#include <fcntl.h>
#include <unistd.h>

static bool status_pattern_is_valid(const char *pattern)
{
	const char *const *parts;
	unsigned int i, count;

	if (str_begins_with(pattern, "code:")) {
		pattern += 5;
		return strlen(pattern) == 3 && i_isdigit(pattern[0]) &&
			i_isdigit(pattern[1]) && i_isdigit(pattern[2]);
	}
	parts = t_strsplit(pattern, ".");
	count = str_array_length(parts);
	if (count < 1 || count > 3)
		return FALSE;
	for (i = 0; i < count; i++) {
		const char *p = parts[i];

		if (strcmp(p, "X") == 0 || strcmp(p, "x") == 0)
			continue;
		if (*p == '\0' || strlen(p) > 3)
			return FALSE;
		for (; *p != '\0'; p++) {
			if (!i_isdigit(*p))
				return FALSE;
		}
	}
	return TRUE;
}

/* The index key of a pattern: 'x' written 'X' (both mean any digit) */
static const char *status_pattern_key(pool_t pool, const char *pattern)
{
	char *key = p_strdup(pool, pattern);

	if (str_begins_with(key, "code:"))
		return key;
	for (char *p = key; *p != '\0'; p++) {
		if (*p == 'x')
			*p = 'X';
	}
	return key;
}

/* status.map by pattern: a lookup tries the few patterns that can match
   a status instead of every line. The first line of a pattern is the
   one a linear scan would keep (later ones only tie). */
static void status_map_index(struct bounceinfo *bi)
{
	const struct bounceinfo_status_entry *entry;

	hash_table_create(&bi->status_index, bi->pool,
			  array_count(&bi->status_map) * 2, str_hash, strcmp);
	array_foreach(&bi->status_map, entry) {
		const char *key = status_pattern_key(bi->pool, entry->pattern);
		unsigned int idx = array_foreach_idx(&bi->status_map, entry);

		if (hash_table_lookup(bi->status_index, key) == NULL)
			hash_table_insert(bi->status_index, key,
					  POINTER_CAST(idx + 1));
	}
}

int bounceinfo_status_map_load(struct bounceinfo *bi, const char *path,
			       const char **error_r)
{
	struct bounceinfo_datafile file;
	const char *line, *display;
	unsigned int linenum;
	int ret = 0;

	if (bounceinfo_datafile_open(bi, path, FALSE, &file, error_r) < 0)
		return -1;
	display = file.display;
	while ((line = bounceinfo_datafile_next(&file)) != NULL) {
		struct bounceinfo_status_entry entry;
		const char *const *args;
		unsigned int count;

		linenum = file.linenum;
		line = t_strcut(line, '#');
		args = t_strsplit_spaces(line, " \t\r");
		count = str_array_length(args);
		if (count == 0)
			continue;

		i_zero(&entry);
		if (count < 3 || count > 4) {
			*error_r = t_strdup_printf("%s:%u: expected "
				"'<status> <class> <hard|soft> [strong]'",
				display, linenum);
			ret = -1;
			break;
		}
		if (!status_pattern_is_valid(args[0])) {
			*error_r = t_strdup_printf("%s:%u: invalid status "
				"pattern '%s'", display, linenum, args[0]);
			ret = -1;
			break;
		}
		if (!bounceinfo_class_parse(args[1], &entry.class_)) {
			*error_r = t_strdup_printf("%s:%u: unknown class '%s' "
				"(valid: %s)", display, linenum, args[1],
				bounceinfo_class_names_list());
			ret = -1;
			break;
		}
		if (!bounceinfo_severity_parse(args[2], &entry.severity) ||
		    entry.severity == BOUNCEINFO_SEVERITY_NONE) {
			*error_r = t_strdup_printf("%s:%u: severity must be "
				"hard or soft, not '%s'", display, linenum,
				args[2]);
			ret = -1;
			break;
		}
		if (count == 4) {
			if (strcmp(args[3], "strong") == 0)
				entry.strong = TRUE;
			else if (strcmp(args[3], "weak") != 0) {
				*error_r = t_strdup_printf("%s:%u: expected "
					"'strong' or 'weak', not '%s'",
					display, linenum, args[3]);
				ret = -1;
				break;
			}
		}
		entry.pattern = p_strdup(bi->pool, args[0]);
		entry.source = p_strdup_printf(bi->pool, "status.map:%u",
					       linenum);
		entry.id = p_strconcat(bi->pool, "status/", entry.pattern, NULL);
		array_push_back(&bi->status_map, &entry);
	}
	ret = bounceinfo_datafile_close(&file, ret, error_r);
	if (ret == 0)
		status_map_index(bi);
	return ret;
}

/* Returns specificity (>0) if pattern matches status, 0 if not. */
static unsigned int
status_pattern_match(const char *pattern, const char *status)
{
	unsigned int score = 0;

	if (str_begins_with(pattern, "code:")) {
		if (!str_begins_with(status, "code:"))
			return 0;
		return strcmp(pattern, status) == 0 ? 10 : 0;
	}
	if (str_begins_with(status, "code:"))
		return 0;
	for (;;) {
		const char *pend = strchr(pattern, '.');
		const char *send = strchr(status, '.');
		size_t plen = pend == NULL ? strlen(pattern) : (size_t)(pend - pattern);
		size_t slen = send == NULL ? strlen(status) : (size_t)(send - status);

		if (plen == 1 && (*pattern == 'X' || *pattern == 'x'))
			score += 1;
		else if (plen == slen && strncmp(pattern, status, plen) == 0)
			score += 2;
		else
			return 0;
		if (pend == NULL)
			return score;
		if (send == NULL)
			return 0;
		pattern = pend + 1;
		status = send + 1;
	}
}

const struct bounceinfo_status_entry *
bounceinfo_status_lookup(struct bounceinfo *bi, const char *status)
{
	const struct bounceinfo_status_entry *entry, *best = NULL;
	unsigned int score, best_score = 0;

	if (status == NULL)
		return NULL;
	if (!hash_table_is_created(bi->status_index)) {
		array_foreach(&bi->status_map, entry) {
			score = status_pattern_match(entry->pattern, status);
			if (score > best_score) {
				best = entry;
				best_score = score;
			}
		}
		return best;
	}
	if (str_begins_with(status, "code:")) {
		void *value = hash_table_lookup(bi->status_index, status);

		return value == NULL ? NULL :
			array_idx(&bi->status_map, POINTER_CAST_TO(value,
						unsigned int) - 1);
	}

	/* A pattern of k components matches when each is 'X' or the
	   status' own: try those keys for k = 1..3, keep the best score,
	   the earliest line on a tie (as the linear scan did). */
	const char *comps[3];
	size_t comp_lens[3];
	unsigned int n = 0, best_idx = UINT_MAX;
	const char *p = status;

	for (;;) {
		const char *dot = strchr(p, '.');

		comps[n] = p;
		comp_lens[n] = dot == NULL ? strlen(p) : (size_t)(dot - p);
		n++;
		if (dot == NULL || n == N_ELEMENTS(comps))
			break;
		p = dot + 1;
	}
	string_t *key = t_str_new(64);
	for (unsigned int k = 1; k <= n; k++) {
		for (unsigned int mask = 0; mask < (1U << k); mask++) {
			str_truncate(key, 0);
			for (unsigned int i = 0; i < k; i++) {
				if (i > 0)
					str_append_c(key, '.');
				if ((mask & (1U << i)) != 0)
					str_append_c(key, 'X');
				else
					str_append_data(key, comps[i],
							comp_lens[i]);
			}
			void *value = hash_table_lookup(bi->status_index,
							str_c(key));
			if (value == NULL)
				continue;
			unsigned int idx = POINTER_CAST_TO(value,
							   unsigned int) - 1;
			entry = array_idx(&bi->status_map, idx);
			score = status_pattern_match(entry->pattern, status);
			if (score > best_score ||
			    (score == best_score && score > 0 &&
			     idx < best_idx)) {
				best = entry;
				best_score = score;
				best_idx = idx;
			}
		}
	}
	return best;
}

bool bounceinfo_status_is_valid(const char *str)
{
	unsigned int n;

	if (str == NULL || (str[0] != '2' && str[0] != '4' && str[0] != '5') ||
	    str[1] != '.')
		return FALSE;
	str += 2;
	for (n = 0; i_isdigit(*str); str++) n++;
	if (n < 1 || n > 3 || *str != '.')
		return FALSE;
	str++;
	for (n = 0; i_isdigit(*str); str++) n++;
	return n >= 1 && n <= 3 && *str == '\0';
}

const char *bounceinfo_status_find(const char *text)
{
	const char *p, *q;
	unsigned int n1, n2;

	for (p = text; *p != '\0'; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
			continue;
		if (p > text && (i_isdigit(p[-1]) || p[-1] == '.' ||
				 i_isalpha(p[-1])))
			continue;
		q = p + 2;
		for (n1 = 0; i_isdigit(*q); q++) n1++;
		if (n1 < 1 || n1 > 3 || *q != '.')
			continue;
		q++;
		for (n2 = 0; i_isdigit(*q); q++) n2++;
		if (n2 < 1 || n2 > 3)
			continue;
		/* not an IP address or version number */
		if (*q == '.' && i_isdigit(q[1]))
			continue;
		if (i_isalnum(*q))
			continue;
		return t_strdup_until(p, q);
	}
	return NULL;
}

unsigned int bounceinfo_reply_code_find(const char *text)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if ((*p != '4' && *p != '5' && *p != '2') ||
		    !i_isdigit(p[1]) || !i_isdigit(p[2]))
			continue;
		/* (Exchange writes "#550 5.1.1 ...") */
		if (p > text && (i_isalnum(p[-1]) || p[-1] == '.' ||
				 p[-1] == '-' || p[-1] == '/'))
			continue;
		if (p[1] > '5')
			continue;
		if (p[3] != ' ' && p[3] != '-' && p[3] != '\0' &&
		    p[3] != '\t' && p[3] != ',' && p[3] != ']' && p[3] != ')')
			continue;
		if (p[3] == '-' && !i_isdigit(p[4]) && !i_isalpha(p[4]) &&
		    p[4] != ' ' && p[4] != '\'' && p[4] != '"')
			continue;
		if (p[3] == ')' || p[3] == ']') {
			/* "(550)" ok, but not "2013)" */
		}
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

/* Does an enhanced status ("5.2.2") agree with what the SMTP reply code
   means (RFC 5321 4.2.3)? Only reply codes with a narrow meaning count. */
static bool status_agrees_with_reply(const char *reply, const char *status)
{
	const char *sub = status + 2;

	switch ((reply[1] - '0') * 10 + (reply[2] - '0')) {
	case 52:
		/* 452/552: storage exceeded (mailbox full, message too big
		   for the mailbox or the system) */
		return str_begins_with(sub, "2.2") || str_begins_with(sub, "2.3") ||
			str_begins_with(sub, "3.1") || str_begins_with(sub, "3.4");
	case 51:
		/* 551: user not local */
		return str_begins_with(sub, "1.6");
	case 50:
	case 53:
		/* 550/553: mailbox unavailable, name not allowed */
		return sub[0] == '1' && sub[1] == '.';
	default:
		return FALSE;
	}
}

/* After the reply code at reply, q points at its first status: when
   several follow in a row ("552 5.1.1 5.2.2 ... (chkuser)"), the one that
   agrees with the reply code, else the first */
static const char *status_of_reply(const char *reply, const char *q,
				   const char *first)
{
	const char *status = first, *next;
	unsigned int n = 0;

	q += strlen(first);
	while (n++ < 4) {
		if (status_agrees_with_reply(reply, status))
			return status;
		while (*q == ' ')
			q++;
		if (*q != reply[0] || q[1] != '.')
			break;
		next = bounceinfo_status_find(q);
		if (next == NULL || strncmp(next, q, strlen(next)) != 0)
			break;
		status = next;
		q += strlen(next);
	}
	return first;
}

const char *bounceinfo_status_find_reply(const char *text)
{
	const char *p, *status;

	/* "550 5.7.1", "550-5.7.1", "550-'5.7.1": the status the remote
	   server gave with its reply is the most precise one */
	for (p = text; *p != '\0'; p++) {
		if ((p[0] != '4' && p[0] != '5') || !i_isdigit(p[1]) ||
		    !i_isdigit(p[2]) || (p > text && i_isalnum(p[-1])))
			continue;
		const char *q = p + 3;
		if (*q != ' ' && *q != '-')
			continue;
		while (*q == ' ' || *q == '-' || *q == '\'' || *q == '"')
			q++;
		if (*q != p[0] || q[1] != '.')
			continue;
		status = bounceinfo_status_find(q);
		if (status != NULL && strncmp(status, q, strlen(status)) == 0)
			return status_of_reply(p, q, status);
	}
	return NULL;
}

const char *bounceinfo_status_find_best(const char *text)
{
	const char *status = bounceinfo_status_find_reply(text);

	return status != NULL ? status : bounceinfo_status_find(text);
}
