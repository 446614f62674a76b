/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The SMTP phase as a fact: which command the remote server refused, in
   each style mail systems write it, kept per recipient, and used in
   classification (a refusal at RCPT is never "filtered"). The texts are
   written after the public documentation and sources of each mail
   system's wording, with example.* names. */

#include "test-common.h"

struct command_example {
	const char *want; /* NULL: the text does not say */
	const char *text;
};

static const struct command_example examples[] = {
	/* bracketed stage tokens */
	{ "RCPT", "smtp; 550 5.1.1 <kot@example.org>: user unknown "
	  "[RCPT_TO]" },
	{ "MAIL", "smtp; 553 5.1.8 sender domain does not exist [MAIL_FROM]" },
	{ "DATA", "smtp; 554 5.7.1 message refused [DATA]" },
	{ "CONN", "smtp; 554 5.7.1 service unavailable [CONNECT]" },
	/* Postfix */
	{ "RCPT", "host mx.example.org[192.0.2.1] said: 550 5.1.1 "
	  "<kot@example.org>: Recipient address rejected: User unknown "
	  "(in reply to RCPT TO command)" },
	{ "DATA", "host mx.example.org[192.0.2.1] said: 550 5.7.1 message "
	  "content rejected (in reply to end of DATA command)" },
	{ "MAIL", "host mx.example.org[192.0.2.1] said: 553 sorry, your "
	  "envelope sender is in my badmailfrom list (in reply to MAIL "
	  "FROM command)" },
	{ "CONN", "host mx.example.org[192.0.2.1] refused to talk to me: "
	  "554 5.7.1 your IP is listed" },
	{ "HELO", "host mx.example.org[192.0.2.1] said: 501 5.5.2 invalid "
	  "hostname (in reply to EHLO command)" },
	/* Exim */
	{ "RCPT", "SMTP error from remote mail server after RCPT "
	  "TO:<kot@example.org>: 550 5.1.1 mailbox unavailable" },
	{ "RCPT", "SMTP error from remote mail server after pipelined RCPT "
	  "TO:<kot@example.org>: 550 no such user" },
	{ "MAIL", "SMTP error from remote mail server after MAIL "
	  "FROM:<a@example.net> SIZE=1234: 550 sender rejected" },
	{ "DATA", "SMTP error from remote mail server after end of data: "
	  "550 rejected" },
	{ "CONN", "SMTP error from remote mail server after initial "
	  "connection: 554 go away" },
	{ "HELO", "SMTP error from remote mail server after EHLO "
	  "mail.example.net: 550 bad helo" },
	/* Sendmail and Courier transcripts */
	{ "RCPT", "... while talking to mx.example.org.:\n>>> RCPT "
	  "To:<kot@example.org>\n<<< 550 5.1.1 <kot@example.org>... User "
	  "unknown" },
	{ "DATA", ">>> DATA\n<<< 554 5.7.1 rejected" },
	{ "MAIL", ">>> MAIL FROM:<a@example.net>\n<<< 553 bad sender" },
	/* "RCPT TO:<...>: 550 ..." */
	{ "RCPT", "RCPT TO:<kot@example.org>: 550 5.1.1 no mailbox here by "
	  "that name" },
	{ "RCPT", "(RCPT TO:<kot@example.org>) 550 unknown user" },
	/* qmail */
	{ "MAIL", "Connected to 192.0.2.1 but sender was rejected. Remote "
	  "host said: 553 sorry" },
	{ "CONN", "Connected to 192.0.2.1 but greeting failed. Remote host "
	  "said: 554 no thanks" },
	{ "DATA", "192.0.2.1 failed after I sent the message. Remote host "
	  "said: 554 spam" },
	/* IIS SMTP / Exchange */
	{ "RCPT", "SMTP error from remote server for RCPT TO command, host: "
	  "mx.example.org (192.0.2.1) reason: 550 5.1.1 User unknown" },
	{ "MAIL", "SMTP error from remote server for MAIL FROM command, "
	  "host: mx.example.org (192.0.2.1) reason: 553 sender refused" },
	{ "DATA", "SMTP error from remote server for TEXT command, host: "
	  "mx.example.org (192.0.2.1) reason: 554 5.6.0 message refused" },
	/* Gmail's SMTP client state */
	{ "RCPT", "550 5.1.1 The email account that you tried to reach does "
	  "not exist. (state 14)" },
	{ "DATA", "550 5.7.1 content rejected (state 18)" },
	{ "MAIL", "553 5.1.8 sender rejected (state 13)" },
	/* wording of a stage */
	{ "RCPT", "remote server rejected the address during RCPT TO stage: "
	  "550 unknown" },
	{ "DATA", "rejected at the DATA phase: 554 policy" },
	{ "RCPT", "smtp; 550 RCPT command failed: no such user" },
	/* the last command mentioned wins */
	{ "DATA", "after RCPT TO:<kot@example.org>: 250 ok; after end of "
	  "data: 554 rejected" },
	/* nothing said */
	{ NULL, "550 5.1.1 mailbox unavailable" },
	{ NULL, "Connection timed out" },
};

static void test_command_styles(void **state)
{
	struct bounceinfo *bi = *state;

	for (unsigned int i = 0; i < N_ELEMENTS(examples); i++) {
		const char *got = bounceinfo_smtp_command_find(bi,
							examples[i].text);

		if (null_strcmp(got, examples[i].want) != 0) {
			fprintf(stderr, "'%s': want %s, got %s\n",
				examples[i].text,
				examples[i].want == NULL ? "none" :
				examples[i].want, got == NULL ? "none" : got);
			fail();
		}
		if (got != NULL)
			assert_true(bounceinfo_smtp_command_is_valid(got));
	}
	assert_false(bounceinfo_smtp_command_is_valid("EHLO"));
	assert_string_equal(bounceinfo_smtp_command_names_list(),
			    "CONN, HELO, MAIL, RCPT, DATA");
}

static void test_command_classification(void **state)
{
	struct bounceinfo *bi = *state;
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	const char *rule;
	const char *filter_text = "550 Message rejected by recipient's mail "
		"filter rules";

	/* a filter's verdict after DATA, but never at RCPT */
	bounceinfo_classify_full(bi, NULL, 550, filter_text, "DATA", &class_,
				 &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_FILTERED);
	bounceinfo_classify_full(bi, NULL, 550, filter_text, "RCPT", &class_,
				 &sev, &rule);
	assert_int_not_equal(class_, BOUNCEINFO_CLASS_FILTERED);
	bounceinfo_classify(bi, NULL, 550, t_strconcat(filter_text,
		" (in reply to RCPT TO command)", NULL), &class_, &sev, &rule);
	assert_int_not_equal(class_, BOUNCEINFO_CLASS_FILTERED);

	/* "no such user": at RCPT the address, after DATA a filter */
	bounceinfo_classify_full(bi, NULL, 550, "550 no such user", "RCPT",
				 &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	bounceinfo_classify_full(bi, NULL, 550, "550 no such user", "DATA",
				 &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_FILTERED);

	/* refused at MAIL FROM / at connection with nothing else said */
	bounceinfo_classify_full(bi, NULL, 550, "550 nope", "MAIL",
				 &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_SENDER_REJECTED);
	bounceinfo_classify_full(bi, NULL, 554, "554 nope", "CONN",
				 &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_BLOCKLIST);
	bounceinfo_classify_full(bi, NULL, 554, "554 nope", "HELO",
				 &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_BLOCKLIST);
}

/* The parser's search travels in the facts: "searched, none" is not
   searched again, unless the classifier had to change the text first */
static void test_command_searched(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d, d_plain;
	const char *filter_text = "550 Message rejected by recipient's mail "
		"filter rules";
	const char *rcpt_text = t_strconcat(filter_text,
		" (in reply to RCPT TO command)", NULL);

	/* searched: RCPT found, the classifier would find it too */
	i_zero(&facts);
	facts.diagnostic = rcpt_text;
	bounceinfo_classify_facts(bi, &facts, &d);
	assert_int_not_equal(d.class_, BOUNCEINFO_CLASS_FILTERED);
	/* "searched, none": taken as said, as for a text without one */
	facts.smtp_command_searched = TRUE;
	bounceinfo_classify_facts(bi, &facts, &d);
	i_zero(&facts);
	facts.diagnostic = filter_text;
	bounceinfo_classify_facts(bi, &facts, &d_plain);
	assert_int_equal(d.class_, d_plain.class_);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_FILTERED);
	/* a text the classifier un-underscores is searched again */
	i_zero(&facts);
	facts.diagnostic = t_str_replace(rcpt_text, ' ', '_');
	facts.smtp_command_searched = TRUE;
	bounceinfo_classify_facts(bi, &facts, &d);
	assert_int_not_equal(d.class_, BOUNCEINFO_CLASS_FILTERED);
}

/* Kept per recipient: each recipient's own lines say which command */
static void test_command_per_recipient(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *result;
	const struct bounceinfo_recipient *rcpt;

	result = test_parse(bi,
		"From: MAILER-DAEMON@mail.example.net\n"
		"To: a@example.net\n"
		"Subject: Mail delivery failed: returning message to sender\n"
		"X-Failed-Recipients: kot@example.org, pies@example.com\n"
		"\n"
		"This message was created automatically by mail delivery "
		"software.\n"
		"\n"
		"A message that you sent could not be delivered to one or more "
		"of its\n"
		"recipients. This is a permanent error. The following "
		"address(es) failed:\n"
		"\n"
		"  kot@example.org\n"
		"    host mx.example.org [192.0.2.1]\n"
		"    SMTP error from remote mail server after RCPT "
		"TO:<kot@example.org>:\n"
		"    550 5.1.1 no such user\n"
		"  pies@example.com\n"
		"    host mx.example.com [192.0.2.2]\n"
		"    SMTP error from remote mail server after end of data:\n"
		"    550 5.7.1 no such user\n"
		"\n"
		"------ This is a copy of the message, including all the "
		"headers. ------\n"
		"\n"
		"Subject: hello\n");
	assert_non_null(result);
	assert_int_equal(result->kind, BOUNCEINFO_KIND_NDR);
	assert_int_equal(array_count(&result->recipients), 2);
	rcpt = test_rcpt(result, 0);
	assert_string_equal(rcpt->address, "kot@example.org");
	assert_string_equal(rcpt->smtp_command, "RCPT");
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	rcpt = test_rcpt(result, 1);
	assert_string_equal(rcpt->address, "pies@example.com");
	assert_string_equal(rcpt->smtp_command, "DATA");
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_FILTERED);
	pool_unref(&result->pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_styles),
		cmocka_unit_test(test_command_classification),
		cmocka_unit_test(test_command_per_recipient),
		cmocka_unit_test(test_command_searched),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
