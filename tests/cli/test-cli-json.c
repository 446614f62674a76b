/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The JSON Lines writer of the bounceinfo CLI: key set and order, null
   for unknown values, numbers, escaping of hostile strings, and the
   single entry of autoreply/complaint/delivery-report messages. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-json.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static pool_t pool;

static struct bounceinfo_result *result_new(enum bounceinfo_kind kind)
{
	struct bounceinfo_result *result;

	result = p_new(pool, struct bounceinfo_result, 1);
	result->pool = pool;
	result->kind = kind;
	p_array_init(&result->recipients, pool, 4);
	return result;
}

static const char *
to_json(const char *file, const struct bounceinfo_result *result,
	const char *const *explanations, bool with_rule)
{
	struct bounceinfo_json_settings set = {
		.explanations = explanations,
		.with_rule = with_rule,
	};
	string_t *str = t_str_new(256);

	bounceinfo_json_append_message(str, file, result, &set);
	return str_c(str);
}

static void test_json_none(void **state ATTR_UNUSED)
{
	struct bounceinfo_result *result = result_new(BOUNCEINFO_KIND_NONE);

	assert_string_equal(to_json("in.eml", result, NULL, FALSE),
		"{\"file\":\"in.eml\",\"kind\":\"none\",\"mta\":null,"
		"\"truncated\":false,\"recipients\":[],"
		"\"original\":{\"message_id\":null,\"subject\":null,"
		"\"date\":null,\"from\":null,\"to\":null}}");
}

static void test_json_dsn(void **state ATTR_UNUSED)
{
	struct bounceinfo_result *result = result_new(BOUNCEINFO_KIND_DSN);
	struct bounceinfo_recipient *rcpt;
	const char *explanations[BOUNCEINFO_CLASS_COUNT] = {
		[BOUNCEINFO_CLASS_QUOTA] = "Mailbox full.",
	};

	result->mta = "postfix";
	result->format = "dsn";
	result->truncated = TRUE;
	result->original.message_id = "<1@example.org>";
	result->original.subject = "Hello";
	result->original.date = "Mon, 23 Nov 2026 10:00:00 +0000";
	rcpt = array_append_space(&result->recipients);
	rcpt->address = "user@example.com";
	rcpt->class_ = BOUNCEINFO_CLASS_QUOTA;
	rcpt->severity = BOUNCEINFO_SEVERITY_SOFT;
	rcpt->status = "5.2.2";
	rcpt->reply_code = 552;
	rcpt->action = "failed";
	rcpt->remote_mta = "mx.example.com";
	rcpt->smtp_command = "RCPT";
	rcpt->diagnostic = "552 5.2.2 mailbox full";
	rcpt->matched_rule = "status:5.2.2";
	rcpt->rule_id = "status/X.2.2";
	/* a second recipient with nothing known */
	rcpt = array_append_space(&result->recipients);
	rcpt->class_ = BOUNCEINFO_CLASS_UNKNOWN;

	assert_string_equal(to_json("box#2", result, explanations, TRUE),
		"{\"file\":\"box#2\",\"kind\":\"dsn\",\"mta\":\"postfix\","
		"\"truncated\":true,\"format\":\"dsn\",\"recipients\":["
		"{\"address\":\"user@example.com\",\"class\":\"quota\","
		"\"severity\":\"soft\",\"status\":\"5.2.2\",\"code\":552,"
		"\"action\":\"failed\",\"remote_mta\":\"mx.example.com\","
		"\"smtp_command\":\"RCPT\","
		"\"diagnostic\":\"552 5.2.2 mailbox full\","
		"\"explanation\":\"Mailbox full.\",\"rule\":\"status:5.2.2\","
		"\"rule_id\":\"status/X.2.2\"},"
		"{\"address\":null,\"class\":\"unknown\",\"severity\":\"none\","
		"\"status\":null,\"code\":null,\"action\":null,"
		"\"remote_mta\":null,\"smtp_command\":null,\"diagnostic\":null,"
		"\"explanation\":null,\"rule\":null,\"rule_id\":null}],"
		"\"original\":{\"message_id\":\"<1@example.org>\","
		"\"subject\":\"Hello\","
		"\"date\":\"Mon, 23 Nov 2026 10:00:00 +0000\","
		"\"from\":null,\"to\":null}}");
	/* without --explain-rule there is no "rule" key */
	assert_null(strstr(to_json("box#2", result, explanations, FALSE),
			   "\"rule\""));
}

static void test_json_escaping(void **state ATTR_UNUSED)
{
	struct bounceinfo_result *result = result_new(BOUNCEINFO_KIND_NDR);
	struct bounceinfo_recipient *rcpt;

	rcpt = array_append_space(&result->recipients);
	rcpt->class_ = BOUNCEINFO_CLASS_USER_UNKNOWN;
	rcpt->severity = BOUNCEINFO_SEVERITY_HARD;
	/* quotes, backslash, newline, tab, other control characters,
	   UTF-8 and one invalid byte */
	rcpt->diagnostic = "a\"b\\c\nd\te\x01\x1f Zdalny host odpowiedział "
		"Пользователь \xff!";
	result->original.subject = "</script>\r\n";

	const char *json = to_json("dir/\"odd\" name\n", result, NULL, FALSE);
	assert_non_null(strstr(json,
		"\"file\":\"dir/\\\"odd\\\" name\\n\""));
	assert_non_null(strstr(json,
		"\"diagnostic\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f "
		"Zdalny host odpowiedział Пользователь \xef\xbf\xbd!\""));
	assert_non_null(strstr(json, "\"subject\":\"</script>\\r\\n\""));
	/* no raw control character is left anywhere in the line */
	for (const char *p = json; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20);
}

static void test_json_non_bounce_kinds(void **state ATTR_UNUSED)
{
	static const struct {
		enum bounceinfo_kind kind;
		const char *class_name;
	} tests[] = {
		{ BOUNCEINFO_KIND_AUTOREPLY, "autoreply" },
		{ BOUNCEINFO_KIND_COMPLAINT, "complaint" },
		{ BOUNCEINFO_KIND_DELIVERY_REPORT, "delivery-report" },
	};
	const char *explanations[BOUNCEINFO_CLASS_COUNT] = {
		[BOUNCEINFO_CLASS_AUTOREPLY] = "Out of office.",
	};

	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		struct bounceinfo_result *result = result_new(tests[i].kind);
		const char *json = to_json("m", result, explanations, FALSE);
		const char *expected = t_strdup_printf(
			"\"recipients\":[{\"address\":null,\"class\":\"%s\","
			"\"severity\":\"none\",\"status\":null,\"code\":null,"
			"\"action\":null,\"remote_mta\":null,"
			"\"smtp_command\":null,"
			"\"diagnostic\":null,\"explanation\":%s}]",
			tests[i].class_name,
			tests[i].kind == BOUNCEINFO_KIND_AUTOREPLY ?
			"\"Out of office.\"" : "null");

		assert_non_null(strstr(json, expected));
	}

	/* the library's own entry is kept as it is, not doubled */
	struct bounceinfo_result *result =
		result_new(BOUNCEINFO_KIND_DELIVERY_REPORT);
	struct bounceinfo_recipient *rcpt =
		array_append_space(&result->recipients);
	rcpt->address = "a@example.com";
	rcpt->action = "delivered";
	rcpt->status = "2.0.0";
	rcpt->class_ = BOUNCEINFO_CLASS_DELIVERY_REPORT;
	const char *json = to_json("m", result, NULL, FALSE);
	assert_non_null(strstr(json, "\"address\":\"a@example.com\""));
	assert_null(strstr(json, "\"address\":null"));
}

static void test_json_get_recipients(void **state ATTR_UNUSED)
{
	const struct bounceinfo_recipient *rcpts;
	struct bounceinfo_recipient tmp;
	struct bounceinfo_result *result;

	result = result_new(BOUNCEINFO_KIND_NONE);
	assert_int_equal(bounceinfo_json_get_recipients(result, &tmp, &rcpts),
			 0);
	/* kind none never reports recipients, even if some were found */
	array_append_space(&result->recipients);
	assert_int_equal(bounceinfo_json_get_recipients(result, &tmp, &rcpts),
			 0);
	/* a bounce without recipients stays empty: nothing is invented */
	result = result_new(BOUNCEINFO_KIND_NDR);
	assert_int_equal(bounceinfo_json_get_recipients(result, &tmp, &rcpts),
			 0);
	result = result_new(BOUNCEINFO_KIND_COMPLAINT);
	assert_int_equal(bounceinfo_json_get_recipients(result, &tmp, &rcpts),
			 1);
	assert_ptr_equal(rcpts, &tmp);
	assert_int_equal(rcpts[0].class_, BOUNCEINFO_CLASS_COMPLAINT);
	assert_int_equal(rcpts[0].severity, BOUNCEINFO_SEVERITY_NONE);
}

static int setup(void **state ATTR_UNUSED)
{
	pool = pool_alloconly_create("test-cli-json", 4096);
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	pool_unref(&pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_dsn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_json_non_bounce_kinds,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_get_recipients,
						setup, teardown),
	};
	int ret;

	lib_init();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	lib_deinit();
	return ret;
}
