#ifndef BOUNCEINFO_ACMATCH_H
#define BOUNCEINFO_ACMATCH_H

/* Many literals found in one pass over a text (Aho-Corasick automaton
   as a table over the bytes the literals use): the prefilter of the
   rules, mta.map signatures and SMTP-command patterns. */

struct bi_acmatch;

struct bi_acmatch *bi_acmatch_create(void);
void bi_acmatch_free(struct bi_acmatch **_ac);

/* Add a literal (bytes, compared exactly; the same literal twice gets
   the same id) before bi_acmatch_build(); returns its id */
unsigned int bi_acmatch_add(struct bi_acmatch *ac, const char *literal);
void bi_acmatch_build(struct bi_acmatch *ac);
/* Number of distinct literals: ids are 0..count-1 */
unsigned int bi_acmatch_count(const struct bi_acmatch *ac);
/* Bytes of the bitset bi_acmatch_scan() fills */
size_t bi_acmatch_set_size(const struct bi_acmatch *ac);

/* Set bit id of found (bi_acmatch_set_size() bytes, cleared here) for
   every literal that occurs in text[0..len) */
void bi_acmatch_scan(const struct bi_acmatch *ac, const char *text,
		     size_t len, unsigned char *found);

/* The same for bounceinfo_text_fold(text) without making the copy:
   ASCII letters caseless (the literals must be lowercase), KELVIN SIGN
   as 'k' and LATIN SMALL LETTER LONG S as 's' */
void bi_acmatch_scan_fold(const struct bi_acmatch *ac, const char *text,
			  size_t len, unsigned char *found);

static inline bool bi_acmatch_found(const unsigned char *found,
				    unsigned int id)
{
	return (found[id / 8] & (1U << (id % 8))) != 0;
}

#endif
