#ifndef BOUNCEINFO_H
#define BOUNCEINFO_H

/* Public API of lib-bounceinfo: turn one raw message into structured
   bounce facts and one class per reported recipient.

   The library depends only on libdovecot (lib, lib-mail, lib-charset) and
   pcre2. The plugins and the CLI depend on it, never the other way round.

   Usage:
     struct bounceinfo *bi;
     if (bounceinfo_init(&set, &bi, &error) < 0) ...   (once per process)
     bounceinfo_parse(bi, input, pool, &result, &error); (per message)
     bounceinfo_explain_kind(bi, result->kind, class, "pl"); (per recipient)
     bounceinfo_deinit(&bi);
*/

struct istream;
struct bounceinfo;

enum bounceinfo_kind {
	BOUNCEINFO_KIND_NONE = 0,
	/* multipart/report; report-type=delivery-status (RFC 3464/6522)
	   with at least one failed recipient */
	BOUNCEINFO_KIND_DSN,
	/* a non-DSN bounce recognised from its text */
	BOUNCEINFO_KIND_NDR,
	/* delivery delayed warning (Action: delayed or its text form) */
	BOUNCEINFO_KIND_DELAYED,
	/* Action: delivered/relayed/expanded */
	BOUNCEINFO_KIND_DELIVERY_REPORT,
	/* RFC 3834 auto-reply, vacation */
	BOUNCEINFO_KIND_AUTOREPLY,
	/* ARF abuse report (RFC 5965) */
	BOUNCEINFO_KIND_COMPLAINT,

	BOUNCEINFO_KIND_COUNT
};

/* Keep in the order of the class table in bounceinfo-types.c and doc/. */
enum bounceinfo_class {
	BOUNCEINFO_CLASS_UNKNOWN = 0,
	BOUNCEINFO_CLASS_USER_UNKNOWN,
	BOUNCEINFO_CLASS_QUOTA,
	BOUNCEINFO_CLASS_DISABLED,
	BOUNCEINFO_CLASS_MOVED,
	BOUNCEINFO_CLASS_HOST_UNKNOWN,
	BOUNCEINFO_CLASS_NO_MAIL,
	BOUNCEINFO_CLASS_SPAM,
	BOUNCEINFO_CLASS_VIRUS,
	BOUNCEINFO_CLASS_BLOCKLIST,
	BOUNCEINFO_CLASS_REPUTATION,
	BOUNCEINFO_CLASS_RDNS,
	BOUNCEINFO_CLASS_AUTH,
	BOUNCEINFO_CLASS_RELAY,
	BOUNCEINFO_CLASS_SENDER_REJECTED,
	BOUNCEINFO_CLASS_FILTERED,
	BOUNCEINFO_CLASS_POLICY,
	BOUNCEINFO_CLASS_SECURITY,
	BOUNCEINFO_CLASS_SIZE,
	BOUNCEINFO_CLASS_RATE_LIMIT,
	BOUNCEINFO_CLASS_CONTENT,
	BOUNCEINFO_CLASS_SYNTAX,
	BOUNCEINFO_CLASS_SYSTEM,
	BOUNCEINFO_CLASS_MAILER,
	BOUNCEINFO_CLASS_NETWORK,
	BOUNCEINFO_CLASS_EXPIRED,
	/* classes of the non-bounce kinds */
	BOUNCEINFO_CLASS_DELIVERY_REPORT,
	BOUNCEINFO_CLASS_AUTOREPLY,
	BOUNCEINFO_CLASS_COMPLAINT,

	BOUNCEINFO_CLASS_COUNT
};

enum bounceinfo_severity {
	/* not a failure (delivery report, auto-reply, complaint) */
	BOUNCEINFO_SEVERITY_NONE = 0,
	/* temporary or fixable: retrying or fixing the sender side may help */
	BOUNCEINFO_SEVERITY_SOFT,
	/* the address itself is bad: retrying cannot help */
	BOUNCEINFO_SEVERITY_HARD,

	BOUNCEINFO_SEVERITY_COUNT
};

struct bounceinfo_recipient {
	/* All strings are valid UTF-8, NUL-terminated, allocated from the
	   result pool; NULL when unknown. */
	const char *address;          /* Final-Recipient, else Original-, else text */
	const char *original_address; /* Original-Recipient, if given */
	/* One of RFC 3464's five actions "failed", "delayed", "delivered",
	   "relayed", "expanded" (see bounceinfo_action_canonical()), or
	   NULL when the bounce states none or an unrecognised one. */
	const char *action;
	const char *status;           /* enhanced status "5.1.1" */
	unsigned int reply_code;      /* SMTP reply code 550, or 0 */
	const char *remote_mta;
	const char *diagnostic;       /* unfolded, decoded, trimmed */

	enum bounceinfo_class class_;
	enum bounceinfo_severity severity;
	/* Which rule decided the class, e.g. "rules/quota.rules:12" or
	   "status:5.2.2": for debugging and `bounceinfo --explain-rule`. */
	const char *matched_rule;
	/* Stable id of what decided, independent of line numbers:
	   "quota/1a2b3c4d" or "microsoft/ms-blocked-ip" for a text rule,
	   "status/X.2.2" for a status.map entry, "command/MAIL",
	   "kind/complaint", "action/delivered"; NULL when nothing did. */
	const char *rule_id;
	/* SMTP command the remote server refused: "CONN", "HELO", "MAIL",
	   "RCPT", "DATA"; NULL if the bounce does not say. */
	const char *smtp_command;
};

struct bounceinfo_original {
	/* From the returned original message (message/rfc822 or
	   text/rfc822-headers part, or inline copy), NULL when absent. */
	const char *message_id;
	const char *subject;
	const char *from;
	const char *to;
	const char *date;
};

struct bounceinfo_result {
	pool_t pool;
	enum bounceinfo_kind kind;
	/* Detected mail system that produced the bounce, e.g. "postfix",
	   "exim", "qmail", "exchange", "gmail"; NULL if unknown. */
	const char *mta;
	const char *reporting_mta;
	const char *arrival_date;
	/* The format parser that read the message: "dsn", "text-ndr",
	   "ses-json", "arf", "autoreply", ... (doc/rules.md); NULL when the
	   header alone showed it is not a bounce. */
	const char *format;
	ARRAY(struct bounceinfo_recipient) recipients;
	struct bounceinfo_original original;
	/* The scan cap or the recipient cap was reached: facts past it
	   were not looked at. */
	bool truncated:1;
};

struct bounceinfo_settings {
	/* Directory holding rules/ and explanations/ (NULL = compiled-in
	   BOUNCEINFO_DATADIR). */
	const char *datadir;
	/* Extra rules files or directories of the administrator; they take
	   precedence over the shipped rules. NULL-terminated, may be NULL. */
	const char *const *extra_rules;
	/* Limits for hostile input; 0 = default. */
	size_t max_scan_bytes;        /* body text scanned, default 256 KiB */
	unsigned int max_recipients;  /* recipients kept, default 1000 */
	unsigned int max_mime_parts;  /* default 100 */
	/* pcre2 match and depth limits; 0 = default */
	unsigned int pcre_match_limit;
	unsigned int pcre_depth_limit;
	/* Parent event for logging (may be NULL). */
	struct event *event_parent;
	/* Tests only: match every pattern without the literal prefilter,
	   to check that the prefilter never changes a result. */
	bool no_prefilter;
};

#define BOUNCEINFO_DEFAULT_MAX_SCAN_BYTES (256 * 1024)
#define BOUNCEINFO_DEFAULT_MAX_RECIPIENTS 1000
#define BOUNCEINFO_DEFAULT_MAX_MIME_PARTS 100

/* Load rules and explanations. Returns 0 on success, -1 with error_r
   naming the file and line at fault. A struct bounceinfo holds shared
   pcre2 match data: use it from one thread at a time.
   The text rules' patterns are compiled when first tried, not here: a
   rule whose pattern does not compile is then logged once (an error
   through the library's event, naming file and line) and left out, the
   message still classified. Use bounceinfo_rules_check() to find such
   rules before deploying. */
int bounceinfo_init(const struct bounceinfo_settings *set,
		    struct bounceinfo **bi_r, const char **error_r);
void bounceinfo_deinit(struct bounceinfo **bi);
/* Compile every text rule's pattern now. Returns 0 if all compile, -1
   with error_r holding one "file:line: pcre2 error at offset N: ..."
   line per pattern that does not ("\n"-separated); those rules never
   match (and are not logged again when tried). */
int bounceinfo_rules_check(struct bounceinfo *bi, const char **error_r);
/* A classifier shared by every caller of the process (users of an LMTP
   process, Sieve instances) whose settings load the same rules with the
   same limits, so that the rules are compiled once per process. created_r
   says whether this call loaded it. A failed load is not kept: the next
   call tries again. Each plugin links its own copy of this library, so
   each has its own list. */
int bounceinfo_shared_get(const struct bounceinfo_settings *set,
			  struct bounceinfo **bi_r, bool *created_r,
			  const char **error_r);
/* Free every shared classifier (at plugin unload or process exit). */
void bounceinfo_shared_free_all(void);
/* Log through a new child of parent (NULL: a root event) from now on. For
   a classifier shared by a whole process whose callers each have their own
   event (the Sieve extension: one Sieve instance per delivery; the mail
   plugin: the users of an LMTP process), so that the classifier neither
   logs with a finished caller's prefix nor keeps its event referenced.
   Nothing changes when parent is the current one already. */
void bounceinfo_set_event_parent(struct bounceinfo *bi, struct event *parent);

/* Parse one message read from input (not seeked back afterwards).
   Always gives a result (kind NONE if not a bounce) unless reading the
   stream fails, in which case -1 is returned with error_r set. The
   result is allocated from pool. Only the first
   bounceinfo_get_read_limit() bytes are kept and looked at (a top-level
   header line keeps its first 64 KiB), by every caller and by
   bounceinfo_parse_data() alike: the same bytes give the same result in
   the mail plugin, the Sieve extension, doveadm and the CLI. */
int bounceinfo_parse(struct bounceinfo *bi, struct istream *input,
		     pool_t pool, struct bounceinfo_result **result_r,
		     const char **error_r);

/* Same for a message in memory (its first bounceinfo_get_read_limit()
   bytes). */
int bounceinfo_parse_data(struct bounceinfo *bi, const void *data,
			  size_t size, pool_t pool,
			  struct bounceinfo_result **result_r,
			  const char **error_r);

/* How many bytes of a message are read: 4 x max(max_scan_bytes, 16 KiB),
   1 MiB by default. */
size_t bounceinfo_get_read_limit(struct bounceinfo *bi);

/* Classify one diagnostic (with optional status and reply code) as the
   parser does for each recipient; used by tests and the CLI. */
void bounceinfo_classify(struct bounceinfo *bi, const char *status,
			 unsigned int reply_code, const char *diagnostic,
			 enum bounceinfo_class *class_r,
			 enum bounceinfo_severity *severity_r,
			 const char **matched_rule_r);

/* Same with the SMTP command the failure followed (NULL = unknown;
   then it is looked for in the diagnostic). A recipient refused after
   the message was transferred ("DATA") was refused by a filter: "user
   unknown" then only means user-unknown with a X.1.x status. */
void bounceinfo_classify_full(struct bounceinfo *bi, const char *status,
			      unsigned int reply_code, const char *diagnostic,
			      const char *smtp_command,
			      enum bounceinfo_class *class_r,
			      enum bounceinfo_severity *severity_r,
			      const char **matched_rule_r);
/* Everything known about one recipient that classification may use.
   Only diagnostic, status and reply_code are needed; the others let
   provider-scoped rules (doc/rules.md) apply. */
struct bounceinfo_facts {
	const char *status;
	unsigned int reply_code;
	const char *diagnostic;
	/* NULL = look for it in the diagnostic */
	const char *smtp_command;
	/* TRUE: smtp_command is what bounceinfo_smtp_command_find() found in
	   diagnostic, NULL meaning nothing: the classifier does not search
	   the same text again (it still does when it had to clean or
	   un-underscore the diagnostic first) */
	bool smtp_command_searched;
	/* Remote-MTA host name or IP (NULL = as a text NDR names it) */
	const char *remote_mta;
	const char *reporting_mta;
	/* recipient address: its domain is matched */
	const char *recipient;
	/* the bounce's From address */
	const char *from;
	/* detected mail system (result->mta) */
	const char *mta;
};

struct bounceinfo_decision {
	enum bounceinfo_class class_;
	enum bounceinfo_severity severity;
	/* as in struct bounceinfo_recipient */
	const char *matched_rule;
	const char *rule_id;
};

void bounceinfo_classify_facts(struct bounceinfo *bi,
			       const struct bounceinfo_facts *facts,
			       struct bounceinfo_decision *decision_r);

/* The SMTP command a text says the failure followed, or NULL */
const char *bounceinfo_smtp_command_find(struct bounceinfo *bi,
					 const char *text);

/* One-sentence explanation and what to do, in the language lang
   ("pl", "ru", "cs", "en", "pt-BR" -> "pt" -> "en"); English fallback.
   Never NULL. */
const char *bounceinfo_explain(struct bounceinfo *bi,
			       enum bounceinfo_class class_,
			       const char *lang);
/* The explanation right for a recipient of a message of this kind: a
   delay warning's recipients (kind DELAYED) get "delayed:<class>" or
   "delayed" texts, never a text saying delivery failed. Other kinds
   without texts of their own get bounceinfo_explain(). Never NULL. */
const char *bounceinfo_explain_kind(struct bounceinfo *bi,
				    enum bounceinfo_kind kind,
				    enum bounceinfo_class class_,
				    const char *lang);
/* Languages for which an explanations file was loaded. */
const char *const *bounceinfo_get_languages(struct bounceinfo *bi);

/* Names: "user-unknown", "quota", ...; "dsn", "ndr", ...; "hard", "soft",
   "none". */
const char *bounceinfo_class_name(enum bounceinfo_class class_);
const char *bounceinfo_kind_name(enum bounceinfo_kind kind);
const char *bounceinfo_severity_name(enum bounceinfo_severity severity);
bool bounceinfo_class_parse(const char *name, enum bounceinfo_class *class_r);
bool bounceinfo_kind_parse(const char *name, enum bounceinfo_kind *kind_r);
bool bounceinfo_severity_parse(const char *name,
			       enum bounceinfo_severity *severity_r);
/* "CONN", "HELO", "MAIL", "RCPT", "DATA" (case-insensitive) */
bool bounceinfo_smtp_command_is_valid(const char *name);
/* Comma-separated list of all valid names, for error messages. */
const char *bounceinfo_class_names_list(void);
const char *bounceinfo_kind_names_list(void);
const char *bounceinfo_severity_names_list(void);
const char *bounceinfo_smtp_command_names_list(void);

/* The RFC 3464 action a field value names ("Failed (bad mailbox)" ->
   "failed"), as a static string; NULL if it names none of the five. */
const char *bounceinfo_action_canonical(const char *value);

/* The first recipient that failed (or the first at all), NULL if none. */
const struct bounceinfo_recipient *
bounceinfo_result_first_recipient(const struct bounceinfo_result *result);
/* TRUE for dsn, ndr and delayed. */
bool bounceinfo_kind_is_bounce(enum bounceinfo_kind kind);

#endif
