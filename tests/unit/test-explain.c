/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Explanations loader: every explanations/<lang>.txt is loaded, lookups
   fall back pt-BR -> pt -> en -> a built-in sentence, never NULL; broken
   files are reported with file:line. Also the class/kind name tables. */

#include "test-common.h"

static void test_explain_shipped(void **state)
{
	struct bounceinfo *bi = *state;
	const char *const *langs = bounceinfo_get_languages(bi);
	bool have_en = FALSE;

	for (; *langs != NULL; langs++) {
		if (strcmp(*langs, "en") == 0)
			have_en = TRUE;
	}
	assert_true(have_en);
	/* every class has an English sentence in the shipped file */
	for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		const char *en = bounceinfo_explain(bi, i, "en");
		assert_non_null(en);
		assert_true(strlen(en) > 10);
	}
}

static void test_explain_fallback(void **state)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *dir, *error;

	(void)state;
	dir = test_mkdatadir("");
	test_write_file(t_strconcat(dir, "/explanations/en.txt", NULL),
			"# English\n"
			"quota = The mailbox is full.\n"
			"spam = Taken for spam.\n");
	test_write_file(t_strconcat(dir, "/explanations/pt.txt", NULL),
			"quota = A caixa está cheia.\n");
	test_write_file(t_strconcat(dir, "/explanations/pt-BR.txt", NULL),
			"spam = Considerado spam.\n");
	i_zero(&set);
	set.datadir = dir;
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);

	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_SPAM,
					       "pt-BR"), "Considerado spam.");
	/* case and '_' do not matter */
	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_SPAM,
					       "pt_br"), "Considerado spam.");
	/* pt-BR lacks quota: pt */
	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_QUOTA,
					       "pt-BR"), "A caixa está cheia.");
	/* unknown language: en */
	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_QUOTA,
					       "xx"), "The mailbox is full.");
	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_QUOTA,
					       NULL), "The mailbox is full.");
	/* not even en has it: built-in, never NULL */
	const char *generic = bounceinfo_explain(bi, BOUNCEINFO_CLASS_RELAY,
						 "pt-BR");
	assert_non_null(generic);
	assert_true(strlen(generic) > 10);
	bounceinfo_deinit(&bi);

	/* a broken line names file and line */
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"quota = Skrzynka pełna.\n\nnot a definition\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "pl.txt:3: expected"));
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"kwota = Skrzynka pełna.\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "pl.txt:1: unknown class 'kwota'"));
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"quota = \xff\xfe\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "pl.txt:1: text is not valid UTF-8"));
	test_rmtree(dir);
}

/* A delay warning is explained as one: "delayed:<class>", then
   "delayed", in the user's language first, never a class' text saying
   delivery failed */
static void test_explain_kind(void **state)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *dir, *error, *text;

	(void)state;
	dir = test_mkdatadir("");
	test_write_file(t_strconcat(dir, "/explanations/en.txt", NULL),
			"quota = The mailbox is full.\n"
			"expired = The server gave up.\n"
			"network = Unreachable.\n"
			"delayed = Delayed, still trying.\n"
			"delayed:quota = Full for now, still trying.\n");
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"quota = Skrzynka pełna.\n"
			"delayed = Opóźnione, serwer próbuje dalej.\n");
	i_zero(&set);
	set.datadir = dir;
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);

	assert_string_equal(bounceinfo_explain_kind(bi,
		BOUNCEINFO_KIND_DELAYED, BOUNCEINFO_CLASS_QUOTA, "en"),
		"Full for now, still trying.");
	/* no text for the class: the kind's, not "gave up" */
	assert_string_equal(bounceinfo_explain_kind(bi,
		BOUNCEINFO_KIND_DELAYED, BOUNCEINFO_CLASS_EXPIRED, "en"),
		"Delayed, still trying.");
	/* the user's language before a more specific English text */
	assert_string_equal(bounceinfo_explain_kind(bi,
		BOUNCEINFO_KIND_DELAYED, BOUNCEINFO_CLASS_QUOTA, "pl-PL"),
		"Opóźnione, serwer próbuje dalej.");
	/* failures keep their class' text */
	assert_string_equal(bounceinfo_explain_kind(bi,
		BOUNCEINFO_KIND_DSN, BOUNCEINFO_CLASS_EXPIRED, "en"),
		"The server gave up.");
	assert_string_equal(bounceinfo_explain_kind(bi,
		BOUNCEINFO_KIND_NDR, BOUNCEINFO_CLASS_QUOTA, "pl"),
		"Skrzynka pełna.");
	/* explain() is unchanged by kind texts */
	assert_string_equal(bounceinfo_explain(bi, BOUNCEINFO_CLASS_EXPIRED,
					       "en"), "The server gave up.");
	bounceinfo_deinit(&bi);

	/* no delay text at all: a built-in one, not the class' */
	test_write_file(t_strconcat(dir, "/explanations/en.txt", NULL),
			"expired = The server gave up.\n");
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"expired = Serwer zrezygnował.\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);
	text = bounceinfo_explain_kind(bi, BOUNCEINFO_KIND_DELAYED,
				       BOUNCEINFO_CLASS_EXPIRED, "pl");
	assert_non_null(strstr(text, "keeps trying"));
	bounceinfo_deinit(&bi);

	/* an unknown kind or class names file and line */
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"opozniony:quota = x.\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "pl.txt:1: unknown kind 'opozniony'"));
	test_write_file(t_strconcat(dir, "/explanations/pl.txt", NULL),
			"delayed:kwota = x.\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "pl.txt:1: unknown class 'kwota'"));
	test_rmtree(dir);
}

static void test_names(void **state)
{
	enum bounceinfo_class class_;
	enum bounceinfo_kind kind;
	enum bounceinfo_severity sev;

	(void)state;
	for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		assert_true(bounceinfo_class_parse(bounceinfo_class_name(i),
						   &class_));
		assert_int_equal(class_, i);
	}
	for (unsigned int i = 0; i < BOUNCEINFO_KIND_COUNT; i++) {
		assert_true(bounceinfo_kind_parse(bounceinfo_kind_name(i),
						  &kind));
		assert_int_equal(kind, i);
	}
	assert_true(bounceinfo_severity_parse("HARD", &sev));
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_HARD);
	assert_false(bounceinfo_class_parse("nonsense", &class_));
	assert_non_null(strstr(bounceinfo_class_names_list(), "user-unknown, "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_shipped),
		cmocka_unit_test(test_explain_fallback),
		cmocka_unit_test(test_explain_kind),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
