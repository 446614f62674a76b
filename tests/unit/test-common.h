#ifndef TEST_COMMON_H
#define TEST_COMMON_H

/* Shared helpers of the lib-bounceinfo unit tests (cmocka). The data
   files come from the source tree: BOUNCEINFO_TEST_DATADIR. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "unichar.h"
#include "bounceinfo-private.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

static inline struct bounceinfo *test_bi_init(const char *const *extra_rules)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *error;

	i_zero(&set);
	set.datadir = BOUNCEINFO_TEST_DATADIR;
	set.extra_rules = extra_rules;
	if (bounceinfo_init(&set, &bi, &error) < 0) {
		fprintf(stderr, "bounceinfo_init: %s\n", error);
		return NULL;
	}
	return bi;
}

static inline int test_group_setup(void **state)
{
	lib_init();
	*state = test_bi_init(NULL);
	return *state == NULL ? -1 : 0;
}

static inline int test_group_teardown(void **state)
{
	struct bounceinfo *bi = *state;

	bounceinfo_deinit(&bi);
	lib_deinit();
	return 0;
}

/* Parse a message given as a string; the result lives in a pool the
   caller frees with pool_unref(&result->pool). */
static inline struct bounceinfo_result *
test_parse(struct bounceinfo *bi, const char *msg)
{
	struct bounceinfo_result *result;
	const char *error;
	pool_t pool = pool_alloconly_create("test result", 4096);

	if (bounceinfo_parse_data(bi, msg, strlen(msg), pool, &result,
				  &error) < 0) {
		fprintf(stderr, "parse failed: %s\n", error);
		pool_unref(&pool);
		return NULL;
	}
	return result;
}

static inline const struct bounceinfo_recipient *
test_rcpt(const struct bounceinfo_result *result, unsigned int idx)
{
	if (idx >= array_count(&result->recipients))
		return NULL;
	return array_idx(&result->recipients, idx);
}

/* Write a file (for broken rules / explanations fixtures) */
static inline void test_write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
}

static inline const char *test_mkdtemp(void)
{
	char tmpl[] = "/tmp/bounceinfo-test.XXXXXX";
	const char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return t_strdup(dir);
}

/* A data directory of its own: rules/status.map with the given text and
   an empty explanations/ to fill. */
static inline const char *test_mkdatadir(const char *status_map)
{
	const char *dir = test_mkdtemp();

	assert_int_equal(mkdir(t_strconcat(dir, "/rules", NULL), 0700), 0);
	assert_int_equal(mkdir(t_strconcat(dir, "/explanations", NULL),
			       0700), 0);
	test_write_file(t_strconcat(dir, "/rules/status.map", NULL),
			status_map);
	return dir;
}

static inline void test_rmtree(const char *dir)
{
	/* fixtures are flat: dir/, dir/rules/, dir/explanations/ */
	const char *cmd = t_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif
