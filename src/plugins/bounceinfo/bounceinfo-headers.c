/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"
#include "istream.h"
#include "istream-header-filter.h"
#include "message-header-encode.h"
#include "message-header-parser.h"
#include "mail-storage-private.h"
#include "raw-storage.h"
#include "mail-storage-service.h"
#include "mail-deliver.h"
#include "bounceinfo-plugin-private.h"
#include "bounceinfo-compat.h"

/* Trusted bounce headers (bounceinfo_headers = yes).

   At delivery (LMTP, dovecot-lda) the mail handed to Sieve and saved is
   replaced by a copy read through a header filter: every X-Bounce-* header
   the sender wrote is removed, and a classified bounce gets X-Bounce-Class,
   -Severity, -Kind, -Recipient, -Status, -Diagnostic and -Explanation
   added at the end of its header. Because the mail itself is replaced
   before Sieve runs, Sieve header tests (header :is "x-bounce-class"
   "quota"), keep, fileinto, redirect and the copies for further LMTP
   recipients all see the same message. Mail that is no bounce and has no
   X-Bounce-* header (most mail) is delivered as it came: there is nothing
   to add or remove. On any error the original mail is delivered unchanged
   and the error is logged.

   The hook goes in front of Pigeonhole's deliver hook: Pigeonhole does not
   call the hook it replaced, so ours is installed when the first user is
   created, after every mail plugin has been initialized. */

#define BOUNCEINFO_HEADER_PREFIX "X-Bounce-"
/* longest diagnostic copied into X-Bounce-Diagnostic, in characters */
#define BOUNCEINFO_HEADER_DIAGNOSTIC_MAX 200
#define BOUNCEINFO_HEADER_EXPLANATION_MAX 1000
#define BOUNCEINFO_HEADER_RECIPIENTS_MAX 10
#define BOUNCEINFO_HEADER_LINE_MAX 78

/* The replacing mail of one delivery, freed before our hook returns. */
struct bounceinfo_delivery {
	/* a raw user of this delivery alone (rare: see
	   bounceinfo_headers_raw_user()), NULL when a longer-lived one
	   holds the copy */
	struct mail_user *raw_user;
	struct mailbox *box;
	struct mailbox_transaction_context *trans;
	struct mail *mail;
};

struct bounceinfo_header_filter {
	char *headers; /* LF-separated "Name: value" lines */
};

/* Only LMTP and dovecot-lda link lib-lda: elsewhere these are NULL. */
extern deliver_mail_func_t *
mail_deliver_hook_set(deliver_mail_func_t *new_hook)
	__attribute__((weak));

extern int
mail_deliver_save(struct mail_deliver_context *ctx, const char *mailbox,
		  enum mail_flags flags, const char *const *keywords,
		  struct mail_storage **storage_r) __attribute__((weak));

/* the header fields LMTP and dovecot-lda ask for on their raw mail */
static const char *const bounceinfo_wanted_headers[] = {
	"From", "To", "Message-ID", "Subject", "Return-Path", NULL
};

static deliver_mail_func_t *bounceinfo_next_deliver_mail = NULL;
static bool bounceinfo_deliver_hook_installed = FALSE;

static bool bounceinfo_header_is_ours(const char *name)
{
	return strncasecmp(name, BOUNCEINFO_HEADER_PREFIX,
			   strlen(BOUNCEINFO_HEADER_PREFIX)) == 0;
}

/* One line of text: control characters (CR, LF, TAB, ...) become spaces,
   runs of spaces one, at most max characters (UTF-8 safe). */
static const char *bounceinfo_header_one_line(const char *value, size_t max)
{
	string_t *str = t_str_new(strlen(value) + 1);
	const char *p;

	for (p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (str_len(str) == 0 ||
				 str_data(str)[str_len(str)-1] == ' '))
			continue;
		str_append_c(str, c);
	}
	while (str_len(str) > 0 && str_data(str)[str_len(str)-1] == ' ')
		str_truncate(str, str_len(str)-1);
	return str_sanitize_utf8(str_c(str), max);
}

/* Append "Name: value" encoded (RFC 2047 where needed) and folded at
   whitespace to lines of at most BOUNCEINFO_HEADER_LINE_MAX characters
   (an encoded word is at most 76), ending with LF. */
static void
bounceinfo_header_append(string_t *dest, const char *name, const char *value)
{
	string_t *encoded = t_str_new(256);
	const char *const *words;
	size_t line_len;

	if (value == NULL || *value == '\0')
		return;
	message_header_encode(value, encoded);
	str_append(dest, name);
	str_append_c(dest, ':');
	line_len = strlen(name) + 1;
	/* whitespace between two encoded words is dropped when decoding, and
	   elsewhere in an unstructured field one space is as good as any
	   folding: re-fold everything ourselves */
	words = t_strsplit_spaces(str_c(encoded), " \t\r\n");
	for (; *words != NULL; words++) {
		size_t len = strlen(*words);

		if (line_len + 1 + len > BOUNCEINFO_HEADER_LINE_MAX &&
		    line_len > strlen(name) + 1) {
			str_append(dest, "\n\t");
			line_len = 1;
		} else {
			str_append_c(dest, ' ');
			line_len++;
		}
		str_append(dest, *words);
		line_len += len;
	}
	str_append_c(dest, '\n');
}

const char *
bounceinfo_headers_build(struct bounceinfo_user *buser,
			 const struct bounceinfo_result *result)
{
	const struct bounceinfo_recipient *main_rcpt, *rcpt;
	struct bounceinfo *bi;
	string_t *dest = t_str_new(512);
	string_t *rcpts;
	const char *explanation = NULL;
	unsigned int count = 0;

	if (!bounceinfo_kind_is_bounce(result->kind))
		return "";
	main_rcpt = bounceinfo_result_first_recipient(result);

	bounceinfo_header_append(dest, "X-Bounce-Class",
		bounceinfo_class_name(main_rcpt == NULL ?
			BOUNCEINFO_CLASS_UNKNOWN : main_rcpt->class_));
	if (main_rcpt != NULL && main_rcpt->severity != BOUNCEINFO_SEVERITY_NONE) {
		bounceinfo_header_append(dest, "X-Bounce-Severity",
			bounceinfo_severity_name(main_rcpt->severity));
	}
	bounceinfo_header_append(dest, "X-Bounce-Kind",
				 bounceinfo_kind_name(result->kind));

	/* the main recipient first, then the other reported ones */
	rcpts = t_str_new(128);
	if (main_rcpt != NULL && main_rcpt->address != NULL) {
		str_append(rcpts, main_rcpt->address);
		count++;
	}
	array_foreach(&result->recipients, rcpt) {
		if (rcpt == main_rcpt || rcpt->address == NULL)
			continue;
		if (count == BOUNCEINFO_HEADER_RECIPIENTS_MAX) {
			str_append(rcpts, ", ...");
			break;
		}
		if (count++ > 0)
			str_append(rcpts, ", ");
		str_append(rcpts, rcpt->address);
	}
	bounceinfo_header_append(dest, "X-Bounce-Recipient",
		bounceinfo_header_one_line(str_c(rcpts), 2000));

	if (main_rcpt != NULL && main_rcpt->status != NULL) {
		bounceinfo_header_append(dest, "X-Bounce-Status",
			bounceinfo_header_one_line(main_rcpt->status, 32));
	}
	if (main_rcpt != NULL && main_rcpt->diagnostic != NULL) {
		bounceinfo_header_append(dest, "X-Bounce-Diagnostic",
			bounceinfo_header_one_line(main_rcpt->diagnostic,
				BOUNCEINFO_HEADER_DIAGNOSTIC_MAX));
	}
	bi = bounceinfo_user_get_bi(buser);
	if (bi != NULL) {
		explanation = bounceinfo_explain_kind(bi, result->kind,
			main_rcpt == NULL ?
			BOUNCEINFO_CLASS_UNKNOWN : main_rcpt->class_,
			buser->set.language);
	}
	if (explanation != NULL) {
		bounceinfo_header_append(dest, "X-Bounce-Explanation",
			bounceinfo_header_one_line(explanation,
				BOUNCEINFO_HEADER_EXPLANATION_MAX));
	}
	return str_c(dest);
}

static void
bounceinfo_header_filter_callback(struct header_filter_istream *input,
				  struct message_header_line *hdr,
				  bool *matched,
				  struct bounceinfo_header_filter *ctx)
{
	if (hdr == NULL)
		return;
	if (hdr->eoh) {
		/* ours go last, in the message's own line endings */
		const char *nl = hdr->crlf_newline ? "\r\n" : "\n";
		const char *const *lines = t_strsplit(ctx->headers, "\n");

		for (; *lines != NULL; lines++) {
			if (**lines == '\0')
				continue;
			i_stream_header_filter_add(input, *lines,
						   strlen(*lines));
			i_stream_header_filter_add(input, nl, strlen(nl));
		}
		return;
	}
	/* continuation lines follow the decision of their first line */
	if (!hdr->continued && bounceinfo_header_is_ours(hdr->name))
		*matched = TRUE;
}

static void
bounceinfo_header_filter_free(struct bounceinfo_header_filter *ctx)
{
	i_free(ctx->headers);
	i_free(ctx);
}

static void bounceinfo_delivery_free(struct bounceinfo_delivery **_del)
{
	struct bounceinfo_delivery *del = *_del;

	*_del = NULL;
	if (del == NULL)
		return;
	if (del->mail != NULL)
		mail_free(&del->mail);
	if (del->trans != NULL)
		mailbox_transaction_rollback(&del->trans);
	if (del->box != NULL)
		mailbox_free(&del->box);
	if (del->raw_user != NULL)
		mail_user_unref(&del->raw_user);
	i_free(del);
}

/* The raw user the filtered copy is opened in. Making one (mail user,
   settings, namespace, raw storage) and freeing it cost more than the
   rest of the copy (issue 10), so none is made per delivery:

   - the mail being delivered is a raw mail (dovecot-lda; LMTP's first
     recipient of each transaction): its own raw user, which LMTP keeps
     for the whole connection and dovecot-lda for the process, whichever
     recipient this is, as Dovecot opens every transaction's mail there;
   - LMTP hands the later recipients of a transaction the first
     recipient's saved copy: one raw user, made on first need and kept by
     that copy's owner until it is freed (bounceinfo_headers_user_deinit())
     after the transaction;
   - else (the owner has no context of ours) one for this delivery. */
static struct mail_user *
bounceinfo_headers_raw_user(struct mail_deliver_context *ctx,
			    struct bounceinfo_user *buser,
			    struct bounceinfo_delivery *del)
{
	struct mail_user *owner = ctx->src_mail->box->storage->user;
	struct bounceinfo_user *obuser;

	if (bounceinfo_mail_is_raw(ctx->src_mail))
		return owner;
	obuser = BOUNCEINFO_USER_CONTEXT(owner);
	if (obuser == NULL) {
		e_debug(buser->event, "Creating a raw user for this delivery's "
			"copy with bounce headers");
		del->raw_user = bounceinfo_raw_storage_create(ctx->rcpt_user);
		return del->raw_user;
	}
	if (obuser->headers_raw_user == NULL) {
		e_debug(buser->event, "Creating a raw user for the copies "
			"with bounce headers of %s's saved mail",
			owner->username);
		obuser->headers_raw_user = bounceinfo_raw_storage_create(owner);
	}
	return obuser->headers_raw_user;
}

void bounceinfo_headers_user_deinit(struct bounceinfo_user *buser)
{
	if (buser->headers_raw_user == NULL)
		return;
	e_debug(buser->event, "Freeing the raw user of the copies with "
		"bounce headers");
	mail_user_unref(&buser->headers_raw_user);
}

/* The delivered mail read through the filter, as a raw mail of its own.
   Returns 0 with *mail_r, or -1 (logged). */
static int
bounceinfo_headers_open(struct mail_deliver_context *ctx,
			struct bounceinfo_user *buser,
			struct bounceinfo_delivery *del, struct mail **mail_r)
{
	struct mail *src = ctx->src_mail;
	const struct bounceinfo_mail_info *info;
	struct bounceinfo_header_filter *fctx;
	struct mailbox_header_lookup_ctx *headers_ctx;
	struct istream *input, *filtered;
	const char *envelope_sender = NULL;
	time_t received = (time_t)-1;

	if (mail_get_stream_because(src, NULL, NULL, "bounceinfo headers",
				    &input) < 0) {
		e_error(buser->event, "Delivering the mail without bounce "
			"headers: Failed to read it: %s",
			mailbox_get_last_internal_error(src->box, NULL));
		return -1;
	}
	/* classification errors are logged: the sender's X-Bounce-*
	   headers are still removed */
	if (bounceinfo_plugin_mail_get_info(src, &info) < 0)
		info = NULL;
	(void)mail_get_received_date(src, &received);
	if (mail_get_special(src, MAIL_FETCH_FROM_ENVELOPE,
			     &envelope_sender) < 0)
		envelope_sender = NULL;

	fctx = p_new(default_pool, struct bounceinfo_header_filter, 1);
	T_BEGIN {
		fctx->headers = i_strdup(info == NULL ? "" :
			bounceinfo_headers_build(buser, info->result));
	} T_END;
	i_stream_seek(input, 0);
	filtered = i_stream_create_header_filter(input,
		HEADER_FILTER_EXCLUDE | HEADER_FILTER_CRLF_PRESERVE |
		HEADER_FILTER_ADD_MISSING_EOH, NULL, 0,
		bounceinfo_header_filter_callback, fctx);
	i_stream_add_destroy_callback(filtered, bounceinfo_header_filter_free,
				      fctx);

	if (raw_mailbox_alloc_stream(bounceinfo_headers_raw_user(ctx, buser,
								 del),
				     filtered, received,
				     envelope_sender, &del->box) < 0) {
		e_error(buser->event, "Delivering the mail without bounce "
			"headers: Failed to open the filtered mail: %s",
			mailbox_get_last_internal_error(del->box, NULL));
		i_stream_unref(&filtered);
		return -1;
	}
	i_stream_unref(&filtered);
	del->trans = mailbox_transaction_begin(del->box, 0,
					       "bounceinfo headers");
	/* the fields LMTP and dovecot-lda read of every delivered mail
	   (Return-Path of a bounce, Message-ID, the log line's Subject):
	   parsed in one pass on first access, as they ask for theirs, not
	   one header parse per field (issue 10) */
	headers_ctx = mailbox_header_lookup_init(del->box,
						 bounceinfo_wanted_headers);
	del->mail = mail_alloc(del->trans, 0, headers_ctx);
	mailbox_header_lookup_unref(&headers_ctx);
	mail_set_seq(del->mail, 1);
	/* one classification per delivery (and one event): the filtered
	   copy shares the original's */
	if (info != NULL)
		bounceinfo_mail_set_info(del->mail, info);
	*mail_r = del->mail;
	return 0;
}

static bool
bounceinfo_deliver_tempfailed(struct mail_deliver_context *ctx,
			      struct mail_storage *storage)
{
	enum mail_error error;

	if (ctx->tempfail_error != NULL)
		return TRUE;
	if (storage == NULL)
		return FALSE;
	(void)mail_storage_get_last_error(storage, &error);
	return error == MAIL_ERROR_TEMP;
}

/* Does the header of the mail being delivered hold an X-Bounce-* field?
   TRUE also when it cannot be read: the filtered copy then reports the
   error and falls back as it always did. */
static bool bounceinfo_headers_present(struct mail *src)
{
	struct message_header_parser_ctx *parser;
	struct message_header_line *hdr;
	struct istream *input;
	bool found = FALSE;
	int ret;

	if (mail_get_stream_because(src, NULL, NULL, "bounceinfo headers",
				    &input) < 0)
		return TRUE;
	i_stream_seek(input, 0);
	parser = message_parse_header_init(input, NULL, 0);
	while ((ret = message_parse_header_next(parser, &hdr)) > 0) {
		if (hdr->eoh)
			break;
		if (!hdr->continued &&
		    strncasecmp(hdr->name, BOUNCEINFO_HEADER_PREFIX,
				strlen(BOUNCEINFO_HEADER_PREFIX)) == 0) {
			found = TRUE;
			break;
		}
	}
	message_parse_header_deinit(&parser);
	if (ret < 0 && input->stream_errno != 0)
		found = TRUE;
	i_stream_seek(input, 0);
	return found;
}

/* A copy is needed only to add our headers (a bounce) or to remove a
   sender's: most mail is delivered as it came, without the cost of a raw
   mailbox per delivery (issue 10: under 2 % for ordinary mail). */
static bool bounceinfo_headers_needed(struct mail *src)
{
	const struct bounceinfo_mail_info *info;

	if (bounceinfo_plugin_mail_get_info(src, &info) < 0)
		info = NULL;
	if (info != NULL && info->result != NULL &&
	    bounceinfo_kind_is_bounce(info->result->kind))
		return TRUE;
	return bounceinfo_headers_present(src);
}

static int
bounceinfo_deliver_mail(struct mail_deliver_context *ctx,
			struct mail_storage **storage_r)
{
	struct bounceinfo_user *buser = ctx->rcpt_user == NULL ? NULL :
		BOUNCEINFO_USER_CONTEXT(ctx->rcpt_user);
	struct bounceinfo_delivery *del;
	struct mail *orig_mail = ctx->src_mail, *mail;
	int ret;

	if (buser == NULL || !buser->set.headers ||
	    !bounceinfo_headers_needed(ctx->src_mail)) {
		return bounceinfo_next_deliver_mail == NULL ? 0 :
			bounceinfo_next_deliver_mail(ctx, storage_r);
	}

	del = i_new(struct bounceinfo_delivery, 1);
	if (bounceinfo_headers_open(ctx, buser, del, &mail) < 0) {
		bounceinfo_delivery_free(&del);
		return bounceinfo_next_deliver_mail == NULL ? 0 :
			bounceinfo_next_deliver_mail(ctx, storage_r);
	}
	ctx->src_mail = mail;
	ret = bounceinfo_next_deliver_mail == NULL ? 0 :
		bounceinfo_next_deliver_mail(ctx, storage_r);
	/* Nothing (no Sieve, or Sieve failed before saving) stored the mail:
	   Dovecot would now save it to the default mailbox. Do it here, from
	   our mail, which cannot outlive this call: the delivering process
	   frees its own mail, which ours reads, right after delivery. */
	if (ret <= 0 && !ctx->saved_mail && !ctx->tried_default_save &&
	    !bounceinfo_deliver_tempfailed(ctx, *storage_r) &&
	    mail_deliver_save != NULL) {
		if (mail_deliver_save(ctx, ctx->rcpt_default_mailbox, 0, NULL,
				      storage_r) == 0)
			ret = 1;
	}
	/* a failed save is retried by Dovecot (into INBOX) with the mail
	   as it arrived */
	ctx->src_mail = orig_mail;
	bounceinfo_delivery_free(&del);
	return ret;
}

void bounceinfo_headers_hook_install(void)
{
	if (bounceinfo_deliver_hook_installed || mail_deliver_hook_set == NULL)
		return;
	bounceinfo_next_deliver_mail =
		mail_deliver_hook_set(bounceinfo_deliver_mail);
	bounceinfo_deliver_hook_installed = TRUE;
}

void bounceinfo_headers_hook_uninstall(void)
{
	deliver_mail_func_t *current;

	if (!bounceinfo_deliver_hook_installed)
		return;
	/* put the previous hook back only if nobody replaced ours since */
	current = mail_deliver_hook_set(bounceinfo_next_deliver_mail);
	if (current != bounceinfo_deliver_mail)
		(void)mail_deliver_hook_set(current);
	bounceinfo_deliver_hook_installed = FALSE;
	bounceinfo_next_deliver_mail = NULL;
}
