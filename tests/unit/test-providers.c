/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Provider tables (rules/providers/<provider>.rules): every shipped table
   has examples here, written from the provider's published error-code
   page, each delivered as a DSN whose Remote-MTA is the provider's
   server. Codes that mean something only for that provider must not
   decide the same text coming from another server. */

#include "test-common.h"

#include <dirent.h>

struct provider_example {
	const char *provider;	/* rules/providers/<provider>.rules */
	const char *remote_mta;
	const char *recipient;
	const char *status;
	const char *diagnostic;
	const char *class_name;
	/* the text means this class only for this provider */
	bool scoped_only;
	/* the notification part, when the mail system is recognised by
	   it (rules/mta.map); NULL: a neutral text */
	const char *notification;
	/* extra top-level header lines ("Name: value\r\n"), when the
	   mail system is recognised by its header (starting with "From:":
	   instead of the default sender); NULL: none */
	const char *headers;
};

static const struct provider_example examples[] = {
	{ "microsoft", "mail.protection.outlook.com", "anna@contoso.example",
	  "5.7.1", "550 5.7.1 Unfortunately, messages from [192.0.2.7] "
	  "weren't sent. Please contact your Internet service provider since "
	  "part of their network is on our block list (S3150).",
	  "blocklist", TRUE, NULL, NULL },
	{ "microsoft", "eur01.prod.protection.outlook.com", "anna@contoso.example",
	  "5.7.0", "550 5.7.0 Access denied, spam abuse detected. "
	  "AS(4810) [AM0PR01MB1234.eurprd01.prod.outlook.com]",
	  "sender-rejected", TRUE, NULL, NULL },
	{ "microsoft", "mx1.hotmail.com", "jan@hotmail.com", "4.7.0",
	  "451 4.7.0 The mail server [192.0.2.5] has been temporarily rate "
	  "limited due to IP reputation. (S775)", "reputation", TRUE,
	  NULL, NULL },
	{ "microsoft", "contoso-com.mail.protection.outlook.com",
	  "ola@contoso.example", "5.4.1", "550 5.4.1 Recipient address "
	  "rejected: Access denied. AS(201806281) [DB5EUR01FT001.eop-EUR01."
	  "prod.protection.outlook.com]", "user-unknown", TRUE, NULL, NULL },
	{ "microsoft", "eur02.prod.protection.outlook.com", "anna@contoso.example",
	  "5.7.0", "550 5.7.708 Service unavailable. Access denied, traffic "
	  "not accepted from this IP.", "rate-limit", TRUE, NULL, NULL },
	{ "microsoft", "contoso-com.mail.protection.outlook.com",
	  "ola@contoso.example", "5.7.0", "550 5.7.0 Access denied, "
	  "[contoso.example] does not accept email over IPv6", "blocklist",
	  TRUE, NULL, NULL },
	{ "microsoft", "mx4.hotmail.com", "jan@hotmail.com", "5.2.2",
	  "554 5.2.2 mailbox full; STOREDRV.Deliver: submission quota "
	  "exceeded", "rate-limit", TRUE, NULL, NULL },
	{ "google", "gmail-smtp-in.l.google.com", "kasia@gmail.com", "4.7.0",
	  "421-4.7.0 This message does not have authentication information "
	  "or fails to pass authentication checks (SPF or DKIM).", "auth",
	  FALSE, NULL, NULL },
	{ "google", "aspmx.l.google.com", "kasia@example.org", "4.2.1",
	  "450-4.2.1 The user you are trying to contact is receiving mail too "
	  "quickly.", "rate-limit", FALSE, NULL, NULL },
	{ "yahoo", "mta6.am0.yahoodns.net", "joe@yahoo.com", "5.7.9",
	  "554 5.7.9 Message not accepted for policy reasons. See "
	  "https://postmaster.yahooinc.com/error-codes", "policy", FALSE,
	  NULL, NULL },
	{ "yahoo", "mta5.am0.yahoodns.net", "joe@yahoo.com", "4.0.0",
	  "451 Message temporarily deferred due to unresolvable RFC.5321 from "
	  "domain", "sender-rejected", TRUE, NULL, NULL },
	{ "google", "gmail-smtp-in.l.google.com", "kasia@gmail.com", "4.7.28",
	  "421-4.7.28 Gmail has detected an unusual rate of mail originating "
	  "from your SPF domain", "blocklist", TRUE, NULL, NULL },
	{ "google", "aspmx.l.google.com", "kasia@example.org", "5.2.1",
	  "550-5.2.1 The email account that you tried to reach is inactive.",
	  "disabled", FALSE, NULL, NULL },
	{ "google", "gmail-smtp-in.l.google.com", "kasia@gmail.com", "5.7.1",
	  "550-5.7.1 This message is not RFC 5322 compliant. To reduce the "
	  "amount of spam sent to Gmail, this message has been blocked.",
	  "content", TRUE, NULL, NULL },
	{ "yahoo", "mta7.am0.yahoodns.net", "joe@yahoo.com", "4.7.0",
	  "421 4.7.0 [TSS04] Messages from 192.0.2.9 temporarily deferred "
	  "due to unexpected volume or user complaints - 4.16.55.1",
	  "sender-rejected", TRUE, NULL, NULL },
	{ "yahoo", "mx-aol.mail.gm0.yahoodns.net", "joe@aol.com", "5.0.0",
	  "554 delivery error: dd Sorry your message to joe@aol.com cannot "
	  "be delivered. This mailbox is disabled (554.30).", "disabled",
	  FALSE, NULL, NULL },
	{ "yahoo", "mx-aol.mail.gm0.yahoodns.net", "joe@aol.com", "4.0.0",
	  "421 DYN:T1 http://postmaster.info.aol.com/errors/421dynt1.html",
	  "blocklist", TRUE, NULL, NULL },
	{ "apple", "mx01.mail.icloud.com", "tim@icloud.com", "5.1.6",
	  "550 5.1.6 recipient no longer on server: tim@icloud.com",
	  "moved", FALSE, NULL, NULL },
	{ "apple", "mx02.mail.icloud.com", "tim@me.com", "5.7.1",
	  "554 5.7.1 [CS01] Message rejected due to local policy.",
	  "policy", TRUE, NULL, NULL },
	{ "cox", "cxr.mx.a.cloudfilter.net.cox.net", "ed@cox.net", "5.7.1",
	  "554 5.7.1 192.0.2.1 rejected - see https://www.cox.com/aup "
	  "AUP#CXBL", "blocklist", TRUE, NULL, NULL },
	{ "cox", "mx.east.cox.net", "ed@cox.net", "5.7.0",
	  "554 5.7.0 192.0.2.1 rejected - no rDNS AUP#CXDNS", "rdns", TRUE,
	  NULL, NULL },
	{ "spectrum", "mx.charter.net", "bo@charter.net", "5.7.1",
	  "554 5.7.1 Service unavailable; IP address has been blocked "
	  "AUP#I-1000", "blocklist", TRUE, NULL, NULL },
	{ "spectrum", "mx.charter.net", "bo@charter.net", "4.7.0",
	  "421 4.7.0 Too many concurrent connections AUP#I-1310",
	  "rate-limit", TRUE, NULL, NULL },
	{ "comcast", "mx1.comcast.net", "al@comcast.net", "5.0.0",
	  "554 resimta-po-01v.sys.comcast.net comcast 192.0.2.2 found on one "
	  "or more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes"
	  ".php#BL000001", "blocklist", TRUE, NULL, NULL },
	{ "comcast", "mx2.comcast.net", "al@comcast.net", "4.0.0",
	  "421 Too many sessions opened RL000001", "rate-limit", TRUE,
	  NULL, NULL },
	{ "godaddy", "p3plibsmtp01.prod.phx3.secureserver.net",
	  "li@example.biz", "5.0.0", "550 192.0.2.3 IB108 Sending IP does "
	  "not have valid rDNS", "rdns", TRUE, NULL, NULL },
	{ "godaddy", "p3plibsmtp02.prod.phx3.secureserver.net",
	  "li@example.biz", "5.0.0", "552 5.2.0 IB705 Virus infected message "
	  "rejected", "virus", FALSE, NULL, NULL },
	{ "mimecast", "us-smtp-inbound-1.mimecast.com", "pat@example.co.uk",
	  "5.0.0", "550 Administrative prohibition envelope blocked - "
	  "https://community.mimecast.com/docs/DOC-1369#550",
	  "sender-rejected", TRUE, NULL, NULL },
	{ "mimecast", "eu-smtp-inbound-2.mimecast.com", "pat@example.co.uk",
	  "5.0.0", "550 DMARC Sender Invalid - envelope rejected", "auth",
	  TRUE, NULL, NULL },
	{ "orange", "smtp-in.orange.fr", "luc@orange.fr", "5.0.0",
	  "550 5.5.0 Boite du destinataire pleine. Recipient mailbox full. "
	  "OFR_417", "quota", FALSE, NULL, NULL },
	{ "orange", "smtp-in.laposte.net", "luc@laposte.net", "4.0.0",
	  "421 mwinf5c79 ME Trop de connexions, veuillez verifier votre "
	  "configuration. Too many connections, slow down. LPN105_104",
	  "rate-limit", FALSE, NULL, NULL },
	{ "tencent", "mx3.qq.com", "wei@qq.com", "5.0.0",
	  "550 Connection frequency limited. http://service.mail.qq.com/cgi-"
	  "bin/help?subtype=1&&id=20022&&no=1000722", "rate-limit", TRUE,
	  NULL, NULL },
	{ "tencent", "mx3.qq.com", "wei@qq.com", "5.0.0",
	  "550 Mail is rejected by recipients "
	  "https://service.mail.qq.com/detail/122/92", "sender-rejected", TRUE,
	  NULL, NULL },
	{ "nttdocomo", "mfsmax.docomo.ne.jp", "hana@docomo.ne.jp", "5.0.0",
	  "552 too many recipients", "rate-limit", TRUE, NULL, NULL },
	{ "kddi", "lsean.ezweb.ne.jp", "ken@ezweb.ne.jp", "5.0.0",
	  "550 : User unknown", "filtered", TRUE, NULL, NULL },
	{ "iua", "mx.email.ua", "olha@i.ua", "5.0.0",
	  "550 Mailbox is frozen. See https://mail.i.ua/err/3/",
	  "disabled", FALSE, NULL, NULL },
	{ "iua", "mx.email.ua", "olha@i.ua", "5.0.0",
	  "550 Sorry, see https://mail.i.ua/err/10/", "filtered", TRUE,
	  NULL, NULL },
	{ "mailru", "mxs.mail.ru", "ivan@mail.ru", "5.0.0",
	  "550 spam message rejected. Please visit https://help.mail.ru/"
	  "notspam-support/id?c=0123 or report details to abuse@corp.mail.ru",
	  "spam", FALSE, NULL, NULL },
	{ "yandex", "mx.yandex.ru", "oleg@yandex.ru", "5.7.1",
	  "550 5.7.1 Policy rejection on the target address",
	  "filtered", TRUE, NULL, NULL },
	{ "gmx-webde", "mx00.emig.gmx.net", "uwe@gmx.de", "5.0.0",
	  "554-Transaction failed 554-Reject due to policy restrictions. 554 "
	  "For explanation visit https://postmaster.gmx.net/en/error-messages",
	  "policy", FALSE, NULL, NULL },
	{ "zoho", "mx.zoho.com", "ravi@zoho.com", "5.7.1",
	  "554 5.7.1 : Relaying disallowed", "relay", FALSE, NULL, NULL },
	{ "proofpoint", "mx0a-00123456.pphosted.com", "sam@example.com",
	  "5.0.0", "554 Blocked - see https://ipcheck.proofpoint.com/"
	  "?ip=192.0.2.8", "blocklist", FALSE, NULL, NULL },
	{ "barracuda", "d12345a.ess.barracudanetworks.com", "kim@example.com",
	  "5.7.1", "554 Service unavailable; Client host [192.0.2.4] blocked "
	  "using Barracuda Reputation; http://www.barracudanetworks.com/"
	  "reputation/?pr=1&ip=192.0.2.4", "blocklist", FALSE, NULL, NULL },
	{ "ironport", "esa1.example.iphmx.com", "lee@example.com", "5.0.0",
	  "554 Your access to this mail system has been rejected due to the "
	  "sending MTA's poor reputation. If you believe that this failure is "
	  "in error, please contact the intended recipient via alternate "
	  "means.", "reputation", TRUE, NULL, NULL },
	{ "opensmtpd", "mx.example.org", "eva@example.org", "4.0.0",
	  "Temporary failure in MX lookup", "network", TRUE,
	  "Hi!\r\n\r\nThis is the MAILER-DAEMON, please DO NOT REPLY to "
	  "this email.\r\n", NULL },
	{ "courier", "mx.example.org", "eva@example.org", "5.0.0",
	  "DNS lookup failed.", "network", TRUE,
	  "This is a delivery status notification from mx.example.net,\r\n"
	  "running the Courier mail server, version 1.1.\r\n", NULL },
	{ "courier", "mx.example.org", "eva@example.org", "5.0.0",
	  "This domain's DNS violates RFC 1035.", "system", TRUE,
	  "This is a delivery status notification from mx.example.net,\r\n"
	  "running the Courier mail server, version 1.1.\r\n", NULL },
	{ "domino", "mx.example.org", "eva@example.org", "5.0.0",
	  "Cannot route mail to user (eva@example.org)", "filtered", TRUE,
	  "Your message was not delivered. Lotus Domino Release 9.0.1\r\n",
	  NULL },
	/* Classes as Sisimai 5.1's lib/Sisimai/Rhost tables file the
	   providers' documented texts (the table each rules file cites) */
	{ "yahoo", "mta5.am0.yahoodns.net", "joe@yahoo.com", "5.7.2",
	  "553 5.7.2 [TSS09] All messages from 192.0.2.25 will be "
	  "permanently deferred; Retrying will NOT succeed. See "
	  "https://senders.yahooinc.com/smtp-error-codes",
	  "sender-rejected", TRUE, NULL, NULL },
	/* Sisimai's Rhost.pm uses the Yahoo table for Yahoo's servers
	   only; the same phrase elsewhere is in its BadReputation table */
	{ "yahoo", "relay.example.net", "joe@yahoo.com", "4.7.0",
	  "421 4.7.0 [TSS04] Messages from 192.0.2.9 temporarily deferred "
	  "due to unexpected volume or user complaints - 4.16.55.1",
	  "reputation", FALSE, NULL, NULL },
	{ "apple", "mx01.mail.icloud.com", "tim@icloud.com", "5.0.0",
	  "550 5.1.1 <tim@icloud.com>: inactive email address",
	  "user-unknown", TRUE, NULL, NULL },
	{ "google", "gmail-smtp-in.l.google.com", "kasia@gmail.com", "4.7.0",
	  "421-4.7.0 Try again later, closing connection. (EHLO) For more "
	  "information, go to https://support.google.com/a/answer/3221692",
	  "blocklist", TRUE, NULL, NULL },
	{ "google", "aspmx.l.google.com", "kasia@example.org", "5.0.0",
	  "553-5.1.2 We weren't able to find the recipient domain. Please "
	  "check for any spelling errors", "user-unknown", TRUE, NULL, NULL },
	{ "google", "aspmx.l.google.com", "kasia@example.org", "5.5.1",
	  "502 5.5.1 Unrecognized command.", "syntax", TRUE, NULL, NULL },
	{ "google", "aspmx.l.google.com", "kasia@example.org", "4.5.3",
	  "452 4.5.3 Your message has too many recipients. For more "
	  "information regarding Google's sending limits, visit "
	  "https://support.google.com/mail/answer/6592", "rate-limit", TRUE,
	  NULL, NULL },
	{ "microsoft", "contoso-com.mail.protection.outlook.com",
	  "ola@contoso.example", "5.0.0", "550 5.5.0 Requested action not "
	  "taken: mailbox unavailable", "user-unknown", TRUE, NULL, NULL },
	{ "microsoft", "contoso-com.mail.protection.outlook.com",
	  "ola@contoso.example", "5.7.25", "550 5.7.25 [192.0.2.7] The IP "
	  "address sending this message does not have a PTR record setup. "
	  "The sending IP must have a reverse DNS record", "blocklist", TRUE,
	  NULL, NULL },
	{ "microsoft", "eur01.prod.protection.outlook.com",
	  "anna@contoso.example", "5.2.1", "550 5.2.1 Content Filter agent "
	  "quarantined this message", "spam", TRUE, NULL, NULL },
	{ "microsoft", "eur01.prod.protection.outlook.com",
	  "anna@contoso.example", "4.3.1", "452 4.3.1 Insufficient system "
	  "resources", "system", TRUE, NULL, NULL },
	{ "mimecast", "us-smtp-inbound-1.mimecast.com", "pat@example.co.uk",
	  "4.0.0", "421 Sender address blocked - https://community.mimecast."
	  "com/docs/DOC-1369#421", "blocklist", TRUE, NULL, NULL },
	{ "mimecast", "us-smtp-inbound-1.mimecast.com", "pat@example.co.uk",
	  "5.0.0", "550 Journal messages past the expiration - "
	  "https://community.mimecast.com/docs/DOC-1369#550", "expired", TRUE,
	  NULL, NULL },
	{ "cox", "mx.east.cox.net", "ed@cox.net", "4.0.0",
	  "421 Requested action aborted: try again later", "rate-limit", TRUE,
	  NULL, NULL },
	{ "godaddy", "p3plibsmtp01.prod.phx3.secureserver.net",
	  "li@example.biz", "5.1.1", "550 Recipient not found",
	  "user-unknown", FALSE, NULL, NULL },
	{ "tencent", "mx3.qq.com", "wei@qq.com", "5.0.0",
	  "550 Suspected spam https://service.mail.qq.com/detail/122/71",
	  "sender-rejected", TRUE, NULL, NULL },
	{ "spectrum", "mx.charter.net", "bo@charter.net", "5.7.1",
	  "554 5.7.1 Email sending limited due to suspicious activity "
	  "AUP#O-1030", "sender-rejected", TRUE, NULL, NULL },
	{ "orange", "smtp-in.laposte.net", "luc@laposte.net", "5.7.1",
	  "554 5.7.1 Client host rejected LPN000-630", "policy", TRUE,
	  NULL, NULL },
	/* mail systems' own reports, known by their header fields (the
	   ones Sisimai 5.1 lib/Sisimai/Lhost/MessageLabs.pm and Aol.pm
	   look for) */
	{ "messagelabs", "mx.example.org", "eva@example.org", "5.0.0",
	  "542 eva@example.org Rejected", "user-unknown", TRUE, NULL,
	  "X-Msg-Ref: server-11.tower-143.messagelabs.com!1419367175!1!1\r\n" },
	{ "mcafee", "mx.example.org", "eva@example.org", "5.0.0",
	  "550 Unknown user eva@example.org (in reply to RCPT TO command)",
	  "user-unknown", TRUE, NULL,
	  "X-NAI-Header: Modified by McAfee Email and Web Security\r\n" },
	{ "zoho", "mx.example.org", "eva@example.org", "4.0.0",
	  "Host not reachable", "expired", TRUE, NULL,
	  "X-ZohoMail: Si CHF_MF_NL SS_10 cbs_INIT\r\n" },
	{ "microsoft", "mx.example.org", "eva@example.org", "5.0.0",
	  "550 5.5.0 Requested action not taken: mailbox unavailable",
	  "user-unknown", TRUE, NULL,
	  "From: Microsoft Outlook <postmaster@outlook.com>\r\n" },
	{ "aol", "mx.example.org", "eva@example.org", "5.4.4",
	  "Name service error for name=example.org type=MX: Malformed or "
	  "unexpected name server reply", "no-mail", TRUE, NULL,
	  "X-AOL-IP: 192.0.2.30\r\n" },
	{ "exchange", "mx.example.org", "eva@example.org", "5.0.0",
	  "550 5.0.0 The recipient name is ambiguous (000C0595)",
	  "filtered", TRUE,
	  "Your message did not reach some or all of the intended "
	  "recipients.\r\nGenerated by Microsoft Exchange Server.\r\n", NULL },
};

static const char *
provider_dsn(const char *remote_mta, const char *recipient,
	     const char *status, const char *diagnostic,
	     const char *notification, const char *headers)
{
	if (notification == NULL)
		notification = "Your message could not be delivered.\r\n";
	if (headers == NULL)
		headers = "";
	return t_strdup_printf(
		"%s%s"
		"To: sender@example.net\r\n"
		"Subject: Undelivered Mail Returned to Sender\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status;"
		" boundary=\"b1\"\r\n\r\n"
		"--b1\r\n"
		"Content-Type: text/plain\r\n\r\n"
		"%s\r\n"
		"--b1\r\n"
		"Content-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; mx.example.net\r\n\r\n"
		"Final-Recipient: rfc822; %s\r\n"
		"Action: failed\r\n"
		"Status: %s\r\n"
		"Remote-MTA: dns; %s\r\n"
		"Diagnostic-Code: smtp; %s\r\n\r\n"
		"--b1--\r\n", headers,
		/* the extra fields may name the mail system's own sender */
		strncmp(headers, "From:", 5) == 0 ? "" :
		"From: MAILER-DAEMON@mx.example.net\r\n", notification,
		recipient, status, remote_mta, diagnostic);
}

static const struct bounceinfo_recipient *
classify(struct bounceinfo *bi, struct bounceinfo_result **result_r,
	 const char *remote_mta, const char *recipient, const char *status,
	 const char *diagnostic, const char *notification,
	 const char *headers)
{
	*result_r = test_parse(bi, provider_dsn(remote_mta, recipient,
						status, diagnostic,
						notification, headers));
	assert_non_null(*result_r);
	return test_rcpt(*result_r, 0);
}

static void test_providers_examples(void **state)
{
	struct bounceinfo *bi = *state;
	unsigned int i, failures = 0;

	for (i = 0; i < N_ELEMENTS(examples); i++) T_BEGIN {
		const struct provider_example *ex = &examples[i];
		const struct bounceinfo_recipient *rcpt;
		struct bounceinfo_result *result;
		const char *got;

		rcpt = classify(bi, &result, ex->remote_mta, ex->recipient,
				ex->status, ex->diagnostic, ex->notification,
				ex->headers);
		got = rcpt == NULL ? "(none)" :
			bounceinfo_class_name(rcpt->class_);
		if (strcmp(got, ex->class_name) != 0) {
			fprintf(stderr, "%s: want %s, got %s (rule %s): %s\n",
				ex->provider, ex->class_name, got,
				rcpt == NULL || rcpt->matched_rule == NULL ?
				"-" : rcpt->matched_rule, ex->diagnostic);
			failures++;
		}
		pool_unref(&result->pool);
	} T_END;
	assert_int_equal(failures, 0);
}

/* The same text from a server outside the provider's scope must not get
   the provider's verdict. */
static void test_providers_scope(void **state)
{
	struct bounceinfo *bi = *state;
	unsigned int i, failures = 0, checked = 0;

	for (i = 0; i < N_ELEMENTS(examples); i++) T_BEGIN {
		const struct provider_example *ex = &examples[i];
		const struct bounceinfo_recipient *rcpt;
		struct bounceinfo_result *result;

		if (ex->scoped_only) {
			checked++;
			rcpt = classify(bi, &result, "mx.unrelated.example",
					"someone@unrelated.example",
					ex->status, ex->diagnostic, NULL, NULL);
			assert_non_null(rcpt);
			if (strcmp(bounceinfo_class_name(rcpt->class_),
				   ex->class_name) == 0 &&
			    rcpt->matched_rule != NULL &&
			    strstr(rcpt->matched_rule, ex->provider) != NULL) {
				fprintf(stderr, "%s rule decided outside its "
					"scope (%s): %s\n", ex->provider,
					rcpt->matched_rule, ex->diagnostic);
				failures++;
			}
			pool_unref(&result->pool);
		}
	} T_END;
	assert_true(checked > 0);
	assert_int_equal(failures, 0);
}

/* Every shipped provider table has at least one example above. */
static void test_providers_every_file_tested(void **state ATTR_UNUSED)
{
	const char *dir = BOUNCEINFO_TEST_DATADIR "/rules/providers";
	struct dirent *d;
	unsigned int files = 0, i;
	DIR *dirp = opendir(dir);

	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		size_t len = strlen(d->d_name);
		bool found = FALSE;

		if (len <= 6 || strcmp(d->d_name + len - 6, ".rules") != 0)
			continue;
		files++;
		for (i = 0; i < N_ELEMENTS(examples); i++) {
			if (strlen(examples[i].provider) == len - 6 &&
			    strncmp(examples[i].provider, d->d_name,
				    len - 6) == 0)
				found = TRUE;
		}
		if (!found)
			fprintf(stderr, "no example for %s\n", d->d_name);
		assert_true(found);
	}
	closedir(dirp);
	assert_true(files > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_providers_examples),
		cmocka_unit_test(test_providers_scope),
		cmocka_unit_test(test_providers_every_file_tested),
	};

	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
