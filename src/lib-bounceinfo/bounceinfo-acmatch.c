/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Aho-Corasick over byte classes: the bytes no literal uses share class
   0 (back to the start), the others get a class each, and the automaton
   is a full transition table states x classes, so that scanning costs
   one table lookup per byte of text. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "bounceinfo-acmatch.h"

struct bi_acmatch {
	/* build: literal -> id + 1 */
	pool_t pool;
	HASH_TABLE(const char *, void *) ids;
	ARRAY_TYPE(const_string) literals;

	/* built */
	unsigned char byte_class[256];
	unsigned int class_count;
	unsigned int state_count;
	/* byte_class with 'A'-'Z' as 'a'-'z' (bi_acmatch_scan_fold()) */
	unsigned char fold_class[256];
	/* state * class_count + class -> state */
	unsigned int *delta;
	/* per state: the first literal id ending there + 1 (0: none), and
	   the next state along the failure chain that ends a literal */
	unsigned int *out_id;
	unsigned int *out_next;
	bool built;
};

struct bi_acmatch *bi_acmatch_create(void)
{
	struct bi_acmatch *ac = i_new(struct bi_acmatch, 1);

	ac->pool = pool_alloconly_create("bounceinfo acmatch", 16384);
	hash_table_create(&ac->ids, ac->pool, 256, str_hash, strcmp);
	p_array_init(&ac->literals, ac->pool, 256);
	return ac;
}

void bi_acmatch_free(struct bi_acmatch **_ac)
{
	struct bi_acmatch *ac = *_ac;

	if (ac == NULL)
		return;
	*_ac = NULL;
	hash_table_destroy(&ac->ids);
	i_free(ac->delta);
	i_free(ac->out_id);
	i_free(ac->out_next);
	pool_unref(&ac->pool);
	i_free(ac);
}

unsigned int bi_acmatch_add(struct bi_acmatch *ac, const char *literal)
{
	void *value;
	const char *lit;

	i_assert(!ac->built);
	i_assert(*literal != '\0');
	value = hash_table_lookup(ac->ids, literal);
	if (value != NULL)
		return POINTER_CAST_TO(value, unsigned int) - 1;
	lit = p_strdup(ac->pool, literal);
	array_push_back(&ac->literals, &lit);
	hash_table_insert(ac->ids, lit,
			  POINTER_CAST(array_count(&ac->literals)));
	return array_count(&ac->literals) - 1;
}

unsigned int bi_acmatch_count(const struct bi_acmatch *ac)
{
	return array_count(&ac->literals);
}

size_t bi_acmatch_set_size(const struct bi_acmatch *ac)
{
	return (array_count(&ac->literals) + 7) / 8 + 1;
}

void bi_acmatch_build(struct bi_acmatch *ac)
{
	const char *const *lit;
	unsigned int max_states = 1, k, s, c, head, tail;
	unsigned int *fail, *queue, *goto_;

	i_assert(!ac->built);
	ac->built = TRUE;
	/* byte classes */
	ac->class_count = 1;
	array_foreach(&ac->literals, lit) {
		for (const unsigned char *p = (const unsigned char *)*lit;
		     *p != '\0'; p++) {
			if (ac->byte_class[*p] == 0)
				ac->byte_class[*p] = ac->class_count++;
			max_states++;
		}
	}
	k = ac->class_count;
	/* more than 255 classes cannot be: there are 256 bytes and byte 0
	   is in no literal */
	i_assert(k <= 256);
	memcpy(ac->fold_class, ac->byte_class, sizeof(ac->fold_class));
	for (c = 'A'; c <= 'Z'; c++)
		ac->fold_class[c] = ac->byte_class[c + 32];

	/* the trie: 0 for no edge yet (no edge leads back to the start,
	   state 0) */
	goto_ = i_new(unsigned int, (size_t)max_states * k);
	ac->out_id = i_new(unsigned int, max_states);
	ac->out_next = i_new(unsigned int, max_states);
	ac->state_count = 1;
	array_foreach(&ac->literals, lit) {
		unsigned int id = array_foreach_idx(&ac->literals, lit);

		s = 0;
		for (const unsigned char *p = (const unsigned char *)*lit;
		     *p != '\0'; p++) {
			c = ac->byte_class[*p];
			if (goto_[s * k + c] == 0)
				goto_[s * k + c] = ac->state_count++;
			s = goto_[s * k + c];
		}
		/* distinct literals end in distinct states */
		i_assert(ac->out_id[s] == 0);
		ac->out_id[s] = id + 1;
	}

	/* breadth first: failure links, and the missing edges filled in
	   from the failure state's (a complete automaton); the start's
	   missing edges stay 0, and class 0 (no literal's byte) always
	   leads to the start */
	fail = i_new(unsigned int, ac->state_count);
	queue = i_new(unsigned int, ac->state_count);
	head = tail = 0;
	for (c = 1; c < k; c++) {
		if (goto_[c] != 0)
			queue[tail++] = goto_[c];
	}
	while (head < tail) {
		s = queue[head++];
		unsigned int *row = goto_ + (size_t)s * k;
		const unsigned int *frow = goto_ + (size_t)fail[s] * k;

		/* the nearest state on the failure chain ending a literal */
		ac->out_next[s] = ac->out_id[fail[s]] != 0 ? fail[s] :
			ac->out_next[fail[s]];
		for (c = 1; c < k; c++) {
			if (row[c] == 0)
				row[c] = frow[c];
			else {
				fail[row[c]] = frow[c];
				queue[tail++] = row[c];
			}
		}
	}
	i_free(fail);
	i_free(queue);
	ac->delta = goto_;
}

void bi_acmatch_scan(const struct bi_acmatch *ac, const char *text,
		     size_t len, unsigned char *found)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	const unsigned int *delta = ac->delta;
	unsigned int k = ac->class_count, s = 0;

	i_assert(ac->built);
	memset(found, 0, bi_acmatch_set_size(ac));
	for (; p < end; p++) {
		s = delta[s * k + ac->byte_class[*p]];
		if (ac->out_id[s] == 0 && ac->out_next[s] == 0)
			continue;
		for (unsigned int o = ac->out_id[s] != 0 ? s : ac->out_next[s];
		     o != 0; o = ac->out_next[o]) {
			unsigned int id = ac->out_id[o] - 1;

			found[id / 8] |= 1U << (id % 8);
		}
	}
}

static inline void
scan_report(const struct bi_acmatch *ac, unsigned int s, unsigned char *found)
{
	for (unsigned int o = ac->out_id[s] != 0 ? s : ac->out_next[s];
	     o != 0; o = ac->out_next[o]) {
		unsigned int id = ac->out_id[o] - 1;

		found[id / 8] |= 1U << (id % 8);
	}
}

void bi_acmatch_scan_fold(const struct bi_acmatch *ac, const char *text,
			  size_t len, unsigned char *found)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	const unsigned int *delta = ac->delta;
	unsigned int k = ac->class_count, s = 0;
	unsigned char b;

	i_assert(ac->built);
	memset(found, 0, bi_acmatch_set_size(ac));
	for (; p < end; p++) {
		b = *p;
		/* as bounceinfo_text_fold() reads them */
		if (b == 0xe2 && end - p > 2 && p[1] == 0x84 && p[2] == 0xaa) {
			b = 'k';
			p += 2;
		} else if (b == 0xc5 && end - p > 1 && p[1] == 0xbf) {
			b = 's';
			p += 1;
		}
		s = delta[s * k + ac->fold_class[b]];
		if (ac->out_id[s] != 0 || ac->out_next[s] != 0)
			scan_report(ac, s, found);
	}
}
