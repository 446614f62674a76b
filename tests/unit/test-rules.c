/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Text rules: every shipped rules/<class>.rules file has positive
   examples here (in all languages the rules cover), administrator rules
   take precedence, and broken files are reported with file:line. */

#include "test-common.h"

#include <dirent.h>

struct rule_example {
	const char *class_name;
	const char *text;
};

static const struct rule_example examples[] = {
	{ "user-unknown", "550 5.1.1 <kot@example.pl>: Recipient address "
	  "rejected: User unknown in local recipient table" },
	{ "user-unknown", "550 Requested action not taken: mailbox unavailable" },
	{ "user-unknown", "Użytkownik nie istnieje" },
	{ "user-unknown", "550 Адресат не существует" },
	{ "user-unknown", "Uživatel neexistuje" },
	{ "user-unknown", "Empfänger unbekannt" },
	{ "user-unknown", "Utilisateur inconnu" },
	{ "user-unknown", "El usuario no existe" },
	{ "quota", "552 5.2.2 Mailbox full" },
	{ "quota", "maildrop: maildir over quota." },
	{ "quota", "Skrzynka odbiorcy jest pełna" },
	{ "quota", "Почтовый ящик переполнен" },
	{ "quota", "Schránka příjemce je plná" },
	{ "quota", "Postfach ist voll" },
	{ "quota", "La boîte aux lettres est pleine" },
	{ "quota", "El buzón está lleno" },
	{ "disabled", "550 5.2.1 This account has been disabled" },
	{ "disabled", "Konto odbiorcy zablokowane" },
	{ "disabled", "Учетная запись заблокирована" },
	{ "disabled", "Účet byl zablokován" },
	{ "moved", "550 5.1.6 The user has moved to a new address" },
	{ "host-unknown", "Host or domain name not found. Name service error "
	  "for name=example.invalid type=A: Host not found" },
	{ "host-unknown", "Domena nie istnieje" },
	{ "host-unknown", "Домен не существует" },
	{ "host-unknown", "Doména neexistuje" },
	{ "no-mail", "556 5.1.10 Recipient address has null MX" },
	{ "spam", "550 5.7.1 Message rejected as spam by Content Filtering" },
	{ "spam", "554 Письмо похоже на спам" },
	{ "spam", "Wiadomość uznana za niechcianą pocztę" },
	{ "spam", "550-5.7.1 ... likely unsolicited mail" },
	{ "virus", "554 5.7.0 Virus found in message" },
	{ "virus", "Wykryto wirusa w załączniku" },
	{ "blocklist", "554 5.7.1 Service unavailable; Client host "
	  "[192.0.2.1] blocked using zen.spamhaus.org" },
	{ "reputation", "421 4.7.0 Our system has detected that this message "
	  "is likely suspicious due to the very low reputation of the "
	  "sending IP address" },
	{ "rdns", "450 4.7.1 Client host rejected: cannot find your hostname, "
	  "[192.0.2.1]" },
	{ "auth", "550 5.7.26 Unauthenticated email from example.com is not "
	  "accepted due to domain's DMARC policy" },
	{ "auth", "550 5.7.23 SPF validation failed" },
	{ "relay", "554 5.7.1 <kot@example.pl>: Relay access denied" },
	{ "sender-rejected", "553 5.1.8 <a@b.example>: Sender address "
	  "rejected: Domain not found" },
	{ "security", "530 5.7.0 Must issue a STARTTLS command first" },
	{ "policy", "550 Message rejected due to local policy" },
	{ "filtered", "550 Message rejected by recipient's mail filter rules" },
	{ "content", "554 Message does not conform to standards" },
	{ "size", "552 5.3.4 Message size exceeds fixed maximum message size" },
	{ "size", "Wiadomość jest za duża" },
	{ "size", "Письмо слишком большое" },
	{ "size", "Zpráva je příliš velká" },
	{ "rate-limit", "421 4.7.0 Too many connections from your IP" },
	{ "syntax", "501 5.5.4 Syntax error in parameters or arguments" },
	{ "system", "451 4.3.0 Error: queue file write error" },
	{ "mailer", "Delivery failed: mailer error" },
	{ "network", "Name service error for name=example.com type=MX: "
	  "Host not found, try again" },
	{ "expired", "554 4.4.7 Message expired: unable to deliver in 840 "
	  "minutes" },
	/* the other languages of the rules */
	{ "sender-rejected", "Absender abgelehnt" },
	{ "sender-rejected", "Expéditeur refusé" },
	{ "sender-rejected", "Nadawca odrzucony" },
	{ "rate-limit", "Příliš mnoho spojení" },
	{ "rate-limit", "Слишком много соединений" },
	{ "relay", "Relais refusé" },
	{ "relay", "Ретрансляция запрещена" },
	{ "blocklist", "Su IP está en una lista negra" },
	{ "rdns", "Brak rekordu PTR dla adresu IP" },
	{ "policy", "Abgelehnt aufgrund der lokalen Richtlinie" },
	{ "quota", "Skrzynka przekroczyła limit pojemności" },
	{ "size", "Превышен размер сообщения" },
	{ "user-unknown", "Adresse introuvable" },
	/* neighbouring classes: who or what is refused decides */
	{ "sender-rejected", "550 Your sender address has been blacklisted" },
	{ "spam", "554 Blacklisted URL in message" },
	{ "rate-limit", "454 Throttling failure: Daily message quota exceeded" },
	{ "system", "452 4.3.1 Mail system full" },
	{ "spam", "552 Message rejected for spam or virus content" },
	{ "rate-limit", "421 Too many connections, slow down. LPN105_104" },
	{ "blocklist", "554 comcast 192.0.2.2 found on one or more DNSBLs" },
	{ "disabled", "550 5.2.1 The email account that you tried to reach "
	  "is disabled." },
	/* Sisimai 5.1's phrase tables and the MTAs' own texts */
	{ "user-unknown", "550 nessun utente simile in questo indirizzo" },
	{ "user-unknown", "550 no existe ese usuario" },
	{ "expired", "Cannot send message for 5 days" },
	{ "network", "Sorry, I wasn't able to establish an SMTP connection. "
	  "(#4.4.1)" },
	{ "quota", "554 5.2.0 STOREDRV.Deliver.Exception:"
	  "QuotaExceededException.MapiExceptionShutoffQuotaExceeded" },
	{ "policy", "550 Reject due to policy restrictions" },
	{ "mailer", "Command output: procmail: Couldn't create maildir" },
	{ "content", "550 This message contain improperly-formatted binary "
	  "content" },
	{ "security", "554 Account not subscribed to SES" },
	{ "user-unknown", "550 5.1.1 User kim.nowak does not exist" },
	{ "user-unknown", "550 Recipient <kim@example.org> was not found in "
	  "the directory" },
	{ "host-unknown", "550 Recipient domain example.invalid does not "
	  "exist" },
	/* the audit against Sisimai 5.1 lib/Sisimai/Reason/<reason>.pm: each
	   phrase in the class of the table that lists it */
	{ "blocklist", "Remote protocol error: Connection reset by peer" },
	{ "blocklist", "550 192.0.2.1 is not allowed to send mail from "
	  "example.org" },
	{ "sender-rejected", "554 Your access to submit messages to this "
	  "e-mail system has been rejected." },
	{ "sender-rejected", "550 Administrative prohibition" },
	{ "sender-rejected", "550 Delivery not authorized, message refused" },
	{ "sender-rejected", "550 Syntax error: empty email address" },
	{ "sender-rejected", "550 This recipient is a spam reporting "
	  "address" },
	{ "relay", "554 Message rejected: Email address is not verified. The "
	  "following identities failed the check" },
	{ "security", "553 sorry, you don't authenticate or the domain isn't "
	  "in my list of allowed rcpthosts (#5.7.1)" },
	{ "spam", "550 Message rejected for policy reasons" },
	{ "spam", "554 Rejecting banned content" },
	{ "system", "550 Aliasing/forwarding loop broken" },
	{ "rate-limit", "451 We have already made numerous attempts to "
	  "deliver this message" },
	{ "user-unknown", "550 #5.1.1 bad address kim@example.org" },
	{ "user-unknown", "550 Mailbox is inactive" },
	{ "user-unknown", "550 The following recipients was undeliverable" },
	{ "host-unknown", "550 Mail domain mentioned in email address is "
	  "unknown" },
	{ "network", "550 Unrouteable mail domain" },
	{ "no-mail", "554 SMTP protocol returned a permanent error" },
	{ "content", "552 Header size exceeds maximum permitted" },
	{ "size", "552 Message header size exceeds limit" },
	{ "expired", "Failed to deliver to domain example.org within 5 days" },
	/* ... and its pair tables */
	{ "auth", "550 5.5.0 SPF: kim@example.org is not allowed to send "
	  "mail. LPN004_401" },
	{ "spam", "451 Greylisted, please try again in 300 seconds" },
	{ "blocklist", "421 Messages from 192.0.2.1 temporarily deferred due "
	  "to user complaints" },
	{ "blocklist", "550 Mail from 192.0.2.1 refused: see http://"
	  "www.example.net/" },
	{ "user-unknown", "550 <kim@example.org>... blocked by ldap" },
	{ "user-unknown", "550 5.1.1 Bad recipient" },
	/* ... and the message tables of its lib/Sisimai/Lhost/<mta>.pm */
	{ "system", "LMTP error after end of data" },
	{ "quota", "550 User mailbox exceeds allowed size" },
	{ "expired", "No action is required on your part. Delivery attempts "
	  "will continue for some time" },
	{ "expired", "DNS Error: Could not contact DNS servers" },
	{ "host-unknown", "As the remote domain doesnt exist, your mail was "
	  "not delivered" },
	/* KumoMTA's community rules (InvalidRecipient) */
	{ "user-unknown", "550 No such ID" },
};

static void test_rules_examples(void **state)
{
	struct bounceinfo *bi = *state;

	for (unsigned int i = 0; i < N_ELEMENTS(examples); i++) {
		enum bounceinfo_class expected, class_;
		enum bounceinfo_severity sev;
		const char *rule, *want_src;

		assert_true(bounceinfo_class_parse(examples[i].class_name,
						   &expected));
		/* as an answer to RCPT TO, so that "user unknown" counts;
		   a filter's verdict comes after DATA (never at RCPT) */
		bounceinfo_classify_full(bi, NULL, 0, examples[i].text,
			strcmp(examples[i].class_name, "filtered") == 0 ?
			"DATA" : "RCPT", &class_, &sev, &rule);
		if (class_ != expected) {
			fprintf(stderr, "'%s': want %s, got %s (%s)\n",
				examples[i].text, examples[i].class_name,
				bounceinfo_class_name(class_),
				rule == NULL ? "no rule" : rule);
		}
		assert_int_equal(class_, expected);
		/* decided by that class' rules file, not by accident */
		want_src = t_strdup_printf("rules/%s.rules:",
					   examples[i].class_name);
		assert_non_null(rule);
		assert_true(str_begins_with(rule, want_src));
	}
}

static void test_rules_prefilter_folding(void **state)
{
	struct bounceinfo *bi = *state;
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	const char *rule;

	/* caseless UTF-8 matching equates KELVIN SIGN with k and LONG S
	   with s: the literal prefilter must not lose such matches */
	bounceinfo_classify_full(bi, NULL, 0, "USER UN\xe2\x84\xaa" "NOWN",
				 "RCPT", &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	bounceinfo_classify_full(bi, NULL, 0, "mailbox i\xc5\xbf full",
				 "RCPT", &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_QUOTA);
	assert_string_equal(bounceinfo_text_fold("AbC \xe2\x84\xaa\xc5\xbf"),
			    "abc ks");
}

static void test_rules_every_file_tested(void **state)
{
	const char *dir = BOUNCEINFO_TEST_DATADIR "/rules";
	struct dirent *d;
	unsigned int files = 0;
	DIR *dirp;

	(void)state;
	dirp = opendir(dir);
	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		const char *name = d->d_name;
		size_t len = strlen(name);
		bool found = FALSE;

		if (len < 7 || strcmp(name + len - 6, ".rules") != 0)
			continue;
		files++;
		name = t_strndup(name, len - 6);
		for (unsigned int i = 0; i < N_ELEMENTS(examples); i++) {
			if (strcmp(examples[i].class_name, name) == 0)
				found = TRUE;
		}
		if (!found)
			fprintf(stderr, "no example for rules/%s\n", d->d_name);
		assert_true(found);
	}
	(void)closedir(dirp);
	assert_true(files >= 20);
}

static void test_rules_admin_precedence(void **state)
{
	const char *dir, *path, *extra[3];
	struct bounceinfo *bi;
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	const char *rule;

	(void)state;
	dir = test_mkdtemp();
	path = t_strconcat(dir, "/local.rules", NULL);
	test_write_file(path,
		"# site rules\n"
		"[spam]\n"
		"user unknown\n"
		"[quota]\n"
		"hard: plus de place\n");
	assert_int_equal(mkdir(t_strconcat(dir, "/more", NULL), 0700), 0);
	test_write_file(t_strconcat(dir, "/more/policy.rules", NULL),
			"our own words\n");
	extra[0] = path;
	extra[1] = t_strconcat(dir, "/more", NULL);
	extra[2] = NULL;
	bi = test_bi_init(extra);
	assert_non_null(bi);

	bounceinfo_classify(bi, "5.1.1", 550, "550 5.1.1 user unknown",
			    &class_, &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_SPAM);
	assert_string_equal(rule, t_strconcat(path, ":3", NULL));

	bounceinfo_classify(bi, NULL, 0, "Il n'y a plus de place", &class_,
			    &sev, &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_QUOTA);
	assert_int_equal(sev, BOUNCEINFO_SEVERITY_HARD);

	/* a file named after a class needs no section */
	bounceinfo_classify(bi, NULL, 0, "in our own words", &class_, &sev,
			    &rule);
	assert_int_equal(class_, BOUNCEINFO_CLASS_POLICY);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

static void test_rules_errors(void **state)
{
	const char *dir, *path, *extra[2], *error;
	struct bounceinfo_settings set;
	struct bounceinfo *bi;

	(void)state;
	dir = test_mkdtemp();
	path = t_strconcat(dir, "/bad.rules", NULL);
	extra[0] = path;
	extra[1] = NULL;
	i_zero(&set);
	set.datadir = BOUNCEINFO_TEST_DATADIR;
	set.extra_rules = extra;

	/* a pattern that does not compile: loading succeeds (patterns are
	   compiled when first tried), bounceinfo_rules_check() names it */
	test_write_file(path, "[quota]\n# fine\nmailbox (full\n"
			"[policy]\nour (own words\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), 0);
	assert_int_equal(bounceinfo_rules_check(bi, &error), -1);
	assert_string_equal(error, t_strconcat(
		path, ":3: pcre2 error at offset 13: missing closing "
		"parenthesis\n",
		path, ":5: pcre2 error at offset 14: missing closing "
		"parenthesis", NULL));
	/* a second check says the same */
	assert_int_equal(bounceinfo_rules_check(bi, &error), -1);
	assert_non_null(strstr(error, ":5: pcre2 error at offset 14: "));
	bounceinfo_deinit(&bi);

	test_write_file(path, "[quota]\n[nope]\nfull\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, ":2: unknown class 'nope'"));

	test_write_file(path, "full\n");
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, ":1: pattern before any [class]"));

	extra[0] = t_strconcat(dir, "/missing.rules", NULL);
	assert_int_equal(bounceinfo_init(&set, &bi, &error), -1);
	assert_non_null(strstr(error, "missing.rules"));

	/* a broken shipped file is named relative to the data directory */
	const char *ddir = test_mkdatadir("");
	test_write_file(t_strconcat(ddir, "/rules/quota.rules", NULL),
			"ok\n\n[[x\n");
	set.datadir = ddir;
	set.extra_rules = NULL;
	bi = NULL;
	if (bounceinfo_init(&set, &bi, &error) < 0)
		fprintf(stderr, "%s\n", error);
	assert_non_null(bi);
	assert_int_equal(bounceinfo_rules_check(bi, &error), -1);
	assert_string_equal(error, "rules/quota.rules:3: pcre2 error at "
			    "offset 3: missing terminating ] for character "
			    "class");
	bounceinfo_deinit(&bi);
	test_rmtree(ddir);
	test_rmtree(dir);
}

static ARRAY_TYPE(string) logged_errors;

static void ATTR_FORMAT(2, 0)
capture_error_handler(const struct failure_context *ctx,
		      const char *format, va_list args)
{
	char *line = i_strdup_vprintf(format, args);

	if (ctx->type == LOG_TYPE_ERROR)
		array_push_back(&logged_errors, &line);
	else
		i_free(line);
}

static void logged_errors_free(void)
{
	char **line;

	array_foreach_modifiable(&logged_errors, line)
		i_free(*line);
	array_clear(&logged_errors);
}

/* A rule whose pattern does not compile, met when first tried: logged
   once with file:line and the pcre2 message, left out, the text
   classified by the other rules; bounceinfo_rules_check() afterwards
   still names it */
static void test_rules_broken_first_use(void **state)
{
	const char *dir, *path, *extra[2], *error, *rule;
	struct bounceinfo *bi;
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	failure_callback_t *fatal_cb, *error_cb, *info_cb, *debug_cb;

	(void)state;
	dir = test_mkdtemp();
	path = t_strconcat(dir, "/local.rules", NULL);
	extra[0] = path;
	extra[1] = NULL;
	/* the broken rule's literal "over quota" puts it in front of the
	   shipped quota rules for this text */
	test_write_file(path, "[policy]\n"
			"maildir over quota (now\n"
			"our own words\n");
	bi = test_bi_init(extra);
	assert_non_null(bi);

	i_array_init(&logged_errors, 4);
	i_get_failure_handlers(&fatal_cb, &error_cb, &info_cb, &debug_cb);
	i_set_error_handler(capture_error_handler);
	for (unsigned int i = 0; i < 3; i++) {
		bounceinfo_classify(bi, NULL, 0, "maildrop: maildir over "
				    "quota now", &class_, &sev, &rule);
		assert_int_equal(class_, BOUNCEINFO_CLASS_QUOTA);
		assert_null(strstr(rule, "local.rules"));
	}
	/* the other rules of the file work */
	bounceinfo_classify(bi, NULL, 0, "in our own words", &class_, &sev,
			    &rule);
	i_set_error_handler(error_cb);
	assert_int_equal(class_, BOUNCEINFO_CLASS_POLICY);
	assert_string_equal(rule, t_strconcat(path, ":3", NULL));

	/* logged once, naming file, line and pcre2's message */
	assert_int_equal(array_count(&logged_errors), 1);
	const char *logged = array_idx_elem(&logged_errors, 0);
	assert_non_null(strstr(logged, t_strconcat(path, ":2: pcre2 error "
		"at offset 23: missing closing parenthesis", NULL)));

	assert_int_equal(bounceinfo_rules_check(bi, &error), -1);
	assert_string_equal(error, t_strconcat(path, ":2: pcre2 error at "
		"offset 23: missing closing parenthesis", NULL));
	logged_errors_free();
	array_free(&logged_errors);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

/* Every shipped rule compiles (what bounceinfo --check-rules checks) */
static void test_rules_check_shipped(void **state)
{
	struct bounceinfo *bi = test_bi_init(NULL);
	const char *error = NULL;

	(void)state;
	assert_non_null(bi);
	if (bounceinfo_rules_check(bi, &error) < 0)
		fprintf(stderr, "%s\n", error);
	assert_null(error);
	bounceinfo_deinit(&bi);
}

static void test_rules_hostile_pattern(void **state)
{
	const char *dir, *path, *extra[2];
	struct bounceinfo *bi;
	enum bounceinfo_class class_;
	enum bounceinfo_severity sev;
	const char *rule;
	string_t *text = t_str_new(4096);

	(void)state;
	dir = test_mkdtemp();
	path = t_strconcat(dir, "/slow.rules", NULL);
	/* catastrophic backtracking must simply fail to match */
	test_write_file(path, "[spam]\n^(a+)+$\n");
	extra[0] = path;
	extra[1] = NULL;
	bi = test_bi_init(extra);
	assert_non_null(bi);
	for (unsigned int i = 0; i < 3000; i++)
		str_append_c(text, 'a');
	str_append_c(text, '!');
	bounceinfo_classify(bi, NULL, 0, str_c(text), &class_, &sev, &rule);
	assert_int_not_equal(class_, BOUNCEINFO_CLASS_SPAM);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_examples),
		cmocka_unit_test(test_rules_prefilter_folding),
		cmocka_unit_test(test_rules_every_file_tested),
		cmocka_unit_test(test_rules_admin_precedence),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_rules_broken_first_use),
		cmocka_unit_test(test_rules_check_shipped),
		cmocka_unit_test(test_rules_hostile_pattern),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
