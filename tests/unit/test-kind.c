/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Kind detection: dsn, ndr, delayed, delivery-report, autoreply,
   complaint, none; the header fast path; original message headers. */

#include "test-common.h"
#include "istream-concat.h"

#define DSN_HEADER \
	"Return-Path: <>\r\n" \
	"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n" \
	"To: sender@example.com\r\n" \
	"Subject: Undelivered Mail Returned to Sender\r\n" \
	"MIME-Version: 1.0\r\n" \
	"Content-Type: multipart/report; report-type=delivery-status;\r\n" \
	"\tboundary=\"BOUNDARY\"\r\n" \
	"\r\n"

static const char *dsn_message(const char *action, const char *status,
			       const char *diag)
{
	return t_strdup_printf(DSN_HEADER
		"--BOUNDARY\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"This is the mail system at host mx.example.org.\r\n\r\n"
		"--BOUNDARY\r\n"
		"Content-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; mx.example.org\r\n\r\n"
		"Final-Recipient: rfc822; user@example.net\r\n"
		"Action: %s\r\n"
		"Status: %s\r\n"
		"Diagnostic-Code: smtp; %s\r\n\r\n"
		"--BOUNDARY\r\n"
		"Content-Type: message/rfc822\r\n\r\n"
		"Message-ID: <orig-1@example.com>\r\n"
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
		"From: sender@example.com\r\n"
		"To: user@example.net\r\n"
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"
		"Hello\r\n"
		"--BOUNDARY--\r\n", action, status, diag);
}

static void test_kind_dsn(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	r = test_parse(bi, dsn_message("failed", "5.1.1",
		"550 5.1.1 <user@example.net>: Recipient address rejected: "
		"User unknown in local recipient table"));
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DSN);
	assert_string_equal(r->reporting_mta, "mx.example.org");
	assert_string_equal(r->mta, "postfix");
	rcpt = test_rcpt(r, 0);
	assert_non_null(rcpt);
	assert_string_equal(rcpt->address, "user@example.net");
	assert_string_equal(rcpt->action, "failed");
	assert_string_equal(rcpt->status, "5.1.1");
	assert_int_equal(rcpt->reply_code, 550);
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(rcpt->severity, BOUNCEINFO_SEVERITY_HARD);
	/* original message headers, RFC 2047 decoded */
	assert_string_equal(r->original.message_id, "<orig-1@example.com>");
	assert_string_equal(r->original.subject, "Grüße");
	assert_string_equal(r->original.to, "user@example.net");
	pool_unref(&r->pool);
}

static void test_kind_delayed(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	r = test_parse(bi, dsn_message("delayed", "4.4.1",
		"connect to mx.example.net[192.0.2.1]:25: Connection timed out"));
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DELAYED);
	assert_true(bounceinfo_kind_is_bounce(r->kind));
	assert_int_equal(test_rcpt(r, 0)->severity, BOUNCEINFO_SEVERITY_SOFT);
	pool_unref(&r->pool);
}

static void test_kind_delayed_text(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	/* Sendmail's text warning: no DSN part, nothing failed yet */
	r = test_parse(bi,
		"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\n"
		"To: sender@example.com\n"
		"Subject: Warning: could not send message for past 4 hours\n"
		"\n"
		"    **      THIS IS A WARNING MESSAGE ONLY      **\n"
		"    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n\n"
		"   ----- Transcript of session follows -----\n"
		"<kot@example.net>... Deferred: Connection timed out with "
		"mx.example.net.\n"
		"Warning: message still undelivered after 4 hours\n"
		"Will keep trying until message is 5 days old\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DELAYED);
	assert_string_equal(test_rcpt(r, 0)->address, "kot@example.net");
	assert_string_equal(test_rcpt(r, 0)->action, "delayed");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_EXPIRED);
	pool_unref(&r->pool);
}

static void test_kind_delivery_report(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	r = test_parse(bi, dsn_message("relayed", "2.0.0", "250 2.0.0 Ok"));
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DELIVERY_REPORT);
	assert_int_equal(test_rcpt(r, 0)->class_,
			 BOUNCEINFO_CLASS_DELIVERY_REPORT);
	assert_int_equal(test_rcpt(r, 0)->severity, BOUNCEINFO_SEVERITY_NONE);
	pool_unref(&r->pool);
}

static void test_kind_ndr_qmail_polish(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	/* the bilingual qmail bounce of Polish hosting providers */
	r = test_parse(bi,
		"Return-Path: <>\n"
		"From: MAILER-DAEMON@poczta.example.pl\n"
		"To: nadawca@example.com\n"
		"Subject: failure notice\n"
		"\n"
		"Hi. This is the qmail-send program at poczta.example.pl.\n"
		"I'm afraid I wasn't able to deliver your message to the "
		"following addresses.\n"
		"This is a permanent error; I've given up. Sorry it didn't "
		"work out.\n"
		"\n"
		"<jan.kowalski@example.pl>:\n"
		"192.0.2.5 does not like recipient.\n"
		"Remote host said: 552 5.1.1 5.2.2 sorry, final recipient "
		"mailbox is full (chkuser)\n"
		"Zdalny host odpowiedzial: 552 5.1.1 5.2.2 sorry, final "
		"recipient mailbox is full (chkuser)\n"
		"Giving up on 192.0.2.5.\n"
		"\n"
		"--- Below this line is a copy of the message.\n"
		"\n"
		"Message-ID: <abc@example.com>\n"
		"Subject: Faktura\n"
		"From: nadawca@example.com\n"
		"\n"
		"Tresc\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	assert_string_equal(r->mta, "qmail");
	assert_int_equal(array_count(&r->recipients), 1);
	rcpt = test_rcpt(r, 0);
	assert_string_equal(rcpt->address, "jan.kowalski@example.pl");
	assert_int_equal(rcpt->reply_code, 552);
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_QUOTA);
	/* 552 with "5.1.1 5.2.2": the mailbox is full */
	assert_string_equal(rcpt->status, "5.2.2");
	/* "192.0.2.5 does not like recipient." names the server */
	assert_string_equal(rcpt->remote_mta, "192.0.2.5");
	assert_string_equal(r->original.message_id, "<abc@example.com>");
	assert_string_equal(r->original.subject, "Faktura");
	pool_unref(&r->pool);
}

/* Exim's bounce up to its list of failed addresses */
#define EXIM_NDR_HEAD(failed) \
	"From: Mail Delivery System <Mailer-Daemon@mail.example.org>\n" \
	"To: sender@example.com\n" \
	"Subject: Mail delivery failed: returning message to sender\n" \
	"X-Failed-Recipients: " failed "\n" \
	"Auto-Submitted: auto-replied\n" \
	"\n" \
	"This message was created automatically by mail delivery " \
	"software.\n\n" \
	"A message that you sent could not be delivered to one or more " \
	"of its\nrecipients. This is a permanent error. The following " \
	"address(es) failed:\n\n"

static void test_kind_ndr_exim(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	r = test_parse(bi,
		EXIM_NDR_HEAD("a@example.net, b@example.net")
		"  a@example.net\n"
		"    host mx.example.net [192.0.2.1]\n"
		"    SMTP error from remote mail server after RCPT TO:<a@example.net>:\n"
		"    550 5.1.1 <a@example.net>: Recipient address rejected: "
		"User unknown\n"
		"  b@example.net\n"
		"    host mx.example.net [192.0.2.1]\n"
		"    SMTP error from remote mail server after end of data:\n"
		"    552 5.3.4 Message size exceeds fixed maximum message size\n"
		"\n"
		"------ This is a copy of the message, including all the "
		"headers. ------\n"
		"Message-Id: <m1@example.com>\n"
		"Subject: big\n\nbody\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	assert_string_equal(r->mta, "exim");
	assert_int_equal(array_count(&r->recipients), 2);
	rcpt = test_rcpt(r, 0);
	assert_string_equal(rcpt->address, "a@example.net");
	assert_string_equal(rcpt->smtp_command, "RCPT");
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	rcpt = test_rcpt(r, 1);
	assert_string_equal(rcpt->address, "b@example.net");
	assert_string_equal(rcpt->status, "5.3.4");
	assert_string_equal(rcpt->smtp_command, "DATA");
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_SIZE);
	pool_unref(&r->pool);
}

static void test_kind_ndr_exchange_polish(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	/* a localized Exchange / Office 365 NDR without a DSN part */
	r = test_parse(bi,
		"From: Microsoft Outlook <postmaster@firma.example.pl>\n"
		"To: nadawca@example.com\n"
		"Subject: =?UTF-8?Q?Niedostarczalne:_Faktura?=\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"Dostarczenie do tych adresatów lub grup nie powiodło się:\n"
		"\n"
		"jan@example.pl\n"
		"Nie można odnaleźć wprowadzonego adresu e-mail. Sprawdź adres "
		"e-mail adresata i spróbuj ponownie wysłać wiadomość.\n"
		"\n"
		"Informacje diagnostyczne dla administratorów:\n"
		"\n"
		"Serwer generujący: mx.firma.example.pl\n"
		"\n"
		"jan@example.pl\n"
		"Serwer zdalny zwrócił komunikat "
		"'550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	assert_string_equal(r->mta, "exchange");
	assert_int_equal(array_count(&r->recipients), 1);
	rcpt = test_rcpt(r, 0);
	assert_string_equal(rcpt->address, "jan@example.pl");
	assert_string_equal(rcpt->status, "5.1.1");
	assert_int_equal(rcpt->reply_code, 550);
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(rcpt->severity, BOUNCEINFO_SEVERITY_HARD);
	pool_unref(&r->pool);
}

static void test_kind_autoreply(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	r = test_parse(bi,
		"From: Anna <anna@example.org>\n"
		"To: sender@example.com\n"
		"Subject: Automatic reply: Meeting\n"
		"Auto-Submitted: auto-replied\n"
		"\n"
		"I am out of the office until Monday.\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_AUTOREPLY);
	assert_int_equal(array_count(&r->recipients), 1);
	assert_string_equal(test_rcpt(r, 0)->address, "anna@example.org");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_AUTOREPLY);
	assert_int_equal(test_rcpt(r, 0)->severity, BOUNCEINFO_SEVERITY_NONE);
	pool_unref(&r->pool);
}

static void test_kind_complaint(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	r = test_parse(bi,
		"From: abuse@isp.example\n"
		"To: fbl@example.com\n"
		"Subject: FW: spam\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=feedback-report; "
		"boundary=\"B\"\n"
		"\n"
		"--B\n"
		"Content-Type: text/plain\n\n"
		"This is an email abuse report.\n"
		"--B\n"
		"Content-Type: message/feedback-report\n\n"
		"Feedback-Type: abuse\n"
		"User-Agent: Example-FBL/1.0\n"
		"Version: 1\n"
		"Original-Rcpt-To: victim@isp.example\n"
		"\n"
		"--B\n"
		"Content-Type: message/rfc822\n\n"
		"From: news@example.com\nTo: victim@isp.example\n"
		"Subject: Offer\n\nBuy\n"
		"--B--\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_COMPLAINT);
	assert_int_equal(array_count(&r->recipients), 1);
	assert_string_equal(test_rcpt(r, 0)->address, "victim@isp.example");
	assert_string_equal(test_rcpt(r, 0)->diagnostic, "abuse");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_COMPLAINT);
	pool_unref(&r->pool);
}

static void test_kind_ses_json(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	/* an Amazon SES bounce notification, escaped inside an SNS message */
	r = test_parse(bi,
		"From: SES <no-reply@sns.amazonaws.com>\n"
		"Subject: AWS Notification Message\n"
		"X-SES-Outgoing: 2016.10.21-54.240.27.84\n"
		"\n"
		"{\"Type\" : \"Notification\", \"Message\" : "
		"\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"bounce\\\":"
		"{\\\"bouncedRecipients\\\":[{\\\"emailAddress\\\":"
		"\\\"kot@example.net\\\",\\\"action\\\":\\\"failed\\\","
		"\\\"status\\\":\\\"5.2.2\\\",\\\"diagnosticCode\\\":"
		"\\\"smtp; 552 5.2.2 Mailbox full\\\"}]}}\"}\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	assert_string_equal(r->mta, "amazonses");
	assert_int_equal(array_count(&r->recipients), 1);
	assert_string_equal(test_rcpt(r, 0)->address, "kot@example.net");
	assert_string_equal(test_rcpt(r, 0)->status, "5.2.2");
	assert_string_equal(test_rcpt(r, 0)->diagnostic, "552 5.2.2 Mailbox full");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_QUOTA);
	pool_unref(&r->pool);
}

static void test_kind_other_complaints(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	/* Hotmail's JMRP: the complainer in a header, the message attached */
	r = test_parse(bi,
		"From: staff@hotmail.com\n"
		"To: fbl@example.com\n"
		"Subject: complaint about message from 192.0.2.1\n"
		"X-HmXmrOriginalRecipient: <victim@hotmail.com>\n"
		"Content-Type: message/rfc822\n\n"
		"From: news@example.com\nTo: victim@hotmail.com\n"
		"Subject: Offer\nMessage-ID: <offer-1@example.com>\n\nBuy\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_COMPLAINT);
	assert_string_equal(test_rcpt(r, 0)->address, "victim@hotmail.com");
	assert_string_equal(r->original.message_id, "<offer-1@example.com>");
	pool_unref(&r->pool);

	/* Amazon SES complaint notification */
	r = test_parse(bi,
		"From: SES <no-reply@sns.amazonaws.com>\n"
		"Subject: AWS Notification Message\n\n"
		"{\"notificationType\":\"Complaint\",\"complaint\":"
		"{\"complainedRecipients\":[{\"emailAddress\":"
		"\"victim@example.net\"}],\"complaintFeedbackType\":"
		"\"abuse\"}}\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_COMPLAINT);
	assert_string_equal(test_rcpt(r, 0)->address, "victim@example.net");
	assert_int_equal(test_rcpt(r, 0)->class_, BOUNCEINFO_CLASS_COMPLAINT);
	assert_string_equal(r->mta, "amazonses");
	pool_unref(&r->pool);
}

static void test_kind_none(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;

	r = test_parse(bi,
		"From: Alice <alice@example.com>\n"
		"To: bob@example.org\n"
		"Subject: Lunch\n"
		"\n"
		"bob@example.org: 550 user unknown, just kidding\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NONE);
	assert_int_equal(array_count(&r->recipients), 0);
	assert_null(bounceinfo_result_first_recipient(r));
	/* decided by the header alone: the result lives in the caller's
	   pool, with no format */
	assert_null(r->format);
	assert_null(r->mta);
	assert_false(r->truncated);
	/* (the header pass's own pool is gone: this must be usable) */
	array_append_zero(&r->recipients);
	pool_unref(&r->pool);

	/* a "bounce" sender alone (newsletters) needs evidence in the text */
	r = test_parse(bi,
		"From: News <news@bounce.example.com>\n"
		"To: bob@example.org\n"
		"Subject: Our offers\n"
		"\n"
		"info@example.com: write to us\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NONE);
	pool_unref(&r->pool);
}

static enum bounceinfo_kind kind_of(struct bounceinfo *bi, const char *msg)
{
	struct bounceinfo_result *r = test_parse(bi, msg);
	enum bounceinfo_kind kind;

	assert_non_null(r);
	kind = r->kind;
	pool_unref(&r->pool);
	return kind;
}

#define ATTACHED_REPORT(from, subject) \
	"From: " from "\n" \
	"To: anna@example.org\n" \
	"Subject: " subject "\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/mixed; boundary=\"outer\"\n\n" \
	"--outer\nContent-Type: text/plain\n\nSee the attached message.\n" \
	"--outer\nContent-Type: message/rfc822\n\n" \
	"From: MAILER-DAEMON@mx.example.net\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status; " \
	"boundary=\"inner\"\n\n" \
	"--inner\nContent-Type: text/plain\n\nFailed.\n" \
	"--inner\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.net\n\n" \
	"Final-Recipient: rfc822; bob@example.com\n" \
	"Action: failed\nStatus: 5.1.1\n\n" \
	"--inner--\n--outer--\n"

/* Issue #9: a bounce needs structural evidence, not words or a null
   sender alone; a person's forward is their own mail */
static void test_kind_evidence(void **state)
{
	struct bounceinfo *bi = *state;

	/* a null sender and bounce words, nothing a mail system writes */
	assert_int_equal(kind_of(bi,
		"Return-Path: <>\n"
		"From: Tom <tom@example.net>\n"
		"Subject: about yesterday\n\n"
		"The message could not be delivered: 550 5.1.1 user unknown\n"),
		BOUNCEINFO_KIND_NONE);
	/* the same with a mail system's template: a bounce */
	assert_int_equal(kind_of(bi,
		"Return-Path: <>\n"
		"From: Tom <tom@example.net>\n"
		"Subject: about yesterday\n\n"
		"This is the mail system at host mx.example.net.\n\n"
		"<bob@example.com>: host mx.example.com[192.0.2.1] said: "
		"550 5.1.1 user unknown (in reply to RCPT TO command)\n"),
		BOUNCEINFO_KIND_NDR);
	/* a person's inline forward of a real bounce */
	assert_int_equal(kind_of(bi,
		"From: Tom <tom@example.net>\n"
		"Subject: WG: Unzustellbar: Angebot\n\n"
		"-------- Weitergeleitete Nachricht --------\n"
		"This is the mail system at host mx.example.net.\n\n"
		"<bob@example.com>: host mx.example.com[192.0.2.1] said: "
		"550 5.1.1 user unknown (in reply to RCPT TO command)\n"),
		BOUNCEINFO_KIND_NONE);
	/* a report attached by a person; wrapped by a mail system */
	assert_int_equal(kind_of(bi, ATTACHED_REPORT("Tom <tom@example.net>",
		"FW: Undelivered Mail Returned to Sender")),
		BOUNCEINFO_KIND_NONE);
	assert_int_equal(kind_of(bi, ATTACHED_REPORT(
		"Mail Delivery System <MAILER-DAEMON@gw.example.org>",
		"Returned mail: User unknown")), BOUNCEINFO_KIND_DSN);
	/* RFC 3834: auto-generated is no auto-reply, auto-replied is */
	assert_int_equal(kind_of(bi,
		"From: CI <ci@example.org>\n"
		"Auto-Submitted: auto-generated\n"
		"Subject: Build 12 failed\n\nThe build failed.\n"),
		BOUNCEINFO_KIND_NONE);
	assert_int_equal(kind_of(bi,
		"From: Eva <eva@example.org>\n"
		"Auto-Submitted: auto-replied\n"
		"Subject: Re: Build 12 failed\n\nI am away.\n"),
		BOUNCEINFO_KIND_AUTOREPLY);
	/* a person's subject mentioning a vacation */
	assert_int_equal(kind_of(bi,
		"From: Tom <tom@example.net>\n"
		"Subject: Vacation photos\n\nHere they are.\n"),
		BOUNCEINFO_KIND_NONE);
	assert_int_equal(kind_of(bi,
		"From: Tom <tom@example.net>\n"
		"Subject: Automatische Antwort: Angebot\n\nIch bin weg.\n"),
		BOUNCEINFO_KIND_AUTOREPLY);
	/* a quota warning from the user's own server */
	assert_int_equal(kind_of(bi,
		"From: Mail System <postmaster@example.org>\n"
		"Auto-Submitted: auto-generated\n"
		"Subject: Ostrzezenie: skrzynka pelna w 92%\n\n"
		"Gdy skrzynka sie zapelni, nowe wiadomosci nie zostana "
		"dostarczone.\n"), BOUNCEINFO_KIND_NONE);
}

/* A text bounce names the server that answered: remote_mta */
static void test_kind_remote_mta(void **state)
{
	struct bounceinfo *bi = *state;
	static const struct {
		const char *line, *remote_mta;
	} tests[] = {
		{ "<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 "
		  "5.1.1 user unknown (in reply to RCPT TO command)",
		  "mx.example.com" },
		{ "... while talking to mx.example.com.:\n>>> RCPT "
		  "To:<bob@example.com>\n<<< 550 5.1.1 user unknown",
		  "mx.example.com" },
		{ "<bob@example.com>:\n192.0.2.9 does not like recipient.\n"
		  "Remote host said: 550 5.1.1 no such user", "192.0.2.9" },
		{ "<bob@example.com>: 550 5.1.1 user unknown", NULL },
	};

	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		struct bounceinfo_result *r = test_parse(bi, t_strdup_printf(
			"Return-Path: <>\n"
			"From: MAILER-DAEMON@mx.example.org\n"
			"Subject: Undelivered Mail Returned to Sender\n\n"
			"This is the mail system at host mx.example.org.\n\n"
			"%s\n", tests[i].line));
		const struct bounceinfo_recipient *rcpt;

		assert_non_null(r);
		assert_int_equal(array_count(&r->recipients), 1);
		rcpt = test_rcpt(r, 0);
		if (tests[i].remote_mta == NULL)
			assert_null(rcpt->remote_mta);
		else {
			assert_non_null(rcpt->remote_mta);
			assert_string_equal(rcpt->remote_mta,
					    tests[i].remote_mta);
		}
		pool_unref(&r->pool);
	}
}

/* rules/signs/<name>.signs: a language is data; errors name file and
   line; without rules/signs/ bounces are known by structure alone */
static void test_kind_signs_files(void **state)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *dir, *error;
	const char *msg =
		"From: Poczta <poczta@example.pl>\n"
		"Subject: Automatyczna odpowiedz: faktura\n\nJestem na urlopie.\n";

	(void)state;
	dir = test_mkdatadir("");
	i_zero(&set);
	set.datadir = dir;
	/* no rules/signs/: the words mean nothing */
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);
	assert_int_equal(kind_of(bi, msg), BOUNCEINFO_KIND_NONE);
	/* and structure still makes a bounce */
	assert_int_equal(kind_of(bi, dsn_message("failed", "5.1.1",
		"550 5.1.1 user unknown")), BOUNCEINFO_KIND_DSN);
	bounceinfo_deinit(&bi);

	/* a language added as a file, no C */
	assert_int_equal(mkdir(t_strconcat(dir, "/rules/signs", NULL), 0700),
			 0);
	test_write_file(t_strconcat(dir, "/rules/signs/xx.signs", NULL),
			"# test language\n"
			"autoreply-subject\tautomatyczna odpowied.\n"
			"hint-subject automatyczna\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);
	assert_int_equal(kind_of(bi, msg), BOUNCEINFO_KIND_AUTOREPLY);
	bounceinfo_deinit(&bi);

	test_write_file(t_strconcat(dir, "/rules/signs/xx.signs", NULL),
			"\nsubjekt niedostarczalne\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "rules/signs/xx.signs:2: unknown key "
			       "'subjekt'"));
	test_write_file(t_strconcat(dir, "/rules/signs/xx.signs", NULL),
			"text (unclosed\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "rules/signs/xx.signs:1: pcre2 error"));
	test_write_file(t_strconcat(dir, "/rules/signs/xx.signs", NULL),
			"layout\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "rules/signs/xx.signs:1: expected"));
	test_rmtree(dir);
}

/* Parsing hdr followed by a body that fails to read fails: the body was
   read */
static bool body_is_read(struct bounceinfo *bi, pool_t pool, const char *hdr)
{
	struct istream *inputs[3], *input;
	struct bounceinfo_result *result;
	const char *error;
	int ret;

	inputs[0] = i_stream_create_from_data(hdr, strlen(hdr));
	inputs[1] = i_stream_create_error_str(EIO, "read error");
	inputs[2] = NULL;
	input = i_stream_create_concat(inputs);
	i_stream_unref(&inputs[0]);
	i_stream_unref(&inputs[1]);
	ret = bounceinfo_parse(bi, input, pool, &result, &error);
	i_stream_unref(&input);
	return ret < 0 && strstr(error, "read error") != NULL;
}

static void test_kind_header_fast_path(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *result;
	struct istream *inputs[3], *input;
	const char *error;
	const char *hdr = "From: alice@example.com\nTo: bob@example.org\n"
		"Subject: Hello\n\n";
	pool_t pool = pool_alloconly_create("test", 1024);

	/* the body fails to read: if it were read, parsing would fail */
	inputs[0] = i_stream_create_from_data(hdr, strlen(hdr));
	inputs[1] = i_stream_create_error_str(EIO, "body must not be read");
	inputs[2] = NULL;
	input = i_stream_create_concat(inputs);
	i_stream_unref(&inputs[0]);
	i_stream_unref(&inputs[1]);
	assert_int_equal(bounceinfo_parse(bi, input, pool, &result, &error), 0);
	assert_int_equal(result->kind, BOUNCEINFO_KIND_NONE);
	i_stream_unref(&input);

	/* the same with a bounce header does read the body */
	assert_true(body_is_read(bi, pool,
		"From: MAILER-DAEMON@example.org\nTo: bob@example.org\n"
		"Subject: Undelivered Mail\n\n"));
	/* a bounce read in one block or with its header alone in the
	   first (the parser then asks for more past the blank line): the
	   same result */
	static const char bounce_hdr[] =
		"From: MAILER-DAEMON@example.org\nTo: bob@example.org\n"
		"Subject: Undelivered Mail Returned to Sender\n\n";
	static const char bounce_body[] =
		"This is the mail system at host mx.example.org.\n\n"
		"<kot@example.net>: host mx.example.net[192.0.2.1] said: 550 "
		"5.1.1 <kot@example.net>: Recipient address rejected: User "
		"unknown (in reply to RCPT TO command)\n";
	const char *whole = t_strconcat(bounce_hdr, bounce_body, NULL);
	struct bounceinfo_result *r1, *r2;

	input = i_stream_create_from_data(whole, strlen(whole));
	assert_int_equal(bounceinfo_parse(bi, input, pool, &r1, &error), 0);
	i_stream_unref(&input);
	inputs[0] = i_stream_create_from_data(bounce_hdr,
					      sizeof(bounce_hdr) - 1);
	inputs[1] = i_stream_create_from_data(bounce_body,
					      sizeof(bounce_body) - 1);
	inputs[2] = NULL;
	input = i_stream_create_concat(inputs);
	i_stream_unref(&inputs[0]);
	i_stream_unref(&inputs[1]);
	assert_int_equal(bounceinfo_parse(bi, input, pool, &r2, &error), 0);
	i_stream_unref(&input);
	assert_int_equal(r1->kind, BOUNCEINFO_KIND_NDR);
	assert_int_equal(r2->kind, r1->kind);
	assert_int_equal(array_count(&r1->recipients), 1);
	assert_int_equal(array_count(&r2->recipients), 1);
	assert_string_equal(test_rcpt(r2, 0)->address, "kot@example.net");
	assert_int_equal(test_rcpt(r1, 0)->class_,
			 BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(test_rcpt(r2, 0)->class_, test_rcpt(r1, 0)->class_);
	assert_string_equal(test_rcpt(r2, 0)->smtp_command, "RCPT");

	/* a subject sign from rules/signs/de.signs alone reads the body too */
	assert_true(body_is_read(bi, pool,
		"From: post@example.de\nTo: bob@example.org\n"
		"Subject: Unzustellbar: Angebot\n\n"));
	pool_unref(&pool);
}

/* issue #14, defect 4: a lone CR in NDR text separates words (it used to
   be deleted: "No such userX-Injected") */
static void test_kind_ndr_lone_cr(void **state)
{
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	r = test_parse(bi,
		EXIM_NDR_HEAD("a@example.net")
		"  a@example.net\n"
		"    SMTP error from remote mail server after RCPT TO:<a@example.net>:\n"
		"    550 5.1.1 No such user\rX-Injected: yes\n");
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	rcpt = test_rcpt(r, 0);
	assert_non_null(rcpt);
	assert_non_null(rcpt->diagnostic);
	assert_null(strstr(rcpt->diagnostic, "userX-Injected"));
	assert_non_null(strstr(rcpt->diagnostic, "No such user X-Injected"));
	assert_null(strchr(rcpt->diagnostic, '\r'));
	pool_unref(&r->pool);
}

/* issue #14, defect 7: Action is one of RFC 3464's five values or NULL,
   never free text (a folded "Action:" used to carry a TAB into it) */
static void test_kind_action_closed_set(void **state)
{
	static const struct {
		const char *field, *action;
	} cases[] = {
		{ "failed", "failed" },
		{ "Failed (bad destination mailbox address)", "failed" },
		{ "failure", "failed" },
		{ "DELAYED; will retry", "delayed" },
		{ "delivered", "delivered" },
		{ "relayed", "relayed" },
		{ "expanded", "expanded" },
		{ "ail agent v0.13);\twed, 12 jun 2024", NULL },
		{ "bounced", NULL },
		{ "failedsomething", NULL },
		{ "", NULL },
	};
	struct bounceinfo *bi = *state;
	struct bounceinfo_result *r;
	const struct bounceinfo_recipient *rcpt;

	for (unsigned int i = 0; i < N_ELEMENTS(cases); i++) {
		const char *got = bounceinfo_action_canonical(cases[i].field);
		if (cases[i].action == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].action);
	}
	assert_null(bounceinfo_action_canonical(NULL));

	/* through a whole DSN: the folded Action line with a TAB */
	r = test_parse(bi, dsn_message("mail agent v0.13);\n\twed, 12 jun 2024",
				       "5.1.1", "550 5.1.1 User unknown"));
	assert_non_null(r);
	rcpt = test_rcpt(r, 0);
	assert_non_null(rcpt);
	assert_null(rcpt->action);
	/* a recipient without a known action still counts as failed */
	assert_int_equal(r->kind, BOUNCEINFO_KIND_DSN);
	pool_unref(&r->pool);
}

/* issue #14, defect 6: every caller reads the same bounded start of a
   message: a stream and the same bytes in memory give the same result,
   also when the top-level header holds a line longer than the limit
   (the mail plugin said "not a bounce", the CLI "ndr") */
static void test_kind_bounded_read_same_result(void **state)
{
	struct bounceinfo *bi = *state;
	size_t limit = bounceinfo_get_read_limit(bi);
	string_t *msg = t_str_new(6 * 1024 * 1024);
	struct bounceinfo_result *r1, *r2;
	struct istream *input;
	const char *error;
	pool_t pool = pool_alloconly_create("test", 4096);

	assert_true(limit >= 64 * 1024);
	str_append(msg, "From: Mail Delivery System <MAILER-DAEMON@example.org>\n"
		   "To: sender@example.com\n"
		   "Subject: Undelivered Mail Returned to Sender\n"
		   "X-Long: ");
	for (unsigned int i = 0; i < 5 * 1024 * 1024 / 64; i++)
		str_append(msg, "0123456789abcdef0123456789abcdef"
			   "0123456789abcdef0123456789abcdef");
	str_append(msg, "\n\nI'm sorry to have to inform you that your message "
		   "could not be delivered.\n\n<user@example.net>: host "
		   "mx.example.net said: 550 5.1.1 No such user\n");
	assert_true(str_len(msg) > limit);

	assert_int_equal(bounceinfo_parse_data(bi, str_data(msg),
					       str_len(msg), pool, &r1,
					       &error), 0);
	/* a stream handing out small blocks, as a mail stream does */
	input = i_stream_create_from_data(str_data(msg), str_len(msg));
	i_stream_set_max_buffer_size(input, 4096);
	assert_int_equal(bounceinfo_parse(bi, input, pool, &r2, &error), 0);
	i_stream_unref(&input);
	assert_int_equal(r1->kind, r2->kind);
	assert_int_equal(array_count(&r1->recipients),
			 array_count(&r2->recipients));
	/* the huge line is cut, so the bounce behind it is still seen */
	assert_int_equal(r1->kind, BOUNCEINFO_KIND_NDR);
	assert_int_equal(array_count(&r1->recipients), 1);
	assert_int_equal(test_rcpt(r2, 0)->class_,
			 BOUNCEINFO_CLASS_USER_UNKNOWN);
	pool_unref(&pool);
}

static void test_kind_recipient_cap(void **state)
{
	struct bounceinfo *bi;
	struct bounceinfo_settings set;
	struct bounceinfo_result *r;
	const char *error;
	string_t *msg = t_str_new(65536);

	(void)state;
	i_zero(&set);
	set.datadir = BOUNCEINFO_TEST_DATADIR;
	set.max_recipients = 10;
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);

	str_append(msg, "Return-Path: <>\nFrom: MAILER-DAEMON@example.org\n"
		   "Subject: failure notice\n\n"
		   "I'm afraid I wasn't able to deliver your message.\n\n");
	for (unsigned int i = 0; i < 2000; i++)
		str_printfa(msg, "<u%u@example.net>:\n550 No such user\n\n", i);
	r = test_parse(bi, str_c(msg));
	assert_non_null(r);
	assert_int_equal(r->kind, BOUNCEINFO_KIND_NDR);
	assert_int_equal(array_count(&r->recipients), 10);
	assert_true(r->truncated);
	pool_unref(&r->pool);
	bounceinfo_deinit(&bi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_dsn),
		cmocka_unit_test(test_kind_delayed),
		cmocka_unit_test(test_kind_delayed_text),
		cmocka_unit_test(test_kind_delivery_report),
		cmocka_unit_test(test_kind_ndr_qmail_polish),
		cmocka_unit_test(test_kind_ndr_exim),
		cmocka_unit_test(test_kind_ndr_exchange_polish),
		cmocka_unit_test(test_kind_autoreply),
		cmocka_unit_test(test_kind_complaint),
		cmocka_unit_test(test_kind_ses_json),
		cmocka_unit_test(test_kind_other_complaints),
		cmocka_unit_test(test_kind_none),
		cmocka_unit_test(test_kind_evidence),
		cmocka_unit_test(test_kind_signs_files),
		cmocka_unit_test(test_kind_remote_mta),
		cmocka_unit_test(test_kind_header_fast_path),
		cmocka_unit_test(test_kind_recipient_cap),
		cmocka_unit_test(test_kind_ndr_lone_cr),
		cmocka_unit_test(test_kind_action_closed_set),
		cmocka_unit_test(test_kind_bounded_read_same_result),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
