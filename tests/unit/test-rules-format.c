/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The rules file format beyond plain patterns: stable rule ids, explicit
   {name} ids, @provider blocks with @scope lines (matched against the
   recipient's facts), rules/providers/ and the literal prefilter, which
   must never change a result. */

#include "test-common.h"

#include <dirent.h>

static struct bounceinfo *
test_bi_datadir(const char *datadir, const char *const *extra,
		bool no_prefilter, const char **error_r)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;

	i_zero(&set);
	set.datadir = datadir;
	set.extra_rules = extra;
	set.no_prefilter = no_prefilter;
	if (bounceinfo_init(&set, &bi, error_r) < 0)
		return NULL;
	return bi;
}

/* A data directory whose rules/<file> holds content */
static const char *datadir_with(const char *file, const char *content)
{
	const char *dir = test_mkdatadir("");

	test_write_file(t_strconcat(dir, "/rules/", file, NULL), content);
	return dir;
}

static void
classify_facts(struct bounceinfo *bi, const struct bounceinfo_facts *facts,
	       struct bounceinfo_decision *d)
{
	bounceinfo_classify_facts(bi, facts, d);
}

static void test_rule_ids(void **state)
{
	const char *dir, *dir2, *error;
	struct bounceinfo *bi, *bi2;
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d, d2;

	(void)state;
	dir = datadir_with("quota.rules",
			"# full\n"
			"mailbox (?:is )?full\n"
			"{over-quota} hard: over quota\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	assert_non_null(bi);

	i_zero(&facts);
	facts.diagnostic = "552 Mailbox is full";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_QUOTA);
	assert_string_equal(d.matched_rule, "rules/quota.rules:2");
	/* <class>/<8 hex digits> */
	assert_true(str_begins_with(d.rule_id, "quota/"));
	assert_int_equal(strlen(d.rule_id), strlen("quota/") + 8);
	assert_string_equal(d.rule_id, bounceinfo_rule_hash_id(
		pool_datastack_create(), BOUNCEINFO_CLASS_QUOTA, NULL,
		"mailbox (?:is )?full"));

	facts.diagnostic = "user is over quota";
	classify_facts(bi, &facts, &d2);
	assert_string_equal(d2.rule_id, "quota/over-quota");
	assert_int_equal(d2.severity, BOUNCEINFO_SEVERITY_HARD);

	/* the same rules in another order and place: the same ids */
	dir2 = test_mkdatadir("");
	test_write_file(t_strconcat(dir2, "/rules/quota.rules", NULL),
			"{over-quota} hard: over quota\n\n\n"
			"  mailbox (?:is )?full  \n");
	bi2 = test_bi_datadir(dir2, NULL, FALSE, &error);
	assert_non_null(bi2);
	facts.diagnostic = "552 Mailbox is full";
	classify_facts(bi2, &facts, &d2);
	assert_string_equal(d2.matched_rule, "rules/quota.rules:4");
	assert_string_equal(d2.rule_id, d.rule_id);

	/* status.map entries and fixed decisions have ids too */
	bounceinfo_deinit(&bi2);
	test_write_file(t_strconcat(dir2, "/rules/status.map", NULL),
			"X.2.2 quota soft strong\n");
	bi2 = test_bi_datadir(dir2, NULL, FALSE, &error);
	assert_non_null(bi2);
	facts.status = "5.2.2";
	facts.diagnostic = "whatever";
	classify_facts(bi2, &facts, &d2);
	assert_string_equal(d2.rule_id, "status/X.2.2");
	facts.status = NULL;
	facts.diagnostic = "rejected";
	facts.smtp_command = "MAIL";
	classify_facts(bi2, &facts, &d2);
	assert_int_equal(d2.class_, BOUNCEINFO_CLASS_SENDER_REJECTED);
	assert_string_equal(d2.rule_id, "command/MAIL");

	bounceinfo_deinit(&bi2);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
	test_rmtree(dir2);
}

static void test_rule_id_errors(void **state)
{
	const char *dir, *path, *extra[2], *error;
	struct bounceinfo *bi;

	(void)state;
	dir = test_mkdatadir("");
	path = t_strconcat(dir, "/local.rules", NULL);
	extra[0] = path;
	extra[1] = NULL;

	test_write_file(path, "[spam]\n{a} one\n{a} two\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:3: duplicate rule id "
			       "spam/a (first at "));

	test_write_file(path, "[spam]\nsame\n\nsame\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:4: duplicate rule id "));

	test_write_file(path, "[spam]\n{bad name} x\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:2: invalid rule id"));

	/* the same pattern in two classes: two rules */
	test_write_file(path, "[spam]\nsame\n[policy]\nsame\n");
	bi = test_bi_datadir(dir, extra, FALSE, &error);
	assert_non_null(bi);
	bounceinfo_deinit(&bi);

	/* @provider blocks */
	test_write_file(path, "[spam]\n@scope mta ^x$\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:2: @scope outside a "
			       "@provider block"));
	test_write_file(path, "@provider acme\n@scope host ^x$\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:2: unknown @scope field "
			       "'host'"));
	test_write_file(path, "@provider acme\n@scope mta (x\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:2: pcre2 error"));
	test_write_file(path, "@provider acme\n@scope mta x\n[spam]\nabc\n"
			"@scope from y\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:5: @scope after a rule"));
	test_write_file(path, "@provider acme\n[spam]\nabc\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:1: @provider acme has no "
			       "@scope line"));
	test_write_file(path, "@provider\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:1: usage: @provider"));
	test_write_file(path, "@include x\n");
	assert_null(test_bi_datadir(dir, extra, FALSE, &error));
	assert_non_null(strstr(error, "local.rules:1: unknown directive"));
	test_rmtree(dir);
}

static void test_provider_scope(void **state)
{
	const char *dir, *error;
	struct bounceinfo *bi;
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d;

	(void)state;
	dir = datadir_with("policy.rules",
			"rejected\n"
			"@provider acme\n"
			"@scope recipient-domain ^acme\\.example$\n"
			"@scope remote-mta \\.acme-mx\\.example$\n"
			"[blocklist]\n"
			"{acme-bl} \\(BL\\)\n"
			"@provider none\n"
			"[spam]\n"
			"\\(BL\\) spam\n");
	assert_int_equal(mkdir(t_strconcat(dir, "/rules/providers", NULL),
			       0700), 0);
	test_write_file(t_strconcat(dir, "/rules/providers/other.rules", NULL),
			"# source: test\n"
			"@provider other\n"
			"@scope reporting-mta ^mta\\.other\\.example$\n"
			"@scope from @other\\.example$\n"
			"@scope mta ^othermail$\n"
			"[quota]\n"
			"AUP#1234\n"
			"[virus]\n"
			"hard: \\bX9\\b\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	if (bi == NULL)
		fprintf(stderr, "init: %s\n", error);
	assert_non_null(bi);

	/* not the provider's mail: the unscoped rules */
	i_zero(&facts);
	facts.diagnostic = "550 rejected (BL) spam";
	facts.recipient = "kot@elsewhere.example";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_SPAM);

	/* the recipient's domain */
	facts.recipient = "kot@ACME.example";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_BLOCKLIST);
	assert_string_equal(d.rule_id, "acme/acme-bl");
	assert_string_equal(d.matched_rule, "rules/policy.rules:6");

	/* the remote MTA field, or the host a text NDR names */
	facts.recipient = "kot@elsewhere.example";
	facts.remote_mta = "mx1.acme-mx.example";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_BLOCKLIST);
	facts.remote_mta = NULL;
	facts.diagnostic = "host mx2.acme-mx.example[192.0.2.1] said: 550 "
		"rejected (BL) spam (in reply to RCPT TO command)";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_BLOCKLIST);
	facts.diagnostic = "host mx2.other.example[192.0.2.1] said: 550 "
		"rejected (BL) spam (in reply to RCPT TO command)";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_SPAM);

	/* reporting MTA, bounce From and detected mail system (file in
	   rules/providers/) */
	i_zero(&facts);
	facts.diagnostic = "550 AUP#1234 X9";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_UNKNOWN);
	facts.reporting_mta = "mta.other.example";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_QUOTA);
	assert_string_equal(d.matched_rule, "rules/providers/other.rules:7");
	assert_true(str_begins_with(d.rule_id, "quota/"));
	/* scoped and unscoped ids of the same pattern differ */
	assert_string_not_equal(d.rule_id, bounceinfo_rule_hash_id(
		pool_datastack_create(), BOUNCEINFO_CLASS_QUOTA, NULL,
		"AUP#1234"));
	facts.reporting_mta = NULL;
	facts.from = "mailer-daemon@other.example";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_QUOTA);
	facts.from = NULL;
	facts.mta = "othermail";
	facts.diagnostic = "550 X9";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_VIRUS);
	assert_int_equal(d.severity, BOUNCEINFO_SEVERITY_HARD);
	bounceinfo_deinit(&bi);

	/* an administrator's provider block is tried first */
	const char *extra[2];
	extra[0] = t_strconcat(dir, "/local.rules", NULL);
	extra[1] = NULL;
	test_write_file(extra[0], "@provider mine\n@scope mta ^othermail$\n"
			"[size]\nX9\n");
	bi = test_bi_datadir(dir, extra, FALSE, &error);
	assert_non_null(bi);
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_SIZE);
	facts.mta = NULL;
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_UNKNOWN);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

/* A whole message: the parser hands the scope facts over */
static void test_provider_scope_message(void **state)
{
	const char *dir, *error;
	struct bounceinfo *bi;
	struct bounceinfo_result *result;
	const struct bounceinfo_recipient *rcpt;

	(void)state;
	dir = datadir_with("policy.rules",
			"@provider acme\n"
			"@scope recipient-domain ^acme\\.example$\n"
			"[quota]\n"
			"{acme-full} \\bAC-17\\b\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	assert_non_null(bi);
	result = test_parse(bi,
		"From: MAILER-DAEMON@mx.example.org\n"
		"To: sender@example.org\n"
		"Subject: Undelivered Mail Returned to Sender\n"
		"Content-Type: multipart/report; report-type=delivery-status;"
		" boundary=\"b\"\n"
		"\n"
		"--b\n"
		"Content-Type: text/plain\n"
		"\n"
		"Delivery failed.\n"
		"--b\n"
		"Content-Type: message/delivery-status\n"
		"\n"
		"Reporting-MTA: dns; mx.example.org\n"
		"\n"
		"Final-Recipient: rfc822; kot@acme.example\n"
		"Action: failed\n"
		"Status: 5.0.0\n"
		"Diagnostic-Code: smtp; 550 AC-17 no room\n"
		"\n"
		"Final-Recipient: rfc822; pies@other.example\n"
		"Action: failed\n"
		"Status: 5.0.0\n"
		"Diagnostic-Code: smtp; 550 AC-17 no room\n"
		"--b--\n");
	assert_non_null(result);
	assert_int_equal(array_count(&result->recipients), 2);
	rcpt = test_rcpt(result, 0);
	assert_int_equal(rcpt->class_, BOUNCEINFO_CLASS_QUOTA);
	assert_string_equal(rcpt->rule_id, "acme/acme-full");
	rcpt = test_rcpt(result, 1);
	assert_int_not_equal(rcpt->class_, BOUNCEINFO_CLASS_QUOTA);
	pool_unref(&result->pool);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

/* Severity (hard:/soft:) and certainty (certain:) are separate */
static void test_certainty(void **state)
{
	const char *dir, *error;
	struct bounceinfo *bi;
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d;

	(void)state;
	dir = datadir_with("user-unknown.rules",
			"certain: ghost address\n"
			"hard: phantom address\n"
			"hard: certain: spectre address\n"
			"certain: soft: wraith address\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	assert_non_null(bi);
	i_zero(&facts);
	facts.reply_code = 550;

	/* no RCPT answer, no X.1.x status: only a certain phrasing proves
	   the address is bad */
	facts.diagnostic = "550 ghost address";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(d.severity, BOUNCEINFO_SEVERITY_HARD);
	assert_string_equal(d.rule_id, bounceinfo_rule_hash_id(
		pool_datastack_create(), BOUNCEINFO_CLASS_USER_UNKNOWN, NULL,
		"ghost address"));
	facts.diagnostic = "550 phantom address";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_FILTERED);
	facts.smtp_command = "RCPT";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	facts.smtp_command = NULL;
	/* both markers, in either order */
	facts.diagnostic = "550 spectre address";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(d.severity, BOUNCEINFO_SEVERITY_HARD);
	facts.diagnostic = "550 wraith address";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_USER_UNKNOWN);
	assert_int_equal(d.severity, BOUNCEINFO_SEVERITY_SOFT);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

/* hard: no longer says certain: (doc/rules.md): a shipped user-unknown
   rule with hard: alone was meant as certain: and would now become
   filtered without a RCPT answer */
static void
rules_no_bare_hard(const ARRAY_TYPE(bounceinfo_rule) *rules)
{
	const struct bounceinfo_rule *rule;

	array_foreach(rules, rule) {
		if (rule->class_ == BOUNCEINFO_CLASS_USER_UNKNOWN &&
		    rule->severity == BOUNCEINFO_SEVERITY_HARD &&
		    !rule->certain) {
			fprintf(stderr, "%s: hard: on a user-unknown rule: "
				"write certain: (or hard: certain:)\n",
				rule->source);
			fail();
		}
	}
}

static void test_shipped_certainty(void **state)
{
	struct bounceinfo *bi = *state;

	rules_no_bare_hard(&bi->provider_rules);
	rules_no_bare_hard(&bi->rules);
	rules_no_bare_hard(&bi->rules_tier2);
}

static void test_literal_escapes(void **state)
{
	pool_t pool = pool_datastack_create();
	const char *dir, *error;
	struct bounceinfo *bi;
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d;

	(void)state;
	/* an escape's argument is no literal text */
	assert_string_equal(bounceinfo_pcre_literal(pool, "\\x20over quota"),
			    "over quota");
	assert_string_equal(bounceinfo_pcre_literal(pool,
		"abcd\\x{41}\\p{L}xyz"), "abcd");
	assert_string_equal(bounceinfo_pcre_literal(pool, "\\p{Lu}full box"),
			    "full box");
	assert_string_equal(bounceinfo_pcre_literal(pool, "\\cAtest me"),
			    "test me");
	assert_string_equal(bounceinfo_pcre_literal(pool, "\\0123full"),
			    "full");
	assert_null(bounceinfo_pcre_literal(pool, "\\Qa.b\\E"));
	/* (?x) ignores blanks: no literal */
	assert_null(bounceinfo_pcre_literal(pool, "(?x) mail box full"));
	assert_string_equal(bounceinfo_pcre_literal(pool, "mail\\.box"),
			    "mail.box");

	/* one literal per top-level alternative; none if one lacks it */
	const char *const *lits = bounceinfo_pcre_literals(pool,
		"mailbox (?:is )?full|over (?:the )?quota|[|]quota exceeded");
	assert_non_null(lits);
	assert_string_equal(lits[0], "mailbox ");
	assert_string_equal(lits[1], "over ");
	assert_string_equal(lits[2], "quota exceeded");
	assert_null(lits[3]);
	assert_null(bounceinfo_pcre_literals(pool, "mailbox full|\\bq\\b"));
	assert_null(bounceinfo_pcre_literals(pool, "mailbox full|"));
	/* '|' inside a group, a class or escaped is no alternative */
	lits = bounceinfo_pcre_literals(pool, "(?:a|b) quota[|x]\\|full");
	assert_non_null(lits);
	assert_string_equal(lits[0], " quota");
	assert_null(lits[1]);
	assert_true(bounceinfo_literals_found(lits, "the quota"));
	assert_false(bounceinfo_literals_found(lits, "the quot"));
	assert_true(bounceinfo_literals_found(NULL, "anything"));
	/* a mandatory group's alternatives, when they beat the best run */
	lits = bounceinfo_pcre_literals(pool,
		"(?:failed|fails) (?:the )?(?:spf|dkim check)");
	assert_non_null(lits);
	assert_string_equal(lits[0], "failed");
	assert_string_equal(lits[1], "fails");
	assert_null(lits[2]);
	/* optional groups and verbs give nothing */
	assert_null(bounceinfo_pcre_literals(pool, "(?:failed|fails)? a"));
	assert_null(bounceinfo_pcre_literals(pool, "(*UTF)(?:ab|cd) x"));
	assert_null(bounceinfo_pcre_literals(pool, "(?=quota)\\w+"));

	/* as doc/rules.md recommends for a significant blank at an end */
	dir = datadir_with("quota.rules",
			"\\x20full$\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	assert_non_null(bi);
	i_zero(&facts);
	facts.diagnostic = "the box is full";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_QUOTA);
	facts.diagnostic = "the box isfull";
	classify_facts(bi, &facts, &d);
	assert_int_equal(d.class_, BOUNCEINFO_CLASS_UNKNOWN);
	bounceinfo_deinit(&bi);
	test_rmtree(dir);
}

/* text classified with the prefilter on (bi) and off (bi_off): the same
   decision, returned */
static void
classify_on_off(struct bounceinfo *bi, struct bounceinfo *bi_off,
		const char *text, struct bounceinfo_decision *d_r)
{
	struct bounceinfo_facts facts;
	struct bounceinfo_decision d_off;

	i_zero(&facts);
	facts.diagnostic = text;
	bounceinfo_classify_facts(bi, &facts, d_r);
	bounceinfo_classify_facts(bi_off, &facts, &d_off);
	assert_int_equal(d_r->class_, d_off.class_);
	assert_int_equal(d_r->severity, d_off.severity);
	assert_true(null_strcmp(d_r->rule_id, d_off.rule_id) == 0);
}

/* Patterns that need a Cyrillic letter run only on text that has one,
   in any case (caseless UTF-8 also equates в with U+1C80) */
static void test_cyrillic_prefilter(void **state)
{
	pool_t pool = pool_datastack_create();
	const char *cyr = "\xd0,\xd1,\xd2,\xd3,\xe1\xb2";
	const char *const *lits;
	const char *dir, *error;
	struct bounceinfo *bi, *bi_off;
	static const char *const texts[] = {
		"550 ВИРУС обнаружен", "550 вирус", "550 \xe1\xb2\x80ирус",
		"550 virus found", "552 Почтовый ЯЩИК переполнен",
		"552 mailbox full", "",
	};
	static const enum bounceinfo_class classes[] = {
		BOUNCEINFO_CLASS_VIRUS, BOUNCEINFO_CLASS_VIRUS,
		BOUNCEINFO_CLASS_VIRUS, BOUNCEINFO_CLASS_UNKNOWN,
		BOUNCEINFO_CLASS_QUOTA, BOUNCEINFO_CLASS_UNKNOWN,
		BOUNCEINFO_CLASS_UNKNOWN,
	};

	(void)state;
	lits = bounceinfo_pcre_literals(pool, "вирус");
	assert_non_null(lits);
	assert_string_equal(t_strarray_join(lits, ","), cyr);
	lits = bounceinfo_pcre_literals(pool,
		"(?:ящик|почтовый ящик)(?: .{0,30})? (?:переполнен|заполнен)");
	assert_non_null(lits);
	assert_string_equal(t_strarray_join(lits, ","), cyr);
	/* one literal set per alternative, ASCII and Cyrillic together */
	lits = bounceinfo_pcre_literals(pool, "спам|spam filter");
	assert_non_null(lits);
	assert_string_equal(t_strarray_join(lits, ","),
			    t_strconcat(cyr, ",spam filter", NULL));
	/* optional, in a class or only in some alternatives: none */
	assert_null(bounceinfo_pcre_literals(pool, "(?:ящик)? \\d+"));
	assert_null(bounceinfo_pcre_literals(pool, "я? \\d+"));
	assert_null(bounceinfo_pcre_literals(pool, "[а-я]+ \\d+"));
	assert_null(bounceinfo_pcre_literals(pool, "(?:sp|спам) \\d+"));
	assert_null(bounceinfo_pcre_literals(pool, "(?!спам)\\w+"));

	dir = datadir_with("virus.rules", "вирус\n");
	test_write_file(t_strconcat(dir, "/rules/quota.rules", NULL),
		"(?:ящик|почтовый ящик)(?: .{0,30})? (?:переполнен|заполнен)\n");
	bi = test_bi_datadir(dir, NULL, FALSE, &error);
	assert_non_null(bi);
	bi_off = test_bi_datadir(dir, NULL, TRUE, &error);
	assert_non_null(bi_off);
	for (unsigned int i = 0; i < N_ELEMENTS(texts); i++) {
		struct bounceinfo_decision d;

		classify_on_off(bi, bi_off, texts[i], &d);
		assert_int_equal(d.class_, classes[i]);
	}
	bounceinfo_deinit(&bi);
	bounceinfo_deinit(&bi_off);
	test_rmtree(dir);
}

/* Texts to try every rule on: each line of the repository's test
   messages, and each recipient's diagnostic as the parser reads it */
static void
texts_add_dir(struct bounceinfo *bi, ARRAY_TYPE(const_string) *texts,
	      const char *dir)
{
	struct dirent *d;
	DIR *dirp = opendir(dir);

	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		struct bounceinfo_result *result;
		const struct bounceinfo_recipient *rcpt;
		const char *path, *line, *error;
		struct istream *input;
		pool_t pool;

		if (!bi_str_ends_with(d->d_name, ".eml"))
			continue;
		path = t_strconcat(dir, "/", d->d_name, NULL);
		input = i_stream_create_file(path, 4096);
		while ((line = i_stream_read_next_line(input)) != NULL) {
			if (uni_utf8_str_is_valid(line)) {
				line = t_strdup(line);
				array_push_back(texts, &line);
			}
		}
		i_stream_unref(&input);

		pool = pool_alloconly_create("rcpt texts", 4096);
		input = i_stream_create_file(path, 4096);
		assert_int_equal(bounceinfo_parse(bi, input, pool, &result,
						  &error), 0);
		i_stream_unref(&input);
		array_foreach(&result->recipients, rcpt) {
			if (rcpt->diagnostic != NULL) {
				line = t_strdup(rcpt->diagnostic);
				array_push_back(texts, &line);
			}
		}
		pool_unref(&pool);
	}
	(void)closedir(dirp);
}

static unsigned int
rules_check_literal(struct bounceinfo *bi,
		    ARRAY_TYPE(bounceinfo_rule) *rules,
		    const ARRAY_TYPE(const_string) *texts,
		    const char *const *folded)
{
	struct bounceinfo_rule *rule;
	unsigned int i, count, matched = 0;
	const char *const *t = array_get(texts, &count);

	array_foreach_modifiable(rules, rule) {
		bool any = FALSE;

		for (i = 0; i < count; i++) {
			if (!bounceinfo_rule_match(bi, rule, t[i],
						   strlen(t[i])))
				continue;
			any = TRUE;
			if (!bounceinfo_literals_found(rule->literals,
						       folded[i])) {
				fprintf(stderr, "%s (%s): none of the literals "
					"('%s'...) in matching text '%s'\n",
					rule->source, rule->id,
					rule->literals[0], t[i]);
				fail();
			}
		}
		if (any)
			matched++;
	}
	return matched;
}

static void test_prefilter_equivalence(void **state)
{
	struct bounceinfo *bi = *state, *bi_off;
	ARRAY_TYPE(const_string) texts;
	const char *error, *const *t, **folded;
	unsigned int i, count, matched = 0;

	t_array_init(&texts, 4096);
	texts_add_dir(bi, &texts, BOUNCEINFO_TEST_DATADIR "/tests/samples");
	texts_add_dir(bi, &texts,
		      BOUNCEINFO_TEST_DATADIR "/tests/sieve/messages");
	t = array_get(&texts, &count);
	assert_true(count > 1000);
	folded = t_new(const char *, count);
	for (i = 0; i < count; i++)
		folded[i] = bounceinfo_text_fold(t[i]);

	/* every shipped rule: whenever it matches, its literal is there */
	matched += rules_check_literal(bi, &bi->provider_rules, &texts,
				       folded);
	matched += rules_check_literal(bi, &bi->rules, &texts, folded);
	matched += rules_check_literal(bi, &bi->rules_tier2, &texts, folded);
	assert_true(matched > 50);

	/* and the classification of every text is the same without it */
	bi_off = test_bi_datadir(BOUNCEINFO_TEST_DATADIR, NULL, TRUE, &error);
	assert_non_null(bi_off);
	for (i = 0; i < count; i++) {
		struct bounceinfo_decision d;

		classify_on_off(bi, bi_off, t[i], &d);
		/* the refused SMTP command's patterns are prefiltered too */
		assert_true(null_strcmp(
			bounceinfo_smtp_command_find(bi, t[i]),
			bounceinfo_smtp_command_find(bi_off, t[i])) == 0);
	}
	bounceinfo_deinit(&bi_off);
}

/* Every result field the literal prefilter can influence, for one
   message parsed with it on and off */
static const char *
result_summary(struct bounceinfo *bi, const char *path)
{
	struct bounceinfo_result *result;
	const struct bounceinfo_recipient *rcpt;
	struct istream *input;
	const char *error;
	string_t *str = t_str_new(256);
	pool_t pool = pool_alloconly_create("summary", 4096);

	input = i_stream_create_file(path, 4096);
	assert_int_equal(bounceinfo_parse(bi, input, pool, &result, &error), 0);
	i_stream_unref(&input);
	str_printfa(str, "%s kind=%d mta=%s format=%s", path, result->kind,
		    result->mta == NULL ? "-" : result->mta,
		    result->format == NULL ? "-" : result->format);
	array_foreach(&result->recipients, rcpt) {
		str_printfa(str, " [%s %s %d %d %s %s %s]",
			    rcpt->address == NULL ? "-" : rcpt->address,
			    rcpt->remote_mta == NULL ? "-" : rcpt->remote_mta,
			    rcpt->class_, rcpt->severity,
			    rcpt->rule_id == NULL ? "-" : rcpt->rule_id,
			    rcpt->matched_rule == NULL ? "-" :
			    rcpt->matched_rule,
			    rcpt->smtp_command == NULL ? "-" :
			    rcpt->smtp_command);
	}
	pool_unref(&pool);
	return str_c(str);
}

static void
messages_compare_dir(struct bounceinfo *bi, struct bounceinfo *bi_off,
		     const char *dir, unsigned int *count)
{
	struct dirent *d;
	DIR *dirp = opendir(dir);

	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_type == DT_DIR && d->d_name[0] != '.') {
			T_BEGIN {
				messages_compare_dir(bi, bi_off,
					t_strconcat(dir, "/", d->d_name, NULL),
					count);
			} T_END;
			continue;
		}
		if (!bi_str_ends_with(d->d_name, ".eml"))
			continue;
		T_BEGIN {
			const char *path = t_strconcat(dir, "/", d->d_name,
						       NULL);
			const char *on = result_summary(bi, path);
			const char *off = result_summary(bi_off, path);

			if (strcmp(on, off) != 0) {
				fprintf(stderr, "prefilter on:  %s\n"
					"prefilter off: %s\n", on, off);
				fail();
			}
		} T_END;
		(*count)++;
	}
	(void)closedir(dirp);
}

/* The one-pass literal search finds exactly what strstr() finds */
static void test_acmatch(void **state)
{
	static const char alphabet[] = "abhers .";
	const char *lits[64];
	unsigned int ids[64];
	struct bi_acmatch *ac;
	unsigned int i, j, round, found_any = 0;

	(void)state;
	srand(4242);
	for (round = 0; round < 50; round++) T_BEGIN {
		unsigned int nlits = 1 + rand() % 40;
		char text[200];
		unsigned char *hits;

		ac = bi_acmatch_create();
		for (i = 0; i < nlits; i++) {
			unsigned int len = 1 + rand() % 5;
			char *lit = t_malloc0(len + 1);

			for (j = 0; j < len; j++)
				lit[j] = alphabet[rand() % (sizeof(alphabet) - 1)];
			lits[i] = lit;
			ids[i] = bi_acmatch_add(ac, lit);
		}
		bi_acmatch_build(ac);
		hits = t_malloc0(bi_acmatch_set_size(ac));
		for (unsigned int t = 0; t < 20; t++) {
			unsigned int len = rand() % (sizeof(text) - 1);

			for (j = 0; j < len; j++)
				text[j] = "abhers .xyz"[rand() % 11];
			text[len] = '\0';
			bi_acmatch_scan(ac, text, len, hits);
			for (i = 0; i < nlits; i++) {
				bool expected = strstr(text, lits[i]) != NULL;

				assert_int_equal(bi_acmatch_found(hits, ids[i]),
						 expected);
				found_any += expected ? 1 : 0;
			}
			/* folded scan: upper case, KELVIN SIGN, long s */
			string_t *mixed = t_str_new(len * 3 + 1);
			for (j = 0; j < len; j++) {
				if (text[j] == 's' && rand() % 3 == 0)
					str_append(mixed, "\xc5\xbf");
				else if (text[j] == 'h' && rand() % 3 == 0)
					str_append(mixed, "\xe2\x84\xaa");
				else if (rand() % 2 == 0 && text[j] >= 'a' &&
					 text[j] <= 'z')
					str_append_c(mixed, text[j] - 'a' + 'A');
				else
					str_append_c(mixed, text[j]);
			}
			const char *folded = bounceinfo_text_fold(str_c(mixed));
			bi_acmatch_scan_fold(ac, str_c(mixed), str_len(mixed),
					     hits);
			for (i = 0; i < nlits; i++) {
				assert_int_equal(bi_acmatch_found(hits, ids[i]),
						 strstr(folded, lits[i]) != NULL);
			}
		}
		bi_acmatch_free(&ac);
	} T_END;
	assert_true(found_any > 100);
}

static void
assert_starts(const char *pattern, bool multiline, const char *expected)
{
	pool_t pool = pool_datastack_create();
	const char *error;
	pcre2_code *code = bounceinfo_pcre_compile(pattern, &error);
	const char *const *starts;

	assert_non_null(code);
	starts = bounceinfo_pcre_line_starts(pool, pattern, code, multiline);
	if (expected == NULL) {
		if (starts != NULL)
			fprintf(stderr, "%s: unexpected line starts\n", pattern);
		assert_null(starts);
	} else {
		assert_non_null(starts);
		assert_string_equal(t_strarray_join(starts, ","), expected);
	}
	pcre2_code_free(code);
}

/* Header signatures matched field by field: which lines a pattern can
   start on, and the same answer as pcre2 over the whole header */
static void test_header_field_match(void **state)
{
	struct bounceinfo *bi = *state, *bi_off;
	const struct bounceinfo_mta_sig *sig;
	const char *error;
	unsigned int with_starts = 0, matched = 0;

	assert_starts("(?m)^From:.*@(?:googlemail|google)\\.com", FALSE,
		      "from:");
	assert_starts("(?m)^(?:X-ZohoMail|From:.*@zoho\\.com)", FALSE,
		      "x-zohomail,from:");
	assert_starts("(?m)^(?:X-SES-Outgoing|x-amz-sns-message-id):|"
		      "^From:.*@amazonses\\.com", FALSE,
		      "x-ses-outgoing,x-amz-sns-message-id,from:");
	assert_starts("^(X-Autoreply|X-Vacation):", TRUE,
		      "x-autoreply,x-vacation");
	assert_starts("^Return-Path:\\s*<\\s*>", TRUE, "return-path:");
	assert_starts("(?m)^X-MS-Exchange-Organization-[A-Za-z-]+", FALSE,
		      "x-ms-exchange-organization-");
	/* an optional character ends the start before it */
	assert_starts("(?m)^X-Autorespond?er:", FALSE, "x-autorespon");
	assert_starts("(?m)^X-Mailer: \\(qmail", FALSE, "x-mailer: (qmail");
	/* no multi-line mode: "^" is the header's first line only */
	assert_starts("^From:.*MDaemon", FALSE, NULL);
	/* an alternative that need not start a line */
	assert_starts("(?m)^Received: from .*Oracle|iPlanet Messaging", FALSE,
		      NULL);
	assert_starts("(?m)^\\s*From:", FALSE, NULL);
	assert_starts("(?m)^(?:From|X-Foo)?:", FALSE, NULL);
	assert_starts("(?m)^(?:From|):", FALSE, NULL);
	assert_starts("(?m)(?x)^From:", FALSE, NULL);
	assert_starts("(?m)^\\QFrom:\\E", FALSE, NULL);

	/* the shipped mta.map header signatures nearly all qualify */
	array_foreach(&bi->mta_sigs, sig) {
		if (sig->where == BOUNCEINFO_MTA_WHERE_HEADER &&
		    sig->line_starts != NULL)
			with_starts++;
	}
	assert_true(with_starts >= 15);

	/* field by field gives what the whole header gives, including
	   a KELVIN SIGN for 'k' in a field name and a match that is not on
	   the first line */
	static const char *const headers[] = {
		"Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mx.google.com>\nSubject: x\n",
		"Subject: Undeliverable\nfrom: postmaster@outlook.com\n",
		"X-Foo: From: x@google.com\nTo: y\n",
		"Subject: x\nX-MS-Exchange-Organization-SCL: 1\n",
		"Subject: x\nX-MS-Exchange-Organization-\n",
		"Subject: x\nX-Mailer: Amazon Wor\xe2\x84\xaaMail\n",
		"Subject: x\nX-ZohoMail: 1\n",
		"X-Mailer: Amazon WorkMail\n",
		"X-SES-Outgoing: 2020\n",
		"Subject: x\nFrom: a@b\nFrom: c@yahoo.co.jp\n",
		"",
		"From: ",
	};
	bi_off = test_bi_datadir(BOUNCEINFO_TEST_DATADIR, NULL, TRUE, &error);
	assert_non_null(bi_off);
	for (unsigned int i = 0; i < N_ELEMENTS(headers); i++) {
		size_t len = strlen(headers[i]);

		array_foreach(&bi->mta_sigs, sig) {
			bool whole, fields;

			if (sig->where != BOUNCEINFO_MTA_WHERE_HEADER)
				continue;
			whole = bounceinfo_pcre_match(bi, sig->code,
						      headers[i], len);
			fields = bounceinfo_header_match(bi, sig->code,
				sig->line_starts, headers[i], len);
			if (whole != fields) {
				fprintf(stderr, "%s: whole header %d, field "
					"by field %d: %s\n", sig->name, whole,
					fields, headers[i]);
			}
			assert_int_equal(whole, fields);
			matched += whole ? 1 : 0;
		}
		/* the header patterns of bounceinfo-detect.c */
		assert_int_equal(
			bounceinfo_detect_header_hint(bi, headers[i], len),
			bounceinfo_detect_header_hint(bi_off, headers[i], len));
		assert_int_equal(
			bounceinfo_detect_bounce_sign(bi, headers[i], len),
			bounceinfo_detect_bounce_sign(bi_off, headers[i], len));
		assert_int_equal(
			bounceinfo_detect_complaint_header(bi, headers[i], len),
			bounceinfo_detect_complaint_header(bi_off, headers[i],
							   len));
		assert_string_equal(
			t_strconcat("", bounceinfo_mta_detect(bi, headers[i], ""), NULL),
			t_strconcat("", bounceinfo_mta_detect(bi_off, headers[i], ""), NULL));
	}
	assert_true(matched >= 7);
	bounceinfo_deinit(&bi_off);
}

/* The rules/signs/ lines searched for in a bounce's text run one by one,
   each only when one of its literals is there: the same answers as with
   every line run */
static void test_signs_prefilter(void **state)
{
	struct bounceinfo *bi = *state, *bi_off;
	const char *error;
	static const struct {
		const char *text;
		bool delayed;
	} texts[] = {
		{ "This is a warning message only. Delivery attempts will "
		  "continue.", TRUE },
		{ "Delivery attempts will continue, but this one is a "
		  "permanent error", FALSE },
		{ "Die Zustellung VERZÖGERT sich, es wird weiter versucht",
		  TRUE },
		{ "ДОСТАВКА ЗАДЕРЖИВАЕТСЯ", TRUE },
		{ "Doručení se zpozdilo", TRUE },
		{ "Hello, lunch at noon?", FALSE },
		{ "", FALSE },
	};

	(void)state;
	bi_off = test_bi_datadir(BOUNCEINFO_TEST_DATADIR, NULL, TRUE, &error);
	assert_non_null(bi_off);
	for (unsigned int i = 0; i < N_ELEMENTS(texts); i++) {
		bool on = bounceinfo_detect_delay_warning(bi, texts[i].text);

		if (on != texts[i].delayed)
			fprintf(stderr, "delay warning %d: %s\n", on,
				texts[i].text);
		assert_int_equal(on, texts[i].delayed);
		assert_int_equal(bounceinfo_detect_delay_warning(bi_off,
			texts[i].text), on);
	}
	bounceinfo_deinit(&bi_off);
}

/* Whole messages: the same results (class, severity, rule, SMTP
   command, answering server, mail system) with the literal prefilters
   (rules, mta.map signatures, SMTP-command and answering-server
   patterns) disabled and enabled */
static void test_prefilter_messages(void **state)
{
	struct bounceinfo *bi = *state, *bi_off;
	const char *error;
	unsigned int count = 0;

	bi_off = test_bi_datadir(BOUNCEINFO_TEST_DATADIR, NULL, TRUE, &error);
	assert_non_null(bi_off);
	messages_compare_dir(bi, bi_off,
			     BOUNCEINFO_TEST_DATADIR "/tests/samples", &count);
	messages_compare_dir(bi, bi_off,
			     BOUNCEINFO_TEST_DATADIR "/tests/sieve/messages",
			     &count);
	assert_true(count > 50);
	bounceinfo_deinit(&bi_off);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_ids),
		cmocka_unit_test(test_rule_id_errors),
		cmocka_unit_test(test_provider_scope),
		cmocka_unit_test(test_provider_scope_message),
		cmocka_unit_test(test_certainty),
		cmocka_unit_test(test_shipped_certainty),
		cmocka_unit_test(test_literal_escapes),
		cmocka_unit_test(test_cyrillic_prefilter),
		cmocka_unit_test(test_prefilter_equivalence),
		cmocka_unit_test(test_prefilter_messages),
		cmocka_unit_test(test_header_field_match),
		cmocka_unit_test(test_signs_prefilter),
		cmocka_unit_test(test_acmatch),
	};
	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
