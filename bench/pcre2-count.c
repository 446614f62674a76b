/* LD_PRELOAD shim for bench/run --profile: counts what a process asks of
   pcre2, per compiled pattern, without touching the program. It wraps
   pcre2_compile (to know each pattern's text), pcre2_jit_compile,
   pcre2_match and pcre2_jit_match, and at exit writes one tab-separated
   line per pattern to $BENCH_PCRE2_OUT:
     match_calls  matches  subject_bytes  jit_compile_calls  pattern
   match_calls counts the program's calls of pcre2_match and of
   pcre2_jit_match (pcre2_match calls the latter itself through the PLT
   when the pattern has JIT code: those inner calls are not counted).
   subject_bytes is what the calls were given to scan (length minus start
   offset). Counts only, no clocks: they are exact on a busy machine,
   where timing single calls is not (bench/run --callgrind gives the
   instructions).
   Only the pcre2 API is relied on, so it measures any build of the
   library. Not thread-safe: the bounceinfo CLI is one thread. */

#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pattern {
	const void *code; /* NULL once freed */
	char *text;
	uint64_t calls, matches, bytes, jit_compiles;
};

static struct pattern *patterns;
static size_t npatterns, patterns_alloc;
/* open addressing: live code pointer -> index + 1 */
#define HASH_SIZE 65536
static size_t hash_idx[HASH_SIZE];
/* inside pcre2_match: its own call of pcre2_jit_match is not the
   program's */
static int in_match;
static struct pattern unknown = { .text = "(compiled before the shim saw it)" };

static size_t hash_ptr(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % HASH_SIZE;
}

static struct pattern *lookup(const void *code)
{
	size_t h = hash_ptr(code);

	for (size_t n = 0; n < HASH_SIZE; n++, h = (h + 1) % HASH_SIZE) {
		if (hash_idx[h] == 0)
			break;
		if (hash_idx[h] != (size_t)-1 &&
		    patterns[hash_idx[h] - 1].code == code)
			return &patterns[hash_idx[h] - 1];
	}
	return &unknown;
}

static void add(const void *code, const unsigned char *text, size_t len)
{
	size_t h = hash_ptr(code);

	if (npatterns == patterns_alloc) {
		patterns_alloc = patterns_alloc == 0 ? 1024 : patterns_alloc * 2;
		patterns = realloc(patterns, patterns_alloc * sizeof(*patterns));
		if (patterns == NULL)
			abort();
	}
	if (len == PCRE2_ZERO_TERMINATED)
		len = strlen((const char *)text);
	memset(&patterns[npatterns], 0, sizeof(patterns[0]));
	patterns[npatterns].code = code;
	patterns[npatterns].text = strndup((const char *)text, len);
	npatterns++;
	while (hash_idx[h] != 0 && hash_idx[h] != (size_t)-1)
		h = (h + 1) % HASH_SIZE;
	hash_idx[h] = npatterns;
}

static void forget(const void *code)
{
	size_t h = hash_ptr(code);

	for (size_t n = 0; n < HASH_SIZE; n++, h = (h + 1) % HASH_SIZE) {
		if (hash_idx[h] == 0)
			return;
		if (hash_idx[h] != (size_t)-1 &&
		    patterns[hash_idx[h] - 1].code == code) {
			patterns[hash_idx[h] - 1].code = NULL;
			hash_idx[h] = (size_t)-1;
			return;
		}
	}
}

static void *next(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (fn == NULL) {
		fprintf(stderr, "pcre2-count: %s not found\n", name);
		abort();
	}
	return fn;
}

pcre2_code *pcre2_compile_8(PCRE2_SPTR pattern, PCRE2_SIZE length,
			    uint32_t options, int *errorcode,
			    PCRE2_SIZE *erroroffset,
			    pcre2_compile_context *ccontext)
{
	static pcre2_code *(*real)(PCRE2_SPTR, PCRE2_SIZE, uint32_t, int *,
				   PCRE2_SIZE *, pcre2_compile_context *);
	pcre2_code *code;

	if (real == NULL)
		real = next("pcre2_compile_8");
	code = real(pattern, length, options, errorcode, erroroffset,
		    ccontext);
	if (code != NULL)
		add(code, pattern, length);
	return code;
}

void pcre2_code_free_8(pcre2_code *code)
{
	static void (*real)(pcre2_code *);

	if (real == NULL)
		real = next("pcre2_code_free_8");
	if (code != NULL)
		forget(code);
	real(code);
}

int pcre2_jit_compile_8(pcre2_code *code, uint32_t options)
{
	static int (*real)(pcre2_code *, uint32_t);

	if (real == NULL)
		real = next("pcre2_jit_compile_8");
	lookup(code)->jit_compiles++;
	return real(code, options);
}

typedef int match_func_t(const pcre2_code *, PCRE2_SPTR, PCRE2_SIZE,
			 PCRE2_SIZE, uint32_t, pcre2_match_data *,
			 pcre2_match_context *);

/* Call the real function and count the call, unless it is
   pcre2_match's own call of pcre2_jit_match. */
static int count_match(match_func_t *real, const pcre2_code *code,
		       PCRE2_SPTR subject, PCRE2_SIZE length,
		       PCRE2_SIZE startoffset, uint32_t options,
		       pcre2_match_data *match_data,
		       pcre2_match_context *mcontext)
{
	bool inner = in_match > 0;
	struct pattern *p;
	int ret;

	if (length == PCRE2_ZERO_TERMINATED)
		length = strlen((const char *)subject);
	in_match++;
	ret = real(code, subject, length, startoffset, options, match_data,
		   mcontext);
	in_match--;
	if (inner)
		return ret;
	p = lookup(code);
	p->calls++;
	if (ret >= 0)
		p->matches++;
	if (length > startoffset)
		p->bytes += length - startoffset;
	return ret;
}

int pcre2_match_8(const pcre2_code *code, PCRE2_SPTR subject,
		  PCRE2_SIZE length, PCRE2_SIZE startoffset,
		  uint32_t options, pcre2_match_data *match_data,
		  pcre2_match_context *mcontext)
{
	static match_func_t *real;

	if (real == NULL)
		real = (match_func_t *)next("pcre2_match_8");
	return count_match(real, code, subject, length, startoffset, options,
			   match_data, mcontext);
}

int pcre2_jit_match_8(const pcre2_code *code, PCRE2_SPTR subject,
		      PCRE2_SIZE length, PCRE2_SIZE startoffset,
		      uint32_t options, pcre2_match_data *match_data,
		      pcre2_match_context *mcontext)
{
	static match_func_t *real;

	if (real == NULL)
		real = (match_func_t *)next("pcre2_jit_match_8");
	return count_match(real, code, subject, length, startoffset, options,
			   match_data, mcontext);
}

static void print_pattern(FILE *f, const struct pattern *p)
{
	fprintf(f, "%llu\t%llu\t%llu\t%llu\t",
		(unsigned long long)p->calls, (unsigned long long)p->matches,
		(unsigned long long)p->bytes,
		(unsigned long long)p->jit_compiles);
	/* one line per pattern whatever its text holds */
	for (const char *s = p->text; *s != '\0'; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	fputc('\n', f);
}

/* read at start: Dovecot programs may clear the environment */
static char *out_path;

__attribute__((constructor)) static void pcre2_count_init(void)
{
	const char *path = getenv("BENCH_PCRE2_OUT");

	if (path != NULL)
		out_path = strdup(path);
}

__attribute__((destructor)) static void pcre2_count_report(void)
{
	const char *path = out_path;
	FILE *f;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	for (size_t i = 0; i < npatterns; i++)
		print_pattern(f, &patterns[i]);
	if (unknown.calls > 0 || unknown.jit_compiles > 0)
		print_pattern(f, &unknown);
	fclose(f);
}
