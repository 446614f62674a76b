/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Deciding one recipient's class:

   1. the administrator's rules (extra_rules) on the diagnostic text,
      and the shipped provider-scoped rules whose @scope applies;
   2. "strong" status.map entries: specific enhanced status codes such as
      5.2.2 (mailbox full) or 5.7.26 (DMARC) are trusted over the text;
   3. the shipped text rules of the first tier (classes about the
      sender, the sending server and the message), in class priority;
   4. refused at connection or greeting time: blocklist;
   5. refused at MAIL FROM: sender-rejected;
   6. the text rules of the second tier (the recipient, delivery);
   7. the other status.map entries (generic codes such as 5.7.1 or 5.0.0
      only say something when the text did not);
   8. the SMTP reply code ("code:552" entries);
   9. unknown.
   Adjustments: host-unknown with a temporary code is network trouble;
   "user unknown" with neither a X.1.x status nor a RCPT TO answer is
   filtered, unless the rule that matched is marked "certain:". */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "bounceinfo-private.h"

/* How MTAs say which command the remote server refused (in the order of
   the SMTP session; the last one mentioned in a text wins). The styles:
   Postfix "(in reply to RCPT TO command)", Exim "SMTP error from remote
   mail server after RCPT TO:<a@b>:", Sendmail/Courier ">>> RCPT To:<a@b>"
   transcripts, "RCPT TO:<a@b>: 550 ...", qmail "Connected to 192.0.2.1
   but sender was rejected.", IIS/Exchange "SMTP error from remote server
   for RCPT TO command", bracketed stage tokens "[RCPT_TO]", Gmail "(state
   14)" (its SMTP client state: 12/13 MAIL FROM, 14 RCPT TO, 17/18 DATA),
   and "during/at ... RCPT stage". Names: TEAM.md/doc/rules.md, "CONN",
   "HELO", "MAIL", "RCPT", "DATA". */
static const struct {
	const char *name;
	const char *pattern;
} command_patterns[] = {
	{ "CONN", "after (the )?initial connection|(before|during|in) (the )?"
		"(smtp )?greeting|(connection|banner) rejected|"
		"refused to talk to me|did not like our greeting|"
		"but greeting failed|my name was rejected|"
		"\\[(?:CONN|CONNECT|CONNECTION|BANNER|GREETING)\\]|"
		"\\b(?:at|upon|on) connect(?:ion)? time\\b|"
		"\\bSMTP:CONN(?:ECT)?\\b" },
	{ "HELO", "after (EHLO|HELO|LHLO)\\b|>>> (EHLO|HELO|LHLO)\\b|"
		"in reply to (EHLO|HELO|LHLO)|did not like our (EHLO|HELO)|"
		"\\[(?:EHLO|HELO)\\]|\\bfor (?:the )?(?:EHLO|HELO) command|"
		"\\bSMTP:(?:EHLO|HELO)\\b" },
	{ "MAIL", "after (?:pipelined )?MAIL FROM|>>> MAIL FROM|in reply to MAIL FROM|"
		"MAIL FROM command|did not like our MAIL FROM|"
		"progress was MAIL FROM|but sender was rejected|"
		"\\(state 1[23]\\)|\\[MAIL(?:_FROM)?\\]|\\bSMTP:MAIL\\b|"
		"\\b(?:during|in|at) (?:the )?MAIL(?: FROM)? (?:stage|phase)" },
	{ "RCPT", "after (?:pipelined )?RCPT TO|>>> RCPT TO|in reply to RCPT TO|"
		"RCPT TO command|did not like our RCPT TO|"
		"progress was RCPT TO|RCPT TO:?\\s*<[^>]*>\\s*<<<|"
		"does not like recipient|\\bSMTP:RCPT\\b|\\(state 14\\)|"
		"(?:^|\\s|[(\\[;'\"])RCPT TO:\\s*<?[^\\s<>]+@|"
		"\\bRCPT\\b( TO)?( command)? (response|reply|failed|rejected)|"
		"while talking to .{0,80}>>> RCPT|\\[RCPT(?:_TO)?\\]|"
		"\\b(?:during|in|at) (?:the )?RCPT(?: TO)? (?:stage|phase)" },
	{ "DATA", "after (?:pipelined )?(end of )?data\\b|>>> DATA\\b|in reply to "
		"(end of )?DATA|did not like our (final )?DATA|"
		"(end of )?DATA command|after the message was sent|"
		"for TEXT command|progress was DATA|after DATA\\b|"
		"failed after I sent the message|\\(state 1[78]\\)|"
		"\\bDATA\\b( command)? (response|reply|failed)|"
		"\\[(?:DATA|EOD|END_OF_DATA|DATA_END)\\]|\\bSMTP:DATA\\b|"
		"\\b(?:during|in|at) (?:the )?(?:end of )?DATA (?:stage|phase)" },
};

/* Without an explicit command: Postfix-style "550 <x@y>: ..." replies
   name the refused recipient, which only happens in answer to RCPT */
static const char *const implicit_rcpt_pattern =
	"\\b[45]\\d\\d[ :-]+(?:[45]\\.\\d{1,3}\\.\\d{1,3}\\s+)?"
	"[<\\[][^>\\]\\s]+@[^>\\]\\s]+[>\\]]:\\s"
	"(?!recipient address rejected: user unknown)";

/* Where a text NDR names the server that answered: Postfix "host
   mx.example.com[192.0.2.1] said:", Exim "host mx.example.com
   [192.0.2.1]:", Sendmail "while talking to mx.example.com.:" */
static const char *const remote_host_pattern =
	"(?:\\bhost\\s+|while talking to\\s+)"
	"([A-Za-z0-9][A-Za-z0-9.-]*\\.[A-Za-z]{2,})\\.?\\s*(?:\\[|:)";

void bounceinfo_classify_init(struct bounceinfo *bi)
{
	const char *error;

	bi->remote_host_code = bounceinfo_pcre_compile(remote_host_pattern,
						       &error);
	if (bi->remote_host_code == NULL)
		i_panic("bounceinfo: remote host pattern: %s", error);

	bi->implicit_rcpt_code = bounceinfo_pcre_compile(implicit_rcpt_pattern,
							 &error);
	if (bi->implicit_rcpt_code == NULL)
		i_panic("bounceinfo: implicit RCPT pattern: %s", error);

	i_assert(N_ELEMENTS(command_patterns) == N_ELEMENTS(bi->command_alts));
	for (unsigned int i = 0; i < N_ELEMENTS(command_patterns); i++) T_BEGIN {
		const char *const *alts =
			bounceinfo_pcre_alternatives(command_patterns[i].pattern);

		/* one pattern per alternative: the first match of the
		   whole pattern starts where the earliest of its
		   alternatives' first matches does, and each alternative
		   has its own literals to be skipped by */
		p_array_init(&bi->command_alts[i], bi->pool,
			     str_array_length(alts));
		for (; *alts != NULL; alts++) {
			struct bounceinfo_command_alt *alt =
				array_append_space(&bi->command_alts[i]);

			alt->code = bounceinfo_pcre_compile(*alts, &error);
			if (alt->code == NULL)
				i_panic("bounceinfo: command pattern: %s", error);
			alt->literals = bounceinfo_pcre_literals(bi->pool, *alts);
		}
	} T_END;
}

void bounceinfo_classify_deinit(struct bounceinfo *bi)
{
	if (bi->implicit_rcpt_code != NULL)
		pcre2_code_free(bi->implicit_rcpt_code);
	bi->implicit_rcpt_code = NULL;
	if (bi->remote_host_code != NULL)
		pcre2_code_free(bi->remote_host_code);
	bi->remote_host_code = NULL;
	for (unsigned int i = 0; i < N_ELEMENTS(bi->command_alts); i++) {
		struct bounceinfo_command_alt *alt;

		if (!array_is_created(&bi->command_alts[i]))
			continue;
		array_foreach_modifiable(&bi->command_alts[i], alt)
			pcre2_code_free(alt->code);
		array_clear(&bi->command_alts[i]);
	}
}

const char *bounceinfo_smtp_command_find(struct bounceinfo *bi,
					 const char *text)
{
	const char *found = NULL;
	size_t len, start, end, best = 0;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	const unsigned char *hits = bi->no_prefilter ? NULL :
		bounceinfo_prefilter_scan(bi, text);
	for (unsigned int i = 0; i < N_ELEMENTS(command_patterns); i++) {
		const struct bounceinfo_command_alt *alt;
		size_t first = SIZE_MAX;

		/* where the whole pattern's first match would start */
		array_foreach(&bi->command_alts[i], alt) {
			if (!bounceinfo_prefilter_candidate(alt->lit_ids,
					alt->lit_count, hits))
				continue;
			if (bounceinfo_pcre_match_group(bi, alt->code, text,
							len, 0, &start, &end) &&
			    start < first)
				first = start;
		}
		if (first != SIZE_MAX && (found == NULL || first >= best)) {
			found = command_patterns[i].name;
			best = first;
		}
	}
	if (found == NULL &&
	    bounceinfo_pcre_match(bi, bi->implicit_rcpt_code, text, len))
		found = "RCPT";
	return found;
}

static bool temporary_failure(const char *status, unsigned int reply_code)
{
	if (status != NULL)
		return status[0] == '4';
	return reply_code >= 400 && reply_code < 500;
}

static enum bounceinfo_severity
severity_adjust(enum bounceinfo_class class_,
		enum bounceinfo_severity severity, const char *status,
		unsigned int reply_code)
{
	bool temporary = (status != NULL && status[0] == '4') ||
		(status == NULL && reply_code >= 400 && reply_code < 500);

	if (severity == BOUNCEINFO_SEVERITY_NONE)
		severity = bounceinfo_class_default_severity(class_);
	/* A temporary failure cannot prove the address bad, except that
	   some servers (e.g. Postfix' unverified recipients) say "user
	   unknown" with 450. */
	if (temporary && severity == BOUNCEINFO_SEVERITY_HARD &&
	    class_ != BOUNCEINFO_CLASS_USER_UNKNOWN)
		severity = BOUNCEINFO_SEVERITY_SOFT;
	return severity;
}

void bounceinfo_classify(struct bounceinfo *bi, const char *status,
			 unsigned int reply_code, const char *diagnostic,
			 enum bounceinfo_class *class_r,
			 enum bounceinfo_severity *severity_r,
			 const char **matched_rule_r)
{
	bounceinfo_classify_full(bi, status, reply_code, diagnostic, NULL,
				 class_r, severity_r, matched_rule_r);
}

void bounceinfo_classify_full(struct bounceinfo *bi, const char *status,
			      unsigned int reply_code, const char *diagnostic,
			      const char *smtp_command,
			      enum bounceinfo_class *class_r,
			      enum bounceinfo_severity *severity_r,
			      const char **matched_rule_r)
{
	struct bounceinfo_facts facts;
	struct bounceinfo_decision decision;

	i_zero(&facts);
	facts.status = status;
	facts.reply_code = reply_code;
	facts.diagnostic = diagnostic;
	facts.smtp_command = smtp_command;
	bounceinfo_classify_facts(bi, &facts, &decision);
	*class_r = decision.class_;
	*severity_r = decision.severity;
	*matched_rule_r = decision.matched_rule;
}

/* The server that answered, as a text NDR names it ("host
   mx.example.com[192.0.2.1] said:", "while talking to mx.example.com.:")
   when there is no Remote-MTA field: only for provider scopes */
const char *bounceinfo_remote_host_find(struct bounceinfo *bi,
					const char *text)
{
	size_t start, end;

	if (text == NULL ||
	    !bounceinfo_pcre_match_group(bi, bi->remote_host_code, text,
					 strlen(text), 1, &start, &end) ||
	    end <= start)
		return NULL;
	return t_strndup(text + start, end - start);
}

static const char *address_domain(const char *address)
{
	const char *p;

	if (address == NULL || (p = strrchr(address, '@')) == NULL)
		return NULL;
	return t_str_lcase(t_strcut(p + 1, '>'));
}

static void
scope_ctx_init(struct bounceinfo *bi, struct bounceinfo_scope_ctx *scope,
	       const struct bounceinfo_facts *facts, const char *text)
{
	i_zero(scope);
	if (array_count(&bi->providers) == 0)
		return;
	scope->applies = t_new(unsigned char, array_count(&bi->providers));
	scope->values[BOUNCEINFO_SCOPE_REMOTE_MTA] = facts->remote_mta;
	if (facts->remote_mta == NULL)
		scope->remote_text = text;
	scope->values[BOUNCEINFO_SCOPE_REPORTING_MTA] = facts->reporting_mta;
	scope->values[BOUNCEINFO_SCOPE_RECIPIENT_DOMAIN] =
		address_domain(facts->recipient);
	scope->values[BOUNCEINFO_SCOPE_FROM] = facts->from;
	scope->values[BOUNCEINFO_SCOPE_MTA] = facts->mta;
}

static void
decide_fixed(struct bounceinfo_decision *d, enum bounceinfo_class class_,
	     const char *rule, const char *id, const char *status,
	     unsigned int reply_code)
{
	d->class_ = class_;
	d->matched_rule = rule;
	d->rule_id = id;
	d->severity = severity_adjust(class_, BOUNCEINFO_SEVERITY_NONE,
				      status, reply_code);
}

static void
decide_rule(struct bounceinfo_decision *d, const struct bounceinfo_rule *rule,
	    const char *status, unsigned int reply_code, bool temporary,
	    const char *smtp_command)
{
	d->rule_id = rule->id;
	d->matched_rule = rule->source;
	if (rule->class_ == BOUNCEINFO_CLASS_HOST_UNKNOWN && temporary) {
		/* a DNS answer that may change: not proof the domain is
		   gone */
		d->class_ = BOUNCEINFO_CLASS_NETWORK;
		d->severity = BOUNCEINFO_SEVERITY_SOFT;
		return;
	}
	if (rule->class_ == BOUNCEINFO_CLASS_USER_UNKNOWN && !rule->certain &&
	    (status == NULL || strncmp(status + 1, ".1.", 3) != 0) &&
	    (smtp_command == NULL || strcmp(smtp_command, "RCPT") != 0)) {
		/* "no such user" when the message itself was refused, or
		   without anything saying the address was refused: a
		   filter's answer, which proves nothing about the address.
		   Rules marked "certain:" are phrasings only ever used for
		   addresses that do not exist. */
		d->class_ = BOUNCEINFO_CLASS_FILTERED;
		d->severity = severity_adjust(d->class_,
			BOUNCEINFO_SEVERITY_NONE, status, reply_code);
		d->matched_rule = rule->source_not_rcpt;
		return;
	}
	d->class_ = rule->class_;
	d->severity = severity_adjust(rule->class_, rule->severity,
				      status, reply_code);
}

static void
decide_status(struct bounceinfo_decision *d,
	      const struct bounceinfo_status_entry *entry,
	      const char *status, unsigned int reply_code, bool rcpt)
{
	d->class_ = entry->class_;
	/* a refusal at RCPT is about the recipient, never a filter's
	   verdict on the message */
	if (d->class_ == BOUNCEINFO_CLASS_FILTERED && rcpt)
		d->class_ = BOUNCEINFO_CLASS_POLICY;
	d->severity = severity_adjust(entry->class_, entry->severity,
				      status, reply_code);
	d->matched_rule = entry->source;
	d->rule_id = entry->id;
}

static void
classify_real(struct bounceinfo *bi, const struct bounceinfo_facts *facts,
	      struct bounceinfo_decision *d)
{
	const struct bounceinfo_rule *rule;
	const struct bounceinfo_status_entry *entry = NULL;
	struct bounceinfo_scope_ctx scope;
	const char *text = facts->diagnostic;
	const unsigned char *hits;
	const char *status = facts->status, *smtp_command = facts->smtp_command;
	unsigned int reply_code = facts->reply_code;
	bool temporary;

	if (text == NULL)
		text = "";
	else if (!uni_utf8_str_is_valid(text)) {
		text = bounceinfo_text_clean(pool_datastack_create(), text,
					     strlen(text), SIZE_MAX / 8);
		if (text == NULL)
			text = "";
	}
	text = bounceinfo_text_ununderscore(text);
	hits = bounceinfo_prefilter_scan(bi, text);
	if (!bounceinfo_status_is_valid(status))
		status = NULL;
	temporary = temporary_failure(status, reply_code);
	/* the parser's search of this same text is the answer (the
	   parser and the classifier look at the same diagnostic) */
	if (smtp_command == NULL &&
	    !(facts->smtp_command_searched && text == facts->diagnostic))
		smtp_command = bounceinfo_smtp_command_find(bi, text);
	if (status != NULL && status[0] == '2')
		smtp_command = NULL;
	scope_ctx_init(bi, &scope, facts, text);
	scope.rcpt = smtp_command != NULL && strcmp(smtp_command, "RCPT") == 0;

	/* 1. administrator's rules (scoped ones where their block applies) */
	rule = bounceinfo_rules_match(bi, &bi->admin_rules, text, hits,
				      &scope);
	if (rule != NULL) {
		d->class_ = rule->class_;
		d->severity = severity_adjust(rule->class_, rule->severity,
					      status, reply_code);
		d->matched_rule = rule->source;
		d->rule_id = rule->id;
		return;
	}

	/* 1b. shipped provider rules: a provider's own codes and wording,
	   only on its mail */
	rule = bounceinfo_rules_match(bi, &bi->provider_rules, text, hits,
				      &scope);
	if (rule != NULL) {
		decide_rule(d, rule, status, reply_code, temporary,
			    smtp_command);
		return;
	}

	/* 2. specific status codes */
	if (status != NULL)
		entry = bounceinfo_status_lookup(bi, status);
	if (entry != NULL && entry->strong) {
		decide_status(d, entry, status, reply_code, scope.rcpt);
		return;
	}

	/* 3. text rules about the sender, server or message */
	rule = bounceinfo_rules_match(bi, &bi->rules, text, hits, &scope);
	if (rule != NULL) {
		decide_rule(d, rule, status, reply_code, temporary,
			    smtp_command);
		return;
	}

	/* 4. refused at connection or greeting time: the sending server
	   itself is not welcome */
	if (smtp_command != NULL && (strcmp(smtp_command, "CONN") == 0 ||
				     strcmp(smtp_command, "HELO") == 0)) {
		decide_fixed(d, BOUNCEINFO_CLASS_BLOCKLIST, "command:CONN",
			     "command/CONN", status, reply_code);
		return;
	}

	/* 5. refused at MAIL FROM: the sender address */
	if (smtp_command != NULL && strcmp(smtp_command, "MAIL") == 0) {
		decide_fixed(d, BOUNCEINFO_CLASS_SENDER_REJECTED,
			     "command:MAIL", "command/MAIL", status, reply_code);
		return;
	}

	/* 6. text rules about the recipient and delivery */
	rule = bounceinfo_rules_match(bi, &bi->rules_tier2, text, hits,
				      &scope);
	if (rule != NULL) {
		decide_rule(d, rule, status, reply_code, temporary,
			    smtp_command);
		return;
	}

	/* 7. generic status codes */
	if (entry != NULL) {
		decide_status(d, entry, status, reply_code, scope.rcpt);
		return;
	}

	/* 8. reply code */
	if (reply_code != 0) {
		entry = bounceinfo_status_lookup(bi,
			t_strdup_printf("code:%03u", reply_code));
		if (entry != NULL) {
			decide_status(d, entry, status, reply_code, scope.rcpt);
			return;
		}
	}

	decide_fixed(d, BOUNCEINFO_CLASS_UNKNOWN, NULL, NULL, status,
		     reply_code);
}

void bounceinfo_classify_facts(struct bounceinfo *bi,
			       const struct bounceinfo_facts *facts,
			       struct bounceinfo_decision *decision_r)
{
	i_zero(decision_r);
	classify_real(bi, facts, decision_r);
	/* the decision's strings are static or in bi's pool */
	e_debug(bi->event, "classified %s as %s (%s) by %s [%s]",
		facts->recipient == NULL ? "?" : facts->recipient,
		bounceinfo_class_name(decision_r->class_),
		bounceinfo_severity_name(decision_r->severity),
		decision_r->rule_id == NULL ? "-" : decision_r->rule_id,
		decision_r->matched_rule == NULL ? "-" :
		decision_r->matched_rule);
}
