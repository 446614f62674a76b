#ifndef BOUNCEINFO_FORMAT_H
#define BOUNCEINFO_FORMAT_H

/* Bounce formats: one file per format (bounceinfo-format-<name>.c), each
   with the same signature, tried in the order of the table in
   bounceinfo-parse.c after the MIME structure was read (as Dovecot's
   fts-parser.c does for attachment types). A parser looks at the
   collected parts in struct bounceinfo_parse_ctx (ctx->clean_text is the
   text, ctx->report a delivery-status or feedback-report body) and adds
   recipients with the result builder (bounceinfo-result.c). Adding a
   format = one file + one line in the table. */

enum bounceinfo_format_result {
	/* not this format: try the next one */
	BOUNCEINFO_FORMAT_NO = 0,
	/* recipients found and result->kind set: classify them */
	BOUNCEINFO_FORMAT_FOUND,
	/* the message is decided (a complaint, an auto-reply, not a bounce):
	   nothing to classify */
	BOUNCEINFO_FORMAT_DONE,
};

struct bounceinfo_format {
	/* "dsn", "text-ndr", ...: for the debug log */
	const char *name;
	enum bounceinfo_format_result
		(*parse)(struct bounceinfo_parse_ctx *ctx);
};

extern const struct bounceinfo_format bounceinfo_format_person_forward;
extern const struct bounceinfo_format bounceinfo_format_arf;
extern const struct bounceinfo_format bounceinfo_format_dsn;
extern const struct bounceinfo_format bounceinfo_format_complaint_header;
extern const struct bounceinfo_format bounceinfo_format_apple_unsubscribe;
extern const struct bounceinfo_format bounceinfo_format_autoreply;
extern const struct bounceinfo_format bounceinfo_format_no_evidence;
extern const struct bounceinfo_format bounceinfo_format_ses;
extern const struct bounceinfo_format bounceinfo_format_inline_dsn;
extern const struct bounceinfo_format bounceinfo_format_ndr;
extern const struct bounceinfo_format bounceinfo_format_fallback;

/* bounceinfo-format-autoreply.c: the header says auto-reply */
bool bounceinfo_autoreply_detect(struct bounceinfo_parse_ctx *ctx);

#endif
