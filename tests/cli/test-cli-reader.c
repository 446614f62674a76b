/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The message readers of the bounceinfo CLI: mbox splitting and >From
   unescaping, message streams that are read only in part, Maildir and
   plain directories in a stable order, and errors for unreadable input. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "unlink-directory.h"
#include "bounceinfo-reader.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

struct collected {
	ARRAY_TYPE(const_string) labels;
	ARRAY_TYPE(const_string) bodies;
	ARRAY_TYPE(const_string) errors;
	/* read at most this many bytes of each message (0 = all) */
	size_t read_limit;
};

static pool_t pool;
static const char *tmpdir;

static void
collect_message(const char *label, struct istream *input,
		struct collected *c)
{
	const unsigned char *data;
	size_t size;
	string_t *body = str_new(pool, 128);

	while (i_stream_read_more(input, &data, &size) > 0) {
		if (c->read_limit > 0 &&
		    str_len(body) + size > c->read_limit)
			size = c->read_limit - str_len(body);
		str_append_data(body, data, size);
		i_stream_skip(input, size);
		if (c->read_limit > 0 && str_len(body) >= c->read_limit)
			break;
	}
	label = p_strdup(pool, label);
	array_push_back(&c->labels, &label);
	const char *s = str_c(body);
	array_push_back(&c->bodies, &s);
}

static void
collect_error(const char *label, const char *error, struct collected *c)
{
	const char *s = p_strdup_printf(pool, "%s: %s", label, error);
	array_push_back(&c->errors, &s);
}

static const struct bounceinfo_reader_callbacks callbacks = {
	.message = (bounceinfo_reader_message_t *)collect_message,
	.error = (bounceinfo_reader_error_t *)collect_error,
};

static void collected_init(struct collected *c)
{
	i_zero(c);
	p_array_init(&c->labels, pool, 8);
	p_array_init(&c->bodies, pool, 8);
	p_array_init(&c->errors, pool, 8);
}

static const char *write_file(const char *name, const char *content)
{
	const char *path = p_strconcat(pool, tmpdir, "/", name, NULL);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f),
			 strlen(content));
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *nth(const ARRAY_TYPE(const_string) *arr, unsigned int i)
{
	return array_idx_elem(arr, i);
}

static void test_reader_mbox(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *path = write_file("box",
		"From alice@example.org Mon Nov 23 10:00:00 2026\n"
		"Subject: one\n"
		"\n"
		"body\n"
		">From the start\n"
		">>From quoted twice\n"
		"From inside a paragraph is not a separator\n"
		"\n"
		"From bob@example.org Mon Nov 23 10:01:00 2026\n"
		"Subject: two\r\n"
		"\r\n"
		"crlf\r\n"
		"\r\n"
		"From carol@example.org Mon Nov 23 10:02:00 2026\n"
		"\n"
		"\n"
		"last, no final newline");

	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(path, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.errors), 0);
	assert_int_equal(array_count(&c.labels), 3);
	assert_string_equal(nth(&c.labels, 0), t_strconcat(path, "#1", NULL));
	assert_string_equal(nth(&c.labels, 2), t_strconcat(path, "#3", NULL));
	assert_string_equal(nth(&c.bodies, 0),
		"Subject: one\n\nbody\nFrom the start\n>From quoted twice\n"
		"From inside a paragraph is not a separator\n");
	assert_string_equal(nth(&c.bodies, 1),
			    "Subject: two\r\n\r\ncrlf\r\n");
	assert_string_equal(nth(&c.bodies, 2), "\n\nlast, no final newline");
}

static void test_reader_mbox_partial_read(void **state ATTR_UNUSED)
{
	struct collected c;
	string_t *mbox = t_str_new(300000);

	/* the consumer reads only the start of a big message; the reader
	   must still find the next one */
	str_append(mbox, "From a Mon Nov 23 10:00:00 2026\nSubject: big\n\n");
	for (unsigned int i = 0; i < 5000; i++)
		str_append(mbox, "0123456789012345678901234567890123456789"
			   "0123456789012345678901234567890123456789\n");
	str_append(mbox, "\nFrom b Mon Nov 23 10:00:00 2026\nSubject: s\n\n"
		   "x\n");
	const char *path = write_file("big", str_c(mbox));

	collected_init(&c);
	c.read_limit = 10;
	assert_int_equal(bounceinfo_reader_read(path, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 2);
	assert_string_equal(nth(&c.bodies, 0), "Subject: b");
	assert_string_equal(nth(&c.bodies, 1), "Subject: s");

	/* read in full, the long message keeps every byte */
	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(path, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 2);
	assert_int_equal(strlen(nth(&c.bodies, 0)), 14 + 5000 * 81);
	assert_string_equal(nth(&c.bodies, 1), "Subject: s\n\nx\n");
}

static void test_reader_single_file(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *content = "Subject: plain\n\nFrom here on, not an mbox.\n";
	const char *path = write_file("plain.eml", content);

	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(path, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 1);
	assert_string_equal(nth(&c.labels, 0), path);
	assert_string_equal(nth(&c.bodies, 0), content);
}

static void test_reader_maildir(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *dir = t_strconcat(tmpdir, "/Maildir", NULL);

	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(t_strconcat(dir, "/cur", NULL), 0700), 0);
	assert_int_equal(mkdir(t_strconcat(dir, "/new", NULL), 0700), 0);
	assert_int_equal(mkdir(t_strconcat(dir, "/tmp", NULL), 0700), 0);
	write_file("Maildir/cur/1700000002.M1.host:2,S", "Subject: b\n\n");
	write_file("Maildir/new/1700000001.M1.host", "Subject: a\n\n");
	write_file("Maildir/new/1700000003.M1.host", "Subject: c\n\n");
	write_file("Maildir/tmp/1700000000.M1.host", "in progress\n");
	write_file("Maildir/dovecot-uidlist", "3 V1 N4\n");

	collected_init(&c);
	/* a trailing slash is not doubled in the labels */
	assert_int_equal(bounceinfo_reader_read(t_strconcat(dir, "/", NULL),
						&callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 3);
	assert_string_equal(nth(&c.labels, 0),
		t_strconcat(dir, "/new/1700000001.M1.host", NULL));
	assert_string_equal(nth(&c.labels, 1),
		t_strconcat(dir, "/cur/1700000002.M1.host:2,S", NULL));
	assert_string_equal(nth(&c.bodies, 2), "Subject: c\n\n");
}

static void test_reader_plain_dir(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *dir = t_strconcat(tmpdir, "/eml", NULL);

	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(t_strconcat(dir, "/sub", NULL), 0700), 0);
	write_file("eml/b.eml", "Subject: b\n\n");
	write_file("eml/a.eml", "Subject: a\n\n");
	write_file("eml/.hidden", "Subject: h\n\n");
	write_file("eml/sub/c.eml", "Subject: c\n\n");

	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(dir, &callbacks, &c), 0);
	/* sorted, hidden files and subdirectories skipped */
	assert_int_equal(array_count(&c.labels), 2);
	assert_string_equal(nth(&c.labels, 0),
			    t_strconcat(dir, "/a.eml", NULL));
	assert_string_equal(nth(&c.labels, 1),
			    t_strconcat(dir, "/b.eml", NULL));
}

static void test_reader_errors(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *missing = t_strconcat(tmpdir, "/missing", NULL);

	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(missing, &callbacks, &c), -1);
	assert_int_equal(array_count(&c.labels), 0);
	assert_int_equal(array_count(&c.errors), 1);
	assert_non_null(strstr(nth(&c.errors, 0), "No such file"));
	assert_non_null(strstr(nth(&c.errors, 0), missing));

	/* the failure is per input: the next one is read as usual */
	const char *ok = write_file("ok.eml", "Subject: ok\n\n");
	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(ok, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 1);
}

static void test_reader_empty(void **state ATTR_UNUSED)
{
	struct collected c;
	const char *path = write_file("empty", "");

	/* an empty file is one empty message, not an error */
	collected_init(&c);
	assert_int_equal(bounceinfo_reader_read(path, &callbacks, &c), 0);
	assert_int_equal(array_count(&c.labels), 1);
	assert_string_equal(nth(&c.bodies, 0), "");
}

static int setup(void **state ATTR_UNUSED)
{
	char template[] = "/tmp/test-cli-reader.XXXXXX";

	pool = pool_alloconly_create("test-cli-reader", 1024 * 1024);
	assert_non_null(mkdtemp(template));
	tmpdir = p_strdup(pool, template);
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	const char *error;

	if (unlink_directory(tmpdir, UNLINK_DIRECTORY_FLAG_RMDIR,
			     &error) < 0)
		i_error("%s", error);
	pool_unref(&pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reader_mbox,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_mbox_partial_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_single_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_maildir,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_plain_dir,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_errors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_empty,
						setup, teardown),
	};
	int ret;

	lib_init();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	lib_deinit();
	return ret;
}
