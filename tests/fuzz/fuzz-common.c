/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "llist.h"
#include "unichar.h"
#include "bounceinfo.h"
#include "fuzz-common.h"

#include <stdio.h>
#include <stdlib.h>

static struct bounceinfo *fuzz_bi = NULL;

static void fuzz_atexit(void)
{
	if (fuzz_bi != NULL)
		bounceinfo_deinit(&fuzz_bi);
	if (lib_is_initialized())
		lib_deinit();
}

void fuzz_lib_init(void)
{
	if (lib_is_initialized())
		return;
	lib_init();
	atexit(fuzz_atexit);
}

static const char *fuzz_datadir(void)
{
	const char *dir = getenv("BOUNCEINFO_DATADIR");

	return dir != NULL && *dir != '\0' ? dir : FUZZ_DATADIR;
}

struct bounceinfo *fuzz_bounceinfo_get(void)
{
	struct bounceinfo_settings set;
	const char *error;

	fuzz_lib_init();
	if (fuzz_bi != NULL)
		return fuzz_bi;

	i_zero(&set);
	set.datadir = fuzz_datadir();
	if (bounceinfo_init(&set, &fuzz_bi, &error) < 0) {
		fprintf(stderr, "fuzz: cannot load shipped rules from %s: %s\n",
			set.datadir, error);
		abort();
	}
	return fuzz_bi;
}

/* --- a pool with one malloc() per allocation --- */

struct fuzz_alloc {
	struct fuzz_alloc *prev, *next;
	size_t size;
	/* keep the user memory suitably aligned */
	union {
		long double ld;
		void *p;
		uint64_t u;
	} data[];
};

struct fuzz_pool {
	struct pool pool;
	int refcount;
	struct fuzz_alloc *allocs;
};

static const char *fuzz_pool_get_name(pool_t pool ATTR_UNUSED)
{
	return "fuzz";
}

static void fuzz_pool_ref(pool_t pool)
{
	struct fuzz_pool *fpool = (struct fuzz_pool *)pool;

	fpool->refcount++;
}

static void fuzz_pool_clear(pool_t pool)
{
	struct fuzz_pool *fpool = (struct fuzz_pool *)pool;
	struct fuzz_alloc *a;

	while ((a = fpool->allocs) != NULL) {
		DLLIST_REMOVE(&fpool->allocs, a);
		free(a);
	}
}

static void fuzz_pool_unref(pool_t *_pool)
{
	struct fuzz_pool *fpool = (struct fuzz_pool *)*_pool;

	*_pool = NULL;
	i_assert(fpool->refcount > 0);
	if (--fpool->refcount > 0)
		return;
	fuzz_pool_clear(&fpool->pool);
	free(fpool);
}

static void *fuzz_pool_malloc(pool_t pool, size_t size)
{
	struct fuzz_pool *fpool = (struct fuzz_pool *)pool;
	struct fuzz_alloc *a;

	if (unlikely(size == 0 || size > POOL_MAX_ALLOC_SIZE))
		i_panic("fuzz pool: invalid allocation size %zu", size);
	a = calloc(1, sizeof(*a) + size);
	if (a == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "fuzz pool: calloc(%zu) failed",
			       size);
	a->size = size;
	DLLIST_PREPEND(&fpool->allocs, a);
	return a->data;
}

static struct fuzz_alloc *fuzz_alloc_of(void *mem)
{
	return (struct fuzz_alloc *)((char *)mem -
				     offsetof(struct fuzz_alloc, data));
}

static void fuzz_pool_free(pool_t pool, void *mem)
{
	struct fuzz_pool *fpool = (struct fuzz_pool *)pool;
	struct fuzz_alloc *a;

	if (mem == NULL)
		return;
	a = fuzz_alloc_of(mem);
	DLLIST_REMOVE(&fpool->allocs, a);
	free(a);
}

static void *fuzz_pool_realloc(pool_t pool, void *mem,
			       size_t old_size, size_t new_size)
{
	void *new_mem;

	new_mem = fuzz_pool_malloc(pool, new_size);
	if (mem != NULL) {
		/* old_size is the caller's claim: reading it must stay in
		   bounds of the old allocation, which ASan checks here */
		memcpy(new_mem, mem, I_MIN(old_size, new_size));
		fuzz_pool_free(pool, mem);
	}
	return new_mem;
}

static size_t fuzz_pool_get_max_easy_alloc_size(pool_t pool ATTR_UNUSED)
{
	return 0;
}

static const struct pool_vfuncs fuzz_pool_vfuncs = {
	.get_name = fuzz_pool_get_name,
	.ref = fuzz_pool_ref,
	.unref = fuzz_pool_unref,
	.malloc = fuzz_pool_malloc,
	.free = fuzz_pool_free,
	.realloc = fuzz_pool_realloc,
	.clear = fuzz_pool_clear,
	.get_max_easy_alloc_size = fuzz_pool_get_max_easy_alloc_size,
};

pool_t fuzz_pool_create(void)
{
	struct fuzz_pool *fpool;

	fpool = calloc(1, sizeof(*fpool));
	if (fpool == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "fuzz pool: calloc failed");
	fpool->pool.v = &fuzz_pool_vfuncs;
	fpool->refcount = 1;
	return &fpool->pool;
}

/* --- result invariants --- */

static void ATTR_NORETURN ATTR_FORMAT(1, 2)
fuzz_fail(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fputs("fuzz: invariant violated: ", stderr);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
	abort();
}

static void fuzz_check_str(const char *field, const char *str)
{
	if (str == NULL)
		return;
	/* strlen() reads up to the NUL: ASan flags an unterminated string */
	(void)strlen(str);
	if (!uni_utf8_str_is_valid(str))
		fuzz_fail("%s is not valid UTF-8", field);
}

/* Values that may end up in a header (Sieve addheader), a log line or an
   IMAP keyword: no CR/LF and no other control character either. */
static void fuzz_check_one_line(const char *field, const char *str)
{
	const unsigned char *p;

	fuzz_check_str(field, str);
	if (str == NULL)
		return;
	if (strpbrk(str, "\r\n") != NULL)
		fuzz_fail("%s contains CR or LF", field);
	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fuzz_fail("%s contains control character 0x%02x",
				  field, *p);
	}
}

/* Fields with a closed set of values: never free text from the input. */
static void
fuzz_check_closed(const char *field, const char *str,
		  const char *const *allowed)
{
	if (str == NULL)
		return;
	for (; *allowed != NULL; allowed++) {
		if (strcmp(str, *allowed) == 0)
			return;
	}
	fuzz_fail("%s '%s' is not one of its defined values", field, str);
}

/* An enhanced status code (RFC 3463): class.subject.detail */
static void fuzz_check_status(const char *str)
{
	const char *p = str;
	unsigned int n;

	if (str == NULL)
		return;
	if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		fuzz_fail("status '%s' is not an enhanced status code", str);
	p += 2;
	for (n = 0; *p >= '0' && *p <= '9'; p++) n++;
	if (n < 1 || n > 3 || *p++ != '.')
		fuzz_fail("status '%s' is not an enhanced status code", str);
	for (n = 0; *p >= '0' && *p <= '9'; p++) n++;
	if (n < 1 || n > 3 || *p != '\0')
		fuzz_fail("status '%s' is not an enhanced status code", str);
}

/* A mail system name from rules/mta.map: a short lowercase token */
static void fuzz_check_token(const char *field, const char *str)
{
	const char *p;

	if (str == NULL)
		return;
	if (*str == '\0' || strlen(str) > 64)
		fuzz_fail("%s '%s' is not a name", field, str);
	for (p = str; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			fuzz_fail("%s '%s' is not a name", field, str);
	}
}

void fuzz_check_result(struct bounceinfo *bi,
		       const struct bounceinfo_result *result)
{
	static const char *const langs[] = { "en", "pl", "ru", "cs", "pt-BR",
					     "", "xx-invalid" };
	/* RFC 3464 section 2.3.3 */
	static const char *const actions[] = { "failed", "delayed",
		"delivered", "relayed", "expanded", NULL };
	static const char *const commands[] = { "CONN", "EHLO", "HELO",
		"MAIL", "RCPT", "DATA", NULL };
	const struct bounceinfo_recipient *rcpt;
	unsigned int i;

	if (result == NULL)
		fuzz_fail("result is NULL on success");
	if ((unsigned int)result->kind >= BOUNCEINFO_KIND_COUNT)
		fuzz_fail("kind %d out of range", (int)result->kind);
	(void)bounceinfo_kind_name(result->kind);
	(void)bounceinfo_kind_is_bounce(result->kind);
	fuzz_check_one_line("mta", result->mta);
	fuzz_check_token("mta", result->mta);
	fuzz_check_one_line("reporting_mta", result->reporting_mta);
	fuzz_check_one_line("arrival_date", result->arrival_date);
	fuzz_check_one_line("original.message_id", result->original.message_id);
	fuzz_check_one_line("original.subject", result->original.subject);
	fuzz_check_one_line("original.from", result->original.from);
	fuzz_check_one_line("original.to", result->original.to);
	fuzz_check_one_line("original.date", result->original.date);

	if (!array_is_created(&result->recipients))
		return;
	if (array_count(&result->recipients) > BOUNCEINFO_DEFAULT_MAX_RECIPIENTS)
		fuzz_fail("%u recipients, cap is %u",
			  array_count(&result->recipients),
			  BOUNCEINFO_DEFAULT_MAX_RECIPIENTS);
	array_foreach(&result->recipients, rcpt) {
		fuzz_check_one_line("address", rcpt->address);
		fuzz_check_one_line("original_address", rcpt->original_address);
		fuzz_check_closed("action", rcpt->action, actions);
		fuzz_check_closed("smtp_command", rcpt->smtp_command,
				  commands);
		fuzz_check_status(rcpt->status);
		if (rcpt->reply_code != 0 &&
		    (rcpt->reply_code < 200 || rcpt->reply_code > 599))
			fuzz_fail("reply_code %u out of range",
				  rcpt->reply_code);
		fuzz_check_one_line("remote_mta", rcpt->remote_mta);
		fuzz_check_one_line("diagnostic", rcpt->diagnostic);
		fuzz_check_one_line("matched_rule", rcpt->matched_rule);
		if (rcpt->diagnostic != NULL &&
		    strlen(rcpt->diagnostic) > BOUNCEINFO_DEFAULT_MAX_SCAN_BYTES)
			fuzz_fail("diagnostic longer than the scan cap");
		if ((unsigned int)rcpt->class_ >= BOUNCEINFO_CLASS_COUNT)
			fuzz_fail("class %d out of range", (int)rcpt->class_);
		if ((unsigned int)rcpt->severity >= BOUNCEINFO_SEVERITY_COUNT)
			fuzz_fail("severity %d out of range",
				  (int)rcpt->severity);
		if (bounceinfo_class_name(rcpt->class_) == NULL)
			fuzz_fail("class %d has no name", (int)rcpt->class_);
		if (bounceinfo_severity_name(rcpt->severity) == NULL)
			fuzz_fail("severity %d has no name",
				  (int)rcpt->severity);
		for (i = 0; i < N_ELEMENTS(langs); i++) {
			const char *expl =
				bounceinfo_explain(bi, rcpt->class_, langs[i]);
			if (expl == NULL)
				fuzz_fail("no explanation for class %s lang %s",
					  bounceinfo_class_name(rcpt->class_),
					  langs[i]);
			fuzz_check_str("explanation", expl);
		}
	}
	rcpt = bounceinfo_result_first_recipient(result);
	if (rcpt != NULL && array_count(&result->recipients) == 0)
		fuzz_fail("first recipient of an empty list");
}
