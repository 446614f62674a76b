#ifndef BOUNCEINFO_PRIVATE_H
#define BOUNCEINFO_PRIVATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hash.h"
#include "bounceinfo.h"
#include "bounceinfo-compat.h"
#include "bounceinfo-acmatch.h"

/* Longest diagnostic kept per recipient (bytes, cut at a UTF-8 boundary) */
#define BOUNCEINFO_MAX_DIAGNOSTIC_LEN 1000
/* Longest other string field (address, header value) */
#define BOUNCEINFO_MAX_FIELD_LEN 512
/* Longest text classified when a bounce has nothing per recipient */
#define BOUNCEINFO_MAX_CLASSIFY_LEN 4096

#define BOUNCEINFO_DEFAULT_PCRE_MATCH_LIMIT 100000
#define BOUNCEINFO_DEFAULT_PCRE_DEPTH_LIMIT 2000
/* bounceinfo.jit_done (a power of 2) */
#define BOUNCEINFO_JIT_DONE_SLOTS 256

static inline bool bi_str_ends_with(const char *str, const char *suffix)
{
	size_t len = strlen(str), slen = strlen(suffix);

	return len >= slen && strcmp(str + len - slen, suffix) == 0;
}

/* A header or field name compared with a literal: the length first, so
   that a chain of names costs a strcasecmp() only on the likely one */
#define BI_NAME_IS(name, name_len, lit) \
	((name_len) == sizeof(lit) - 1 && strcasecmp((name), (lit)) == 0)

/* Facts of a recipient a provider block's @scope lines are matched
   against (doc/rules.md "Provider scope") */
enum bounceinfo_scope_field {
	BOUNCEINFO_SCOPE_REMOTE_MTA = 0,
	BOUNCEINFO_SCOPE_REPORTING_MTA,
	BOUNCEINFO_SCOPE_RECIPIENT_DOMAIN,
	BOUNCEINFO_SCOPE_FROM,
	BOUNCEINFO_SCOPE_MTA,

	BOUNCEINFO_SCOPE_FIELD_COUNT
};

struct bounceinfo_scope {
	enum bounceinfo_scope_field field;
	pcre2_code *code;
};
ARRAY_DEFINE_TYPE(bounceinfo_scope, struct bounceinfo_scope);

/* One "@provider NAME" block of a rules file */
struct bounceinfo_provider {
	const char *name;
	/* "rules/providers/microsoft.rules:3" (the @provider line) */
	const char *source;
	/* index in bounceinfo.providers: the per-recipient cache of which
	   blocks apply */
	unsigned int idx;
	ARRAY_TYPE(bounceinfo_scope) scopes;
};
ARRAY_DEFINE_TYPE(bounceinfo_provider_p, struct bounceinfo_provider *);

/* One text rule. Its pattern is compiled when the rule is first tried
   (the literal prefilter keeps most rules from ever running, and
   compiling them all dominated every process' start-up), and
   JIT-compiled then, once. bounceinfo_rules_check() compiles them all. */
struct bounceinfo_rule {
	/* the pattern as written (pool) */
	const char *pattern;
	/* NULL until the first use, or when the pattern does not compile
	   (logged once: the rule then never matches) */
	pcre2_code *code;
	/* compiling was tried (code NULL: it failed) */
	bool compiled:1;
	/* pcre2_jit_compile() was called (JIT is an optimisation only:
	   pcre2_match() interprets when it failed) */
	bool jit:1;
	enum bounceinfo_class class_;
	/* NONE = the class' default severity */
	enum bounceinfo_severity severity;
	/* "certain:": the phrasing alone decides; no adjustment by the
	   SMTP phase or status (user-unknown stays user-unknown without a
	   RCPT answer) */
	bool certain;
	/* stable id: "quota/1a2b3c4d" (hash of the pattern) or
	   "<provider-or-class>/<name>" given with a leading {name} */
	const char *id;
	/* "rules/quota.rules:12" */
	const char *source;
	/* user-unknown rules: source + " (not RCPT: filtered)" */
	const char *source_not_rcpt;
	/* prefilter: lowercase literals, one of which every match contains
	   (NULL-terminated), or NULL (bounceinfo_pcre_literals()) */
	const char *const *literals;
	/* the literals' ids in bounceinfo.prefilter (lit_count of them) */
	unsigned int *lit_ids, lit_count;
	/* the @provider block the rule is in, NULL when unscoped */
	const struct bounceinfo_provider *provider;
};
ARRAY_DEFINE_TYPE(bounceinfo_rule, struct bounceinfo_rule);

/* What one recipient's provider scopes are matched against, with a cache
   of the blocks already decided (one classification) */
struct bounceinfo_scope_ctx {
	const char *values[BOUNCEINFO_SCOPE_FIELD_COUNT];
	/* no Remote-MTA: the text the server that answered is looked for
	   in, once, when a block's scope first needs it */
	const char *remote_text;
	/* per provider block: 0 not yet known, 1 applies, 2 does not */
	unsigned char *applies;
	/* refused at RCPT: rules of the class filtered do not apply (the
	   message itself was never seen) */
	bool rcpt;
};

/* One line of status.map */
struct bounceinfo_status_entry {
	/* "5.1.1", "5.7.", "X.7.26" ('X' matches 4 and 5) */
	const char *pattern;
	enum bounceinfo_class class_;
	enum bounceinfo_severity severity;
	/* strong entries decide before the text rules, weak ones only
	   when no text rule matched */
	bool strong;
	const char *source;
	/* stable id: "status/X.2.2", "status/code:552" */
	const char *id;
};
ARRAY_DEFINE_TYPE(bounceinfo_status_entry, struct bounceinfo_status_entry);

/* One line of mta.map: mail system name, where to look and a pattern */
enum bounceinfo_mta_where {
	BOUNCEINFO_MTA_WHERE_HEADER,
	BOUNCEINFO_MTA_WHERE_BODY,
};
struct bounceinfo_mta_sig {
	const char *name;
	enum bounceinfo_mta_where where;
	pcre2_code *code;
	/* prefilter, see bounceinfo_pcre_literals() */
	const char *const *literals;
	unsigned int *lit_ids, lit_count;
	/* header signatures: the lines a match can start on
	   (bounceinfo_pcre_line_starts()), or NULL */
	const char *const *line_starts;
};
ARRAY_DEFINE_TYPE(bounceinfo_mta_sig, struct bounceinfo_mta_sig);

/* One top-level alternative of a built-in SMTP-command pattern */
struct bounceinfo_command_alt {
	pcre2_code *code;
	/* prefilter, see bounceinfo_pcre_literals() */
	const char *const *literals;
	unsigned int *lit_ids, lit_count;
};

/* One line of rules/ndr-layout.map */
struct bounceinfo_vocab {
	const char *key;
	const char *fragment;
};
ARRAY_DEFINE_TYPE(bounceinfo_vocab, struct bounceinfo_vocab);

struct bounceinfo_lang {
	const char *lang;
	const char *texts[BOUNCEINFO_CLASS_COUNT];
	/* "<kind> = ..." (any class of that kind) and "<kind>:<class> =
	   ...": texts right for a kind, e.g. a delay warning, which has
	   not failed yet */
	const char *kind_texts[BOUNCEINFO_KIND_COUNT];
	const char *kind_class_texts[BOUNCEINFO_KIND_COUNT][BOUNCEINFO_CLASS_COUNT];
};
ARRAY_DEFINE_TYPE(bounceinfo_lang, struct bounceinfo_lang);

/* One line of a header text (bounceinfo_header_match()) */
struct bounceinfo_header_line {
	unsigned int start, len;
	/* the first byte, ASCII letters lowercase */
	unsigned char first;
};

struct bounceinfo {
	pool_t pool;
	struct event *event;
	/* what event is a child of (bounceinfo_set_event_parent()) */
	struct event *event_parent;
	const char *datadir;

	size_t max_scan_bytes;
	unsigned int max_recipients;
	unsigned int max_mime_parts;

	pcre2_match_context *match_ctx;
	pcre2_jit_stack *jit_stack;
	pcre2_match_data *match_data;
	/* built-in and data-file patterns (not rules: they have a flag)
	   already given to pcre2_jit_compile(), by address: a slot holding
	   another pattern only costs one more (idempotent) call */
	const pcre2_code *jit_done[BOUNCEINFO_JIT_DONE_SLOTS];

	/* tests only: no literal prefilter (bounceinfo_settings) */
	bool no_prefilter;
	/* tests only: every block through lib-mail's decoder, none handed
	   over as it is (bounceinfo-decode.h) */
	bool plain_decode;

	/* administrator's rules, checked first */
	ARRAY_TYPE(bounceinfo_rule) admin_rules;
	/* shipped rules of @provider blocks, in load order, checked next */
	ARRAY_TYPE(bounceinfo_rule) provider_rules;
	/* every @provider block (admin and shipped) */
	ARRAY_TYPE(bounceinfo_provider_p) providers;
	/* rule id -> source, to refuse duplicates (admin, shipped) */
	HASH_TABLE(const char *, const char *) admin_ids, shipped_ids;
	/* shipped rules, ordered by class priority then file order; the
	   first tier (reasons about the sender, server or message) comes
	   before what the refused SMTP command says, the second tier
	   (reasons about the recipient, delivery trouble) after it */
	ARRAY_TYPE(bounceinfo_rule) rules;
	ARRAY_TYPE(bounceinfo_rule) rules_tier2;
	ARRAY_TYPE(bounceinfo_status_entry) status_map;
	/* pattern ('x' as 'X') -> index + 1 of its first status_map line */
	HASH_TABLE(const char *, void *) status_index;
	ARRAY_TYPE(bounceinfo_mta_sig) mta_sigs;
	/* words of the text bounce layout (rules/ndr-layout.map) */
	ARRAY_TYPE(bounceinfo_vocab) vocab;

	/* built-in structural patterns (not classification rules) */
	struct bounceinfo_ndr *ndr;
	pcre2_code *copy_separator;
	/* what a message is (bounceinfo-detect.c, rules/signs/) */
	struct bounceinfo_detect *detect;
	/* the SMTP-command patterns, each split into its top-level
	   alternatives: each alternative runs only when one of its own
	   literals is in the text */
	ARRAY(struct bounceinfo_command_alt) command_alts[5];
	/* every literal of the prefilters, found in one pass */
	struct bi_acmatch *prefilter;
	pcre2_code *implicit_rcpt_code;
	pcre2_code *remote_host_code;

	/* bounceinfo_header_match(): the lines of the header text it was
	   last given, kept during one bounceinfo_parse() */
	ARRAY(struct bounceinfo_header_line) header_lines;
	const char *header_lines_text;
	size_t header_lines_len;
	bool header_lines_cache;

	/* bounceinfo_parse(): the read buffer, kept between messages, and
	   the decoder its passes over one message share */
	buffer_t *parse_buf;
	/* the rest of a message after the buffer with its header */
	buffer_t *parse_buf_rest;
	/* lib-mail's decoder, kept between messages (NULL while a message
	   is being parsed) */
	struct bounceinfo_decoder *decoder;
	/* the text gathered from one message, likewise */
	struct bounceinfo_parse_strs *parse_strs;

	ARRAY_TYPE(bounceinfo_lang) langs;
	ARRAY_TYPE(const_string) lang_names;
	/* languages whose fallback was already logged: once per process */
	ARRAY_TYPE(const_string) langs_warned;
	const char *explanations_dir;
};

/* bounceinfo-datafile.c: line-based data files */
struct bounceinfo_datafile {
	struct istream *input;
	const char *path;
	/* relative to the data directory when in there: for errors */
	const char *display;
	unsigned int linenum;
};
/* 1 opened, 0 missing (only when optional), -1 error */
int bounceinfo_datafile_open(struct bounceinfo *bi, const char *path,
			     bool optional, struct bounceinfo_datafile *file_r,
			     const char **error_r);
/* The next line that is neither blank nor a comment ('#' first), blanks
   and CR trimmed at both ends (data stack); NULL at the end */
const char *bounceinfo_datafile_next(struct bounceinfo_datafile *file);
/* "file:line: message" */
const char *bounceinfo_datafile_error(const struct bounceinfo_datafile *file,
				      const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Close; a read error turns ret 0 into -1 with error_r set */
int bounceinfo_datafile_close(struct bounceinfo_datafile *file, int ret,
			      const char **error_r);

/* bounceinfo-rules.c */
int bounceinfo_rules_load(struct bounceinfo *bi, const char *path,
			  bool admin, const char **error_r);
int bounceinfo_rules_load_dir(struct bounceinfo *bi, const char *dir,
			      bool admin, const char **error_r);
void bounceinfo_rules_sort(struct bounceinfo *bi);
void bounceinfo_rules_free(struct bounceinfo *bi);
/* path relative to the data directory ("rules/quota.rules") when it is
   in there, else path itself: for error messages */
const char *bounceinfo_display_path(struct bounceinfo *bi, const char *path);
/* A lowercase literal every match of pattern contains, or NULL */
const char *bounceinfo_pcre_literal(pool_t pool, const char *pattern);
/* Lowercase literals one of which every match of pattern contains (one
   per top-level alternative), NULL-terminated; NULL when some
   alternative has none */
const char *const *
bounceinfo_pcre_literals(pool_t pool, const char *pattern);
/* Does folded contain one of literals? TRUE when literals or folded is
   NULL (no prefilter) */
bool bounceinfo_literals_found(const char *const *literals,
			       const char *folded);
/* Header signatures matched field by field: the lowercase literal start
   of a line every match begins on, one or more per top-level alternative
   (NULL-terminated), or NULL when the pattern may match elsewhere (not
   every alternative starts with "^" and literal text, no multi-line
   mode: pattern starting "(?m)" or multiline TRUE) */
const char *const *
bounceinfo_pcre_line_starts(pool_t pool, const char *pattern,
			    pcre2_code *code, bool multiline);
/* Does code match one of text's lines ("\n"-separated) that begins with
   one of starts, matched alone? starts NULL (or no_prefilter): code over
   the whole text */
bool bounceinfo_header_match(struct bounceinfo *bi, pcre2_code *code,
			     const char *const *starts, const char *text,
			     size_t len);
/* Keep the line index of the header text between
   bounceinfo_header_match() calls (TRUE only while one message's header
   text is append-only: bounceinfo_parse()); FALSE drops it */
void bounceinfo_header_lines_cache(struct bounceinfo *bi, bool enable);
/* The top-level alternatives of pattern (data stack), NULL-terminated */
const char *const *bounceinfo_pcre_alternatives(const char *pattern);
/* Compile a pattern with the library's options; NULL + error on failure */
pcre2_code *bounceinfo_pcre_compile(const char *pattern, const char **error_r);
/* Compile the rule's pattern if not tried yet: 0, or -1 with error_r
   ("file:line: pcre2 error ..."); the rule then never matches */
int bounceinfo_rule_compile(struct bounceinfo_rule *rule,
			    const char **error_r);
/* Does the rule match text? Compiled on first use; a pattern that does
   not compile is logged once through bi->event and never matches. */
bool bounceinfo_rule_match(struct bounceinfo *bi,
			   struct bounceinfo_rule *rule, const char *text,
			   size_t len);
/* Compile a built-in structural pattern (caseless UTF-8, no Unicode
   properties; JIT on first match): NULL + error on failure */
pcre2_code *bounceinfo_builtin_compile(const char *pattern, uint32_t flags,
				       const char **error_r);
/* TRUE if the pattern matches text (match/depth limit = no match) */
bool bounceinfo_pcre_match(struct bounceinfo *bi, pcre2_code *code,
			   const char *text, size_t len);
/* Same, returning the offsets of capture group n */
bool bounceinfo_pcre_match_group(struct bounceinfo *bi, pcre2_code *code,
				 const char *text, size_t len,
				 unsigned int group, size_t *start_r,
				 size_t *end_r);
/* hits = bounceinfo_prefilter_scan() of the folded text, or NULL for no
   prefilter; scope may be NULL for rules that are never scoped */
const struct bounceinfo_rule *
bounceinfo_rules_match(struct bounceinfo *bi,
		       ARRAY_TYPE(bounceinfo_rule) *rules,
		       const char *text, const unsigned char *hits,
		       struct bounceinfo_scope_ctx *scope);
/* Put every prefilter literal (rules, mta.map, SMTP-command patterns)
   into one automaton; after loading */
void bounceinfo_prefilter_build(struct bounceinfo *bi);
/* Put literals into the automaton (before it is built): their ids */
void bounceinfo_prefilter_literal_ids(struct bounceinfo *bi,
				      const char *const *literals,
				      unsigned int **ids_r,
				      unsigned int *count_r);
/* Which literals bounceinfo_text_fold(text) contains (data stack), or
   NULL with no_prefilter or text NULL */
const unsigned char *
bounceinfo_prefilter_scan(struct bounceinfo *bi, const char *text);
/* May a pattern with these literal ids match, given hits? */
bool bounceinfo_prefilter_candidate(const unsigned int *ids,
				    unsigned int count,
				    const unsigned char *hits);
/* Does the provider block apply to the facts in scope? */
bool bounceinfo_provider_applies(struct bounceinfo *bi,
				 const struct bounceinfo_provider *provider,
				 struct bounceinfo_scope_ctx *scope);
/* "remote-mta" -> field; FALSE if unknown */
bool bounceinfo_scope_field_parse(const char *name,
				  enum bounceinfo_scope_field *field_r);
/* The stable id of a rule without an explicit {name}: class or
   provider scope + 8 hex digits of a hash of the pattern */
const char *bounceinfo_rule_hash_id(pool_t pool, enum bounceinfo_class class_,
				    const char *provider, const char *pattern);
/* ASCII-lowercased copy of text (data stack) for the literal prefilter */
const char *bounceinfo_text_fold(const char *text);

/* bounceinfo-status.c */
int bounceinfo_status_map_load(struct bounceinfo *bi, const char *path,
			       const char **error_r);
const struct bounceinfo_status_entry *
bounceinfo_status_lookup(struct bounceinfo *bi, const char *status);
/* Is str a syntactically valid enhanced status code "d.ddd.ddd"? */
bool bounceinfo_status_is_valid(const char *str);
/* Find the first enhanced status code in text (NULL if none) */
const char *bounceinfo_status_find(const char *text);
/* The status given with an SMTP reply ("550 5.1.1"), or NULL */
const char *bounceinfo_status_find_reply(const char *text);
/* The status given with an SMTP reply ("550 5.1.1"), else the first */
const char *bounceinfo_status_find_best(const char *text);
/* Find the first SMTP reply code (3 digits 2xx-5xx at a word start) */
unsigned int bounceinfo_reply_code_find(const char *text);

/* bounceinfo-mta.c */
int bounceinfo_mta_load(struct bounceinfo *bi, const char *path,
			const char **error_r);
void bounceinfo_mta_free(struct bounceinfo *bi);
const char *bounceinfo_mta_detect(struct bounceinfo *bi,
				  const char *headers, const char *body);

/* bounceinfo-vocab.c */
int bounceinfo_vocab_load(struct bounceinfo *bi, const char *path,
			  const char **error_r);
/* "(?:a|b|c)" of the fragments of key, "(?!)" when there are none */
const char *bounceinfo_vocab_alternation(struct bounceinfo *bi,
					 const char *key);
/* template with each "%{key}" replaced by its alternation */
const char *bounceinfo_vocab_expand(struct bounceinfo *bi, const char *template);

/* bounceinfo-explain.c */
int bounceinfo_explanations_load_dir(struct bounceinfo *bi, const char *dir,
				     const char **error_r);
int bounceinfo_explanations_load(struct bounceinfo *bi, const char *path,
				 const char *lang, const char **error_r);

/* bounceinfo-types.c: the class table */
struct bounceinfo_class_def {
	const char *name;
	/* the class' usual severity */
	enum bounceinfo_severity severity;
	/* 1: tried before the refused SMTP command decides, 2: after */
	unsigned int tier;
	/* order of the classes' text rules, lower first (unique) */
	unsigned int priority;
};
const struct bounceinfo_class_def *
bounceinfo_class_def_get(enum bounceinfo_class class_);
enum bounceinfo_severity
bounceinfo_class_default_severity(enum bounceinfo_class class_);

/* bounceinfo-classify.c */
void bounceinfo_classify_init(struct bounceinfo *bi);
void bounceinfo_classify_deinit(struct bounceinfo *bi);
/* The server that answered as a text NDR names it, or NULL */
const char *bounceinfo_remote_host_find(struct bounceinfo *bi,
					const char *text);

/* bounceinfo-text.c */
/* Copy to pool as valid UTF-8 with control characters turned into
   spaces, whitespace runs collapsed, trimmed and cut to max_len bytes.
   Returns NULL for NULL or empty results. */
/* Where the value of the returned message's header field name goes in
   orig, NULL for a field that is not kept. */
const char **bounceinfo_original_field(struct bounceinfo_original *orig,
				       const char *name);
const char *bounceinfo_text_clean(pool_t pool, const char *text, size_t len,
				  size_t max_len);
/* The same for text known to be valid UTF-8 (what lib-mail's decoder
   gives, a cleaned text or a part of it cut where a character starts):
   not checked again */
const char *bounceinfo_text_clean_valid(pool_t pool, const char *text,
					size_t len, size_t max_len);
/* "Remote_host_said:_550_No_such_user" -> spaces, when underscores
   stand for spaces (more underscores than spaces); else text itself */
const char *bounceinfo_text_ununderscore(const char *text);
/* Normalise an address: strip <>, "rfc822;" prefix, spaces, lowercase
   the domain. NULL if it does not look like an address. */
const char *bounceinfo_address_clean(pool_t pool, const char *text);

struct bounceinfo_parse_more;

/* bounceinfo_parse(): what is gathered from one message (see below) */
struct bounceinfo_parse_strs {
	string_t *headers, *text, *report, *orig_headers, *preamble, *html;
};
void bounceinfo_parse_strs_free(struct bounceinfo_parse_strs **strs);

/* State of one bounceinfo_parse() call */
struct bounceinfo_parse_ctx {
	struct bounceinfo *bi;
	/* the rest of the message, read when the header says to read on
	   (NULL: the stream holds all of it) */
	struct bounceinfo_parse_more *more;
	pool_t pool;
	struct bounceinfo_result *result;
	/* the top-level header alone said "not a bounce" */
	bool not_bounce_by_header;

	/* decoded top-level header, "Name: value\n" lines (capped) */
	string_t *headers;
	/* human-readable text of the bounce itself (capped) */
	string_t *text;
	/* message/delivery-status or feedback-report body (capped) */
	string_t *report;
	/* the text of the returned message's header, if a part */
	string_t *orig_headers;
	size_t scanned;
	/* the bounce's text without the returned message, cleaned and cut
	   to a diagnostic's length (NULL if none) */
	const char *bounce_text, *bounce_text_long;
	/* the text (valid UTF-8, no CR) the recipients were read from */
	const char *clean_text;
	/* where the copy of the message starts in text_end_for */
	const char *text_end_for;
	size_t text_end;
	/* multipart preamble of the top part */
	string_t *preamble;
	/* text/html parts (made text when there is no other) */
	string_t *html;
	/* text may hold invalid UTF-8: it was cut at the scan limit or
	   made from HTML (decoded blocks are valid) */
	bool text_maybe_invalid:1;

	const char *subject, *from, *content_type, *report_type;
	/* the address in From (for provider scopes) */
	const char *from_address;
	bool mta_detected:1;
	const char *return_path;
	/* X-Failed-Recipients (Exim, Google) */
	const char *failed_recipients;
	bool have_dsn:1;
	bool have_feedback:1;
	bool have_orig_part:1;
	bool auto_submitted:1;
	bool autoreply_header:1;
	bool auto_replied:1;
	bool apple_unsubscribe:1;
	/* a message/rfc822 part (the returned message) was seen */
	bool have_returned_message:1;
	/* a report attached inside a non-report message: a forward */
	bool forwarded_report:1;
	/* Hotmail JMRP: X-HmXmrOriginalRecipient */
	const char *jmrp_recipient;
	bool precedence_bulk:1;
};

/* bounceinfo-dsn.c */
void bounceinfo_dsn_parse(struct bounceinfo_parse_ctx *ctx,
			  const unsigned char *data, size_t size);
void bounceinfo_headers_parse_original(struct bounceinfo_parse_ctx *ctx,
				       const unsigned char *data, size_t size);

/* bounceinfo-original.c: the copy of the returned message */
int bounceinfo_original_init(struct bounceinfo *bi, const char **error_r);
void bounceinfo_original_deinit(struct bounceinfo *bi);
/* Where the copy of the returned message starts in text (or its end) */
size_t bounceinfo_original_text_end(struct bounceinfo_parse_ctx *ctx,
				    const char *text);
/* The bounce's own text (without the copy of the message), one line;
   text is the cleaned text (valid UTF-8, no NUL) */
const char *bounceinfo_original_bounce_text(struct bounceinfo_parse_ctx *ctx,
					    const char *text, size_t max_len);
/* The returned message's header fields from an inline copy in text */
void bounceinfo_original_find(struct bounceinfo_parse_ctx *ctx,
			      const char *text);

/* bounceinfo-format-ndr.c: the text NDR scanner */
int bounceinfo_ndr_init(struct bounceinfo *bi, const char **error_r);
void bounceinfo_ndr_deinit(struct bounceinfo *bi);
/* Add diagnostics (and refused commands) found in text to recipients
   that lack them */
void bounceinfo_ndr_enrich(struct bounceinfo_parse_ctx *ctx, const char *text);

/* bounceinfo-result.c: the result builder */
struct bounceinfo_recipient *
bounceinfo_recipient_add(struct bounceinfo_parse_ctx *ctx);
struct bounceinfo_recipient *
bounceinfo_recipient_find(struct bounceinfo_parse_ctx *ctx, const char *addr);
/* Set a diagnostic; a second one is added only when it brings the first
   SMTP reply or status code */
void bounceinfo_recipient_set_diagnostic(struct bounceinfo_parse_ctx *ctx,
					 struct bounceinfo_recipient *rcpt,
					 const char *diag);
/* text holds an enhanced status or an SMTP reply code */
bool bounceinfo_text_has_code(const char *text);
/* The kind from the recipients' actions: failed = dsn (report) or ndr,
   else delayed, else delivery-report */
enum bounceinfo_kind
bounceinfo_result_kind_from_actions(struct bounceinfo_parse_ctx *ctx,
				    bool report);
/* Make the result a complaint (at least one recipient, class complaint) */
void bounceinfo_result_complaint(struct bounceinfo_parse_ctx *ctx);
/* Make the result an auto-reply from its sender */
void bounceinfo_result_autoreply(struct bounceinfo_parse_ctx *ctx);

/* bounceinfo-evidence.c */
/* The top-level header may belong to a bounce, auto-reply or report */
bool bounceinfo_evidence_header_hint(struct bounceinfo_parse_ctx *ctx);
/* Same, or X-Failed-Recipients */
bool bounceinfo_evidence_header(struct bounceinfo_parse_ctx *ctx);

/* bounceinfo-detect.c */
void bounceinfo_detect_init(struct bounceinfo *bi);
/* Add the literals of the rules/signs/ lines to bi->prefilter */
void bounceinfo_detect_prefilter_add(struct bounceinfo *bi);
void bounceinfo_detect_deinit(struct bounceinfo *bi);
/* The top-level header ("Name: value" lines) may belong to a bounce,
   auto-reply or report (generous: only decides whether to read on) */
bool bounceinfo_detect_header_hint(struct bounceinfo *bi, const char *headers,
				   size_t len);
/* From or Subject of a bounce rather than of an auto-reply */
bool bounceinfo_detect_bounce_sign(struct bounceinfo *bi, const char *headers,
				   size_t len);
/* rules/signs/<name>.signs: the words of bounces, auto-replies and person's
   forwards in each language (a missing directory is no error) */
int bounceinfo_detect_load_dir(struct bounceinfo *bi, const char *dir,
			       const char **error_r);
/* Structural evidence that the message is a bounce or delay warning (a
   report part, X-Failed-Recipients, a mail system's sender or template
   with what bounces carry), not a person's mail quoting or forwarding
   one; text is the message's text (the returned message may follow) */
bool bounceinfo_detect_is_bounce(struct bounceinfo_parse_ctx *ctx,
				 const char *text);
/* The answering server a text bounce names ("192.0.2.1 does not like
   recipient.", "host mx.example.com[192.0.2.1] said:"), or NULL */
const char *bounceinfo_detect_remote_mta(struct bounceinfo *bi, pool_t pool,
					 const char *text);
/* An RFC 3834 auto-reply (not merely auto-generated) */
bool bounceinfo_detect_is_autoreply(struct bounceinfo_parse_ctx *ctx);
/* An abuse report in a format of its own (SCOMP, X-ARF, JMRP) */
bool bounceinfo_detect_complaint_header(struct bounceinfo *bi,
					const char *headers, size_t len);
/* A warning only: delayed, nothing failed for good */
bool bounceinfo_detect_delay_warning(struct bounceinfo *bi, const char *text);

#endif
