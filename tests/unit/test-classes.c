/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The class table (bounceinfo-types.c) is the one source of truth about
   classes: the documentation and the explanations must list exactly its
   classes, with its severities and rule order. */

#include "test-common.h"

#include <dirent.h>

static const char *read_file(const char *path)
{
	struct istream *input = i_stream_create_file(path, 4096);
	string_t *str = t_str_new(8192);
	const unsigned char *data;
	size_t size;

	while (i_stream_read_more(input, &data, &size) > 0) {
		str_append_data(str, data, size);
		i_stream_skip(input, size);
	}
	assert_int_equal(input->stream_errno, 0);
	i_stream_unref(&input);
	return str_c(str);
}

static void test_class_table(void **state)
{
	bool seen[BOUNCEINFO_CLASS_COUNT + 1];

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		const struct bounceinfo_class_def *def =
			bounceinfo_class_def_get(i);
		enum bounceinfo_class parsed;

		assert_non_null(def->name);
		assert_true(bounceinfo_class_parse(def->name, &parsed));
		assert_int_equal(parsed, i);
		assert_string_equal(bounceinfo_class_name(i), def->name);
		/* priorities: a permutation of 1..COUNT */
		assert_true(def->priority >= 1 &&
			    def->priority <= BOUNCEINFO_CLASS_COUNT);
		assert_false(seen[def->priority]);
		seen[def->priority] = TRUE;
		assert_true(def->tier == 1 || def->tier == 2);
		/* severity none: exactly the classes of the non-bounce
		   kinds */
		assert_int_equal(def->severity == BOUNCEINFO_SEVERITY_NONE,
				 i == BOUNCEINFO_CLASS_DELIVERY_REPORT ||
				 i == BOUNCEINFO_CLASS_AUTOREPLY ||
				 i == BOUNCEINFO_CLASS_COMPLAINT);
		assert_int_equal(bounceinfo_class_default_severity(i),
				 def->severity);
	}
}

/* doc/classes.md: one table row per class, "| `name` | severity |" */
static void test_classes_md(void **state)
{
	const char *text = read_file(BOUNCEINFO_TEST_DATADIR
				     "/doc/classes.md");
	const char *const *lines = t_strsplit(text, "\n");
	unsigned int rows[BOUNCEINFO_CLASS_COUNT];

	(void)state;
	memset(rows, 0, sizeof(rows));
	for (; *lines != NULL; lines++) {
		const char *line = *lines, *name, *sev, *end;
		enum bounceinfo_class class_;

		if (!str_begins_with(line, "| `"))
			continue;
		name = line + 3;
		end = strchr(name, '`');
		if (end == NULL || !str_begins_with(end, "` | "))
			continue;
		name = t_strdup_until(name, end);
		sev = t_strcut(end + 4, ' ');
		if (!bounceinfo_class_parse(name, &class_)) {
			/* the kinds table has rows too */
			enum bounceinfo_kind kind;
			if (bounceinfo_kind_parse(name, &kind))
				continue;
			fprintf(stderr, "doc/classes.md: '%s' is no class\n",
				name);
			fail();
		}
		/* "delivery-report" is a kind and a class: the class rows
		   give a severity */
		enum bounceinfo_severity severity;
		if (!bounceinfo_severity_parse(sev, &severity))
			continue;
		if (severity != bounceinfo_class_default_severity(class_)) {
			fprintf(stderr, "doc/classes.md: %s is %s, the class "
				"table says %s\n", name, sev,
				bounceinfo_severity_name(
				bounceinfo_class_default_severity(class_)));
			fail();
		}
		rows[class_]++;
	}
	for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		if (rows[i] != 1) {
			fprintf(stderr, "doc/classes.md: %u rows for %s\n",
				rows[i], bounceinfo_class_name(i));
			fail();
		}
	}
}

/* doc/rules.md names the rule order of both tiers, as in the table */
static void test_rules_md_order(void **state)
{
	const char *text = read_file(BOUNCEINFO_TEST_DATADIR "/doc/rules.md");
	string_t *tier[3] = { NULL, t_str_new(256), t_str_new(256) };
	const char *p, *q;

	(void)state;
	for (unsigned int r = 1; r <= BOUNCEINFO_CLASS_COUNT; r++) {
		for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
			const struct bounceinfo_class_def *def =
				bounceinfo_class_def_get(i);

			if (def->priority != r ||
			    def->severity == BOUNCEINFO_SEVERITY_NONE ||
			    i == BOUNCEINFO_CLASS_UNKNOWN)
				continue;
			if (str_len(tier[def->tier]) > 0)
				str_append(tier[def->tier], ", ");
			str_append(tier[def->tier], def->name);
		}
	}
	/* the lines are wrapped: compare with blanks collapsed */
	string_t *flat = t_str_new(strlen(text));
	for (p = text; *p != '\0'; p++) {
		if (*p == '\n' || *p == ' ') {
			while (p[1] == ' ' || p[1] == '\n')
				p++;
			str_append_c(flat, ' ');
		} else {
			str_append_c(flat, *p);
		}
	}
	p = strstr(str_c(flat), "in this order: ");
	assert_non_null(p);
	q = strstr(p, str_c(tier[1]));
	if (q != p + strlen("in this order: ")) {
		fprintf(stderr, "doc/rules.md: first tier should read: %s\n",
			str_c(tier[1]));
		fail();
	}
	p = strstr(str_c(flat), "the recipient and the delivery: ");
	assert_non_null(p);
	q = strstr(p, str_c(tier[2]));
	if (q != p + strlen("the recipient and the delivery: ")) {
		fprintf(stderr, "doc/rules.md: second tier should read: %s\n",
			str_c(tier[2]));
		fail();
	}
}

/* explanations/<lang>.txt: every class once, nothing else */
static void test_explanations_files(void **state)
{
	const char *dir = BOUNCEINFO_TEST_DATADIR "/explanations";
	struct dirent *d;
	unsigned int files = 0;
	DIR *dirp = opendir(dir);

	(void)state;
	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		unsigned int count[BOUNCEINFO_CLASS_COUNT];
		const char *const *lines;

		if (!bi_str_ends_with(d->d_name, ".txt"))
			continue;
		files++;
		memset(count, 0, sizeof(count));
		lines = t_strsplit(read_file(t_strconcat(dir, "/", d->d_name,
							 NULL)), "\n");
		for (; *lines != NULL; lines++) {
			const char *line = *lines, *eq;
			enum bounceinfo_class class_;

			while (*line == ' ' || *line == '\t')
				line++;
			if (*line == '#' || *line == '\0')
				continue;
			eq = strchr(line, '=');
			if (eq == NULL)
				continue;
			const char *name = t_strdup_until(line, eq);
			enum bounceinfo_kind kind;
			name = t_strcut(name, ' ');
			/* "delayed = ..." and "delayed:<class> = ...": texts
			   of a kind (doc/rules.md), not of a class */
			if (strchr(name, ':') != NULL ||
			    (!bounceinfo_class_parse(name, &class_) &&
			     bounceinfo_kind_parse(name, &kind)))
				continue;
			if (!bounceinfo_class_parse(name, &class_)) {
				fprintf(stderr, "%s: '%s' is no class\n",
					d->d_name, name);
				fail();
			}
			count[class_]++;
		}
		for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
			if (count[i] != 1) {
				fprintf(stderr, "%s: %u texts for %s\n",
					d->d_name, count[i],
					bounceinfo_class_name(i));
				fail();
			}
		}
	}
	(void)closedir(dirp);
	assert_true(files >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_table),
		cmocka_unit_test(test_classes_md),
		cmocka_unit_test(test_rules_md_order),
		cmocka_unit_test(test_explanations_files),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
