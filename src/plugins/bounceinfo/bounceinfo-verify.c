/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "str.h"
#include "mail-storage.h"
#include "mail-search-build.h"
#include "mail-search.h"
#include "bounceinfo-plugin-private.h"

/* Spoof check (bounceinfo_verify = yes): a genuine bounce returns a message
   the user really sent, so its Message-ID is in the user's \Sent mailbox.
   The lookup is one header search in that mailbox: Dovecot answers it from
   the cache file where Message-ID is cached (we ask for it, so it becomes
   cached) and otherwise reads only message headers, never bodies. */

#define BOUNCEINFO_SENT_SPECIAL_USE "\\Sent"

/* "<id@host>" -> "id@host", NULL if nothing is left */
static const char *bounceinfo_msgid_normalize(const char *msgid)
{
	const char *p, *end;

	if (msgid == NULL)
		return NULL;
	while (*msgid == ' ' || *msgid == '\t')
		msgid++;
	if (*msgid == '<')
		msgid++;
	p = strchr(msgid, '>');
	end = p != NULL ? p : msgid + strlen(msgid);
	while (end > msgid && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == msgid)
		return NULL;
	return t_strdup_until(msgid, end);
}

static int
bounceinfo_sent_search(struct mailbox *box, const char *msgid,
		       bool *found_r, const char **error_r)
{
	static const char *const wanted_headers[] = { "Message-ID", NULL };
	struct mailbox_transaction_context *trans;
	struct mailbox_header_lookup_ctx *headers;
	struct mail_search_args *args;
	struct mail_search_arg *arg;
	struct mail_search_context *ctx;
	struct mail *mail;
	const char *value;
	int ret = 0;

	*found_r = FALSE;
	args = mail_search_build_init();
	arg = mail_search_build_add(args, SEARCH_HEADER);
	arg->hdr_field_name = p_strdup(args->pool, "Message-ID");
	arg->value.str = p_strdup(args->pool, msgid);

	trans = mailbox_transaction_begin(box, 0, "bounceinfo verify");
	headers = mailbox_header_lookup_init(box, wanted_headers);
	ctx = mailbox_search_init(trans, args, NULL, 0, headers);
	mailbox_header_lookup_unref(&headers);
	mail_search_args_unref(&args);

	while (!*found_r && mailbox_search_next(ctx, &mail)) {
		/* the search matches substrings: insist on the whole id */
		if (mail_get_first_header(mail, "Message-ID", &value) < 0)
			continue;
		value = bounceinfo_msgid_normalize(value);
		if (value != NULL && strcmp(value, msgid) == 0)
			*found_r = TRUE;
	}
	if (mailbox_search_deinit(&ctx) < 0) {
		*error_r = mailbox_get_last_internal_error(box, NULL);
		ret = -1;
	}
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

enum bounceinfo_verify_result
bounceinfo_verify_original(struct mail_user *user,
			   const struct bounceinfo_result *result)
{
	struct bounceinfo_user *buser = BOUNCEINFO_USER_CONTEXT(user);
	struct event *event = buser != NULL ? buser->event : user->event;
	enum bounceinfo_verify_result res = BOUNCEINFO_VERIFY_UNCHECKED;
	struct mailbox *box;
	const char *msgid, *error;
	bool found;

	msgid = bounceinfo_msgid_normalize(result->original.message_id);
	if (msgid == NULL)
		return BOUNCEINFO_VERIFY_NOT_APPLICABLE;

	box = mailbox_alloc_for_user(user, BOUNCEINFO_SENT_SPECIAL_USE,
				     MAILBOX_FLAG_SPECIAL_USE |
				     MAILBOX_FLAG_READONLY);
	if (!mailbox_has_special_use(box, BOUNCEINFO_SENT_SPECIAL_USE)) {
		e_error(event, "bounceinfo_verify: user has no mailbox with "
			"special_use = \\Sent, the bounce is left unchecked");
	} else if (mailbox_sync(box, 0) < 0) {
		enum mail_error error;
		const char *errstr =
			mailbox_get_last_internal_error(box, &error);

		if (error == MAIL_ERROR_NOTFOUND) {
			/* \Sent is configured but was never created: the
			   user has sent nothing from here */
			res = BOUNCEINFO_VERIFY_FORGED;
			e_debug(event, "bounceinfo_verify: <%s> not found: "
				"%s does not exist", msgid,
				mailbox_get_vname(box));
		} else {
			e_error(event, "bounceinfo_verify: "
				"Failed to open %s: %s",
				mailbox_get_vname(box), errstr);
		}
	} else if (bounceinfo_sent_search(box, msgid, &found, &error) < 0) {
		e_error(event, "bounceinfo_verify: Failed to search %s: %s",
			mailbox_get_vname(box), error);
	} else {
		res = found ? BOUNCEINFO_VERIFY_GENUINE :
			BOUNCEINFO_VERIFY_FORGED;
		e_debug(event, "bounceinfo_verify: <%s> %s in %s", msgid,
			found ? "found" : "not found", mailbox_get_vname(box));
	}
	mailbox_free(&box);
	return res;
}
