/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* rules/mta.map: which mail system produced a bounce.

   <name> <header|body> <pcre2 pattern>

   "header" patterns are matched against the decoded top-level header
   ("Name: value" lines), "body" patterns against the bounce's text.
   The first line that matches gives the name. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "bounceinfo-private.h"

#include <fcntl.h>
#include <unistd.h>

int bounceinfo_mta_load(struct bounceinfo *bi, const char *path,
			const char **error_r)
{
	struct bounceinfo_datafile file;
	const char *line, *error;
	int ret;

	ret = bounceinfo_datafile_open(bi, path, TRUE, &file, error_r);
	if (ret <= 0)
		return ret;
	ret = 0;
	while ((line = bounceinfo_datafile_next(&file)) != NULL) {
		struct bounceinfo_mta_sig sig;
		const char *p, *name, *where;

		p = strpbrk(line, " \t");
		if (p == NULL)
			goto syntax;
		name = t_strdup_until(line, p);
		while (*p == ' ' || *p == '\t') p++;
		line = p;
		p = strpbrk(line, " \t");
		if (p == NULL)
			goto syntax;
		where = t_strdup_until(line, p);
		while (*p == ' ' || *p == '\t') p++;
		if (*p == '\0')
			goto syntax;

		i_zero(&sig);
		if (strcmp(where, "header") == 0)
			sig.where = BOUNCEINFO_MTA_WHERE_HEADER;
		else if (strcmp(where, "body") == 0)
			sig.where = BOUNCEINFO_MTA_WHERE_BODY;
		else
			goto syntax;
		sig.code = bounceinfo_pcre_compile(p, &error);
		if (sig.code == NULL) {
			*error_r = bounceinfo_datafile_error(&file, "%s",
							     error);
			ret = -1;
			break;
		}
		sig.name = p_strdup(bi->pool, name);
		sig.literals = bounceinfo_pcre_literals(bi->pool, p);
		if (sig.where == BOUNCEINFO_MTA_WHERE_HEADER) {
			sig.line_starts = bounceinfo_pcre_line_starts(bi->pool,
				p, sig.code, FALSE);
		}
		array_push_back(&bi->mta_sigs, &sig);
		continue;
	syntax:
		*error_r = bounceinfo_datafile_error(&file,
			"expected '<name> <header|body> <pattern>'");
		ret = -1;
		break;
	}
	return bounceinfo_datafile_close(&file, ret, error_r);
}

void bounceinfo_mta_free(struct bounceinfo *bi)
{
	struct bounceinfo_mta_sig *sig;

	if (!array_is_created(&bi->mta_sigs))
		return;
	array_foreach_modifiable(&bi->mta_sigs, sig)
		pcre2_code_free(sig->code);
}

const char *bounceinfo_mta_detect(struct bounceinfo *bi,
				  const char *headers, const char *body)
{
	const struct bounceinfo_mta_sig *sig;
	size_t hlen = strlen(headers), blen = strlen(body);
	const unsigned char *hheaders = NULL, *hbody = NULL;
	bool hheaders_done = bi->no_prefilter, hbody_done = bi->no_prefilter;

	array_foreach(&bi->mta_sigs, sig) {
		const unsigned char *hits;

		if (sig->where == BOUNCEINFO_MTA_WHERE_HEADER) {
			/* field by field: only the lines the signature can
			   start on, and no scan of the whole header */
			if (sig->line_starts != NULL && !bi->no_prefilter) {
				if (bounceinfo_header_match(bi, sig->code,
						sig->line_starts, headers,
						hlen))
					return sig->name;
				continue;
			}
			if (!hheaders_done) {
				hheaders = bounceinfo_prefilter_scan(bi,
								     headers);
				hheaders_done = TRUE;
			}
			hits = hheaders;
		} else {
			if (!hbody_done) {
				hbody = bounceinfo_prefilter_scan(bi, body);
				hbody_done = TRUE;
			}
			hits = hbody;
		}
		if (!bounceinfo_prefilter_candidate(sig->lit_ids,
						    sig->lit_count, hits))
			continue;
		if (sig->where == BOUNCEINFO_MTA_WHERE_HEADER ?
		    bounceinfo_pcre_match(bi, sig->code, headers, hlen) :
		    bounceinfo_pcre_match(bi, sig->code, body, blen))
			return sig->name;
	}
	return NULL;
}
