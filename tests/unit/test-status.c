/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* rules/status.map and the classification order: strong status codes
   over text, text over generic codes, the refused SMTP command, reply
   codes as the last hint; finding codes in text. */

#include "test-common.h"

static enum bounceinfo_class
classify(struct bounceinfo *bi, const char *status, unsigned int code,
	 const char *diag, enum bounceinfo_severity *sev_r,
	 const char **rule_r)
{
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	const char *rule;

	bounceinfo_classify(bi, status, code, diag, &class_, &sev, &rule);
	if (sev_r != NULL)
		*sev_r = sev;
	if (rule_r != NULL)
		*rule_r = rule;
	return class_;
}

static const struct {
	const char *code;
	enum bounceinfo_class class_;
} sisimai_codes[] = {
	{ "5.2.0", BOUNCEINFO_CLASS_FILTERED },
	{ "5.1.9", BOUNCEINFO_CLASS_SYSTEM },
	{ "4.4.2", BOUNCEINFO_CLASS_NETWORK },
	{ "4.4.4", BOUNCEINFO_CLASS_NETWORK },
	{ "5.4.4", BOUNCEINFO_CLASS_HOST_UNKNOWN },
	{ "5.4.0", BOUNCEINFO_CLASS_NETWORK },
	{ "4.4.0", BOUNCEINFO_CLASS_EXPIRED },
	{ "5.7.30", BOUNCEINFO_CLASS_SECURITY },
	{ "4.7.2", BOUNCEINFO_CLASS_BLOCKLIST },
};

static void test_status_map_lookup(void **state)
{
	struct bounceinfo *bi = *state;
	const struct bounceinfo_status_entry *e;

	e = bounceinfo_status_lookup(bi, "5.2.2");
	assert_non_null(e);
	assert_int_equal(e->class_, BOUNCEINFO_CLASS_QUOTA);
	assert_true(e->strong);
	/* X matches either class digit */
	e = bounceinfo_status_lookup(bi, "4.7.26");
	assert_non_null(e);
	assert_int_equal(e->class_, BOUNCEINFO_CLASS_AUTH);
	e = bounceinfo_status_lookup(bi, "5.7.25");
	assert_int_equal(e->class_, BOUNCEINFO_CLASS_RDNS);
	e = bounceinfo_status_lookup(bi, "4.7.650");
	assert_int_equal(e->class_, BOUNCEINFO_CLASS_REPUTATION);
	/* generic codes are weak */
	e = bounceinfo_status_lookup(bi, "5.7.1");
	assert_non_null(e);
	assert_false(e->strong);
	e = bounceinfo_status_lookup(bi, "code:552");
	assert_int_equal(e->class_, BOUNCEINFO_CLASS_QUOTA);
	/* codes IANA leaves open, read as Sisimai 5.1's
	   lib/Sisimai/SMTP/Status.pm does */
	for (unsigned int i = 0; i < N_ELEMENTS(sisimai_codes); i++) {
		e = bounceinfo_status_lookup(bi, sisimai_codes[i].code);
		assert_non_null(e);
		assert_int_equal(e->class_, sisimai_codes[i].class_);
	}
	assert_null(bounceinfo_status_lookup(bi, "5.99.99"));
}

static void test_status_order(void **state)
{
	struct bounceinfo *bi = *state;
	enum bounceinfo_severity sev;
	const char *rule;

	/* a strong code wins over misleading text */
	assert_int_equal(classify(bi, "5.2.2", 552, "550 user unknown", &sev,
				  &rule), BOUNCEINFO_CLASS_QUOTA);
	assert_true(str_begins_with(rule, "status.map:"));
	/* a generic code: the text decides */
	assert_int_equal(classify(bi, "5.7.1", 550,
		"550 5.7.1 Service unavailable; client [192.0.2.1] blocked "
		"using zen.spamhaus.org", NULL, &rule),
		BOUNCEINFO_CLASS_BLOCKLIST);
	assert_non_null(strstr(rule, "rules/blocklist.rules:"));
	/* no text rule: the generic code (as Sisimai 5.1
	   lib/Sisimai/SMTP/Status.pm reads them: 5.7.1 a security
	   failure, 4.7.1 a temporary block) */
	assert_int_equal(classify(bi, "5.7.1", 550, "550 5.7.1 Nope", NULL,
				  &rule), BOUNCEINFO_CLASS_SECURITY);
	assert_int_equal(classify(bi, "4.7.1", 450, "450 4.7.1 Nope", NULL,
				  &rule), BOUNCEINFO_CLASS_BLOCKLIST);
	/* only a reply code */
	assert_int_equal(classify(bi, NULL, 552, "552 nope", NULL, &rule),
			 BOUNCEINFO_CLASS_QUOTA);
	assert_true(str_begins_with(rule, "status.map:"));
	/* nothing at all */
	assert_int_equal(classify(bi, NULL, 0, NULL, &sev, &rule),
			 BOUNCEINFO_CLASS_UNKNOWN);
	assert_null(rule);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_SOFT);
	/* invalid status strings are ignored */
	assert_int_equal(classify(bi, "9.9", 0, "mailbox is full", NULL,
				  NULL), BOUNCEINFO_CLASS_QUOTA);
}

static void test_status_command(void **state)
{
	struct bounceinfo *bi = *state;
	enum bounceinfo_severity sev;

	/* refused at MAIL FROM without a specific reason: the sender */
	assert_int_equal(classify(bi, NULL, 553,
		"SMTP error from remote mail server after MAIL FROM:"
		"<a@example.com>: 553 sorry, that domain isn't allowed", NULL,
		NULL), BOUNCEINFO_CLASS_SENDER_REJECTED);
	/* refused at connection time */
	assert_int_equal(classify(bi, NULL, 554,
		"SMTP error from remote mail server after initial connection: "
		"554 go away", NULL, NULL), BOUNCEINFO_CLASS_BLOCKLIST);
	/* "user unknown" answering RCPT is a hard user-unknown ... */
	assert_int_equal(classify(bi, NULL, 550,
		"SMTP error from remote mail server after RCPT TO:<x@y.z>: "
		"550 user unknown", &sev, NULL), BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_HARD);
	/* ... but after the message was sent it is a filter's verdict */
	assert_int_equal(classify(bi, NULL, 550,
		"SMTP error from remote mail server after end of data: "
		"550 user unknown", &sev, NULL), BOUNCEINFO_CLASS_FILTERED);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_SOFT);
	/* a X.1.1 status proves the address */
	assert_int_equal(classify(bi, "5.1.1", 550, "550 5.1.1 user unknown",
				  &sev, NULL), BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_string_equal(bounceinfo_smtp_command_find(bi,
		"host x said: 550 nope (in reply to RCPT TO command)"), "RCPT");
	assert_string_equal(bounceinfo_smtp_command_find(bi,
		">>> DATA\n<<< 554 rejected"), "DATA");
	assert_null(bounceinfo_smtp_command_find(bi, "550 nope"));
}

static void test_status_temporary(void **state)
{
	struct bounceinfo *bi = *state;
	enum bounceinfo_severity sev;

	/* a temporary DNS failure is not an unknown host */
	assert_int_equal(classify(bi, "4.4.3", 0,
		"Host or domain name not found. Name service error", &sev,
		NULL), BOUNCEINFO_CLASS_NETWORK);
	assert_int_equal(classify(bi, "5.4.4", 0,
		"Host or domain name not found. Name service error", &sev,
		NULL), BOUNCEINFO_CLASS_HOST_UNKNOWN);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_HARD);
	/* 2.x.x never gets a failure class from its command */
	assert_int_equal(classify(bi, "4.4.7", 0, "Message expired", &sev,
				  NULL), BOUNCEINFO_CLASS_EXPIRED);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_SOFT);
}

static void test_status_find(void **state)
{
	(void)state;
	assert_string_equal(bounceinfo_status_find("550 5.1.1 <a@b>: no"),
			    "5.1.1");
	/* not in IP addresses or versions */
	assert_null(bounceinfo_status_find("host 192.5.1.1 said 550"));
	assert_null(bounceinfo_status_find("Postfix 2.5.1.4"));
	assert_string_equal(bounceinfo_status_find("(#5.5.0)"), "5.5.0");
	assert_string_equal(bounceinfo_status_find("4.7.650 The mail server"),
			    "4.7.650");
	/* the status given with the reply wins over a summary */
	assert_string_equal(bounceinfo_status_find_best(
		"5.1.0 - Unknown address error 550-'5.7.1 <x@y>... denied'"),
		"5.7.1");
	assert_true(bounceinfo_status_is_valid("5.7.26"));
	assert_false(bounceinfo_status_is_valid("5.7"));
	assert_false(bounceinfo_status_is_valid("3.1.1"));

	assert_int_equal(bounceinfo_reply_code_find("host said: 550 no"), 550);
	assert_int_equal(bounceinfo_reply_code_find("550-5.1.1 The email"), 550);
	assert_int_equal(bounceinfo_reply_code_find("at 192.0.2.44 port 25"), 0);
	assert_int_equal(bounceinfo_reply_code_find("in 2013 maybe"), 0);
}

/* Several statuses after one reply: the one that agrees with the reply
   code, else the first */
static void test_status_two_codes(void **state)
{
	(void)state;
	/* chkuser: "552" is storage exceeded, so 5.2.2, not 5.1.1 */
	assert_string_equal(bounceinfo_status_find_reply(
		"said: 552 5.1.1 5.2.2 sorry, final recipient mailbox is "
		"full (chkuser)"), "5.2.2");
	assert_string_equal(bounceinfo_status_find_best(
		"Remote host said: 552 5.1.1 5.2.2 mailbox is full"), "5.2.2");
	assert_string_equal(bounceinfo_status_find_reply(
		"452 4.1.1 4.2.2 over quota, try later"), "4.2.2");
	/* 550 is "mailbox unavailable": its X.1.x agrees */
	assert_string_equal(bounceinfo_status_find_reply(
		"550 5.1.1 5.2.2 no such user"), "5.1.1");
	/* no code agrees (554 says little): the first, as before */
	assert_string_equal(bounceinfo_status_find_reply(
		"554 5.7.1 5.2.2 rejected"), "5.7.1");
	/* one status: itself, even when it does not agree */
	assert_string_equal(bounceinfo_status_find_reply(
		"552 5.1.1 sorry, no mailbox here"), "5.1.1");
	assert_string_equal(bounceinfo_status_find_reply(
		"552-5.2.2 The email account is over quota"), "5.2.2");
	/* a second code further on is not part of the reply */
	assert_string_equal(bounceinfo_status_find_reply(
		"552 5.1.1 user unknown; see 5.2.2 elsewhere"), "5.1.1");
}

static void test_status_map_errors(void **state)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *dir, *error;

	(void)state;
	dir = test_mkdatadir("# ok\n5.1.1 user-unknown hard strong\n"
			     "5.2 nosuchclass soft\n");
	i_zero(&set);
	set.datadir = dir;
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "rules/status.map:3: unknown class "
			       "'nosuchclass'"));

	test_write_file(t_strconcat(dir, "/rules/status.map", NULL),
			"5.x.1.1 user-unknown hard\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "status.map:1: invalid status pattern"));

	test_write_file(t_strconcat(dir, "/rules/status.map", NULL),
			"5.1.1 user-unknown maybe\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "status.map:1: severity must be hard or "
			       "soft"));
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_map_lookup),
		cmocka_unit_test(test_status_order),
		cmocka_unit_test(test_status_command),
		cmocka_unit_test(test_status_temporary),
		cmocka_unit_test(test_status_find),
		cmocka_unit_test(test_status_two_codes),
		cmocka_unit_test(test_status_map_errors),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
