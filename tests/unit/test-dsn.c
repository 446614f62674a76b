/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* message/delivery-status parsing: per-message and per-recipient fields,
   folding, encoded words, broken separators, base64 parts, text/rfc822-
   headers originals, caps on field lengths. */

#include "test-common.h"

static struct bounceinfo_result *
parse_dsn(struct bounceinfo *bi, const char *cte, const char *dsn_body,
	  const char *orig_type, const char *orig)
{
	return test_parse(bi, t_strdup_printf(
		"From: MAILER-DAEMON@mx.example.org\n"
		"To: sender@example.com\n"
		"Subject: Delivery Status Notification (Failure)\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=delivery-status; "
		"boundary=\"XX\"\n\n"
		"--XX\nContent-Type: text/plain\n\nDelivery failed.\n"
		"--XX\nContent-Type: message/delivery-status\n%s\n%s\n"
		"--XX\nContent-Type: %s\n\n%s\n"
		"--XX--\n", cte, dsn_body, orig_type, orig));
}

static void test_dsn_fields_and_folding(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	r = parse_dsn(bi, "",
		"Reporting-MTA: dns; mx.example.org\n"
		"Arrival-Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
		"\n"
		"Original-Recipient: rfc822;First.User@Example.NET\n"
		"Final-Recipient: rfc822; first@Example.NET\n"
		"Action: failed\n"
		"Status: 5.2.2 (mailbox full)\n"
		"Remote-MTA: dns; mx1.example.net\n"
		"Diagnostic-Code: smtp; 552-5.2.2 The email account that you\n"
		"  tried to reach is over quota.\n"
		"\n"
		"Final-Recipient: rfc822; second@example.net\n"
		"Action: Failed\n"
		"Status: 5.1.1\n"
		"Diagnostic-Code: smtp; =?UTF-8?B?NTUwIDUuMS4xIFXFvHl0a293bmlr?=\n"
		" =?UTF-8?B?IG5pZSBpc3RuaWVqZQ==?=\n",
		"text/rfc822-headers",
		"Message-ID: <x@example.com>\nSubject: Hi\nTo: first@example.net\n"
		"Date: Mon, 1 Jan 2024 09:59:00 +0000\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DSN);
	assert_string_equal(r->reporting_mta, "mx.example.org");
	assert_string_equal(r->arrival_date, "Mon, 1 Jan 2024 10:00:00 +0000");
	assert_int_equal(array_count(&r->recipients), 2);

	rcpt = test_rcpt(r, 0);
	/* domain lowercased, local part kept */
	assert_string_equal(rcpt->address, "first@example.net");
	assert_string_equal(rcpt->original_address, "First.User@example.net");
	assert_string_equal(rcpt->action, "failed");
	assert_string_equal(rcpt->status, "5.2.2");
	assert_string_equal(rcpt->remote_mta, "mx1.example.net");
	/* folded Diagnostic-Code unfolded into one line */
	assert_string_equal(rcpt->diagnostic, "552-5.2.2 The email account that "
			    "you tried to reach is over quota.");
	assert_int_equal(rcpt->reply_code, 552);
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_QUOTA);
	assert_int_equal(rcpt->severity, BOUNCEINFO_SEVERITY_SOFT);

	rcpt = test_rcpt(r, 1);
	assert_string_equal(rcpt->address, "second@example.net");
	assert_string_equal(rcpt->action, "failed");
	/* encoded words decoded (not allowed by RFC 3464, sent anyway) */
	assert_string_equal(rcpt->diagnostic,
			    "550 5.1.1 Użytkownik nie istnieje");
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(rcpt->severity, BOUNCEINFO_SEVERITY_HARD);

	/* text/rfc822-headers part */
	assert_string_equal(r->original.message_id, "<x@example.com>");
	assert_string_equal(r->original.subject, "Hi");
	assert_string_equal(r->original.date, "Mon, 1 Jan 2024 09:59:00 +0000");
	pool_unref(&r->pool);
}

static void test_dsn_base64_and_missing_separator(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	/* "Final-Recipient: rfc822; a@example.net\nAction: failed\n
	    Status: 5.7.26\nFinal-Recipient: rfc822; b@example.net\n
	    Action: delayed\nStatus: 4.4.7\n" - two recipients without the
	   empty line between them */
	const char *b64 =
		"RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAZXhhbXBsZS5uZXQKQWN0aW9u\n"
		"OiBmYWlsZWQKU3RhdHVzOiA1LjcuMjYKRmluYWwtUmVjaXBpZW50OiByZmM4\n"
		"MjI7IGJAZXhhbXBsZS5uZXQKQWN0aW9uOiBkZWxheWVkClN0YXR1czogNC40\n"
		"LjcK\n";

	r = parse_dsn(bi, "Content-Transfer-Encoding: base64\n", b64,
		      "text/plain", "-");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DSN);
	assert_int_equal(array_count(&r->recipients), 2);
	assert_string_equal(test_rcpt(r, 0)->address, "a@example.net");
	assert_string_equal(test_rcpt(r, 0)->status, "5.7.26");
	/* 5.7.26 (DMARC) is a strong status code */
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_AUTH);
	assert_string_equal(test_rcpt(r, 1)->address, "b@example.net");
	assert_string_equal(test_rcpt(r, 1)->action, "delayed");
	assert_string_equal(bounceinfo_result_first_recipient(r)->address,
			    "a@example.net");
	pool_unref(&r->pool);
}

static void test_dsn_status_comment_and_text(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	/* no Diagnostic-Code: the Status comment is the diagnostic */
	r = parse_dsn(bi, "",
		"Reporting-MTA: dns; mx.example.org\n\n"
		"Final-Recipient: rfc822; c@example.net\n"
		"Action: failed\n"
		"Status: 5.0.0 (example.net: host name lookup failure)\n",
		"text/plain", "-");
	assert_non_null(r);
	assert_string_equal(test_rcpt(r, 0)->diagnostic,
			    "example.net: host name lookup failure");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_NETWORK);
	pool_unref(&r->pool);
}

static void test_dsn_limits(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	string_t *diag = t_str_new(8192);

	for (unsigned int i = 0; i < 500; i++)
		str_append(diag, "mailbox full ");
	str_append(diag, "\001\002\177");
	r = parse_dsn(bi, "", t_strdup_printf(
		"Final-Recipient: rfc822; d@example.net\nAction: failed\n"
		"Status: 5.2.2\nDiagnostic-Code: smtp; 552 %s\n", str_c(diag)),
		"text/plain", "-");
	assert_non_null(r);
	assert_true(strlen(test_rcpt(r, 0)->diagnostic) <=
		    BOUNCEINFO_MAX_DIAGNOSTIC_LEN);
	assert_null(strpbrk(test_rcpt(r, 0)->diagnostic, "\001\002\177\n"));
	pool_unref(&r->pool);
}

static void test_text_helpers(void **state)
{
	pool_t pool = pool_datastack_create();

	(void)state;
	assert_string_equal(bounceinfo_address_clean(pool,
		"rfc822; <Kot@Example.PL>"), "Kot@example.pl");
	assert_null(bounceinfo_address_clean(pool, "no address here"));
	assert_string_equal(bounceinfo_text_clean(pool, "  a\r\n\tb  ", 9, 100),
			    "a b");
	/* invalid UTF-8 is replaced, never passed on */
	const char *bad = "ok \xff\xfe end";
	const char *clean = bounceinfo_text_clean(pool, bad, strlen(bad), 100);
	assert_non_null(clean);
	assert_true(uni_utf8_str_is_valid(clean));
	/* C1 controls and U+2028/U+2029 are line breaks to some readers */
	const char *seps = "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d";
	clean = bounceinfo_text_clean(pool, seps, strlen(seps), 100);
	assert_string_equal(clean, "a b c d");
	/* cut at a character boundary */
	clean = bounceinfo_text_clean(pool, "ąąąą", strlen("ąąąą"), 3);
	assert_string_equal(clean, "ą");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsn_fields_and_folding),
		cmocka_unit_test(test_dsn_base64_and_missing_separator),
		cmocka_unit_test(test_dsn_status_comment_and_text),
		cmocka_unit_test(test_dsn_limits),
		cmocka_unit_test(test_text_helpers),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
