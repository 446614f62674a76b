/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "mail-storage-private.h"
#include "bounceinfo-plugin-private.h"

/* Arriving mail is classified when it is saved into a user's mailbox:
   delivery (LMTP/LDA copy from the raw mail, or from another user's copy
   for further LMTP recipients) and APPEND/doveadm save. A copy or move
   between the user's own mailboxes is not classified again, nor is
   replication (dsync): the keywords travel with the message.

   With bounceinfo_keywords = yes a bounce gets the keywords $Bounce and
   $Bounce_<class> ('-' in class names becomes '_': "$Bounce_user_unknown"),
   both valid IMAP atoms. On delivery they go into the save context with
   the other flags; for APPEND they are set right after the commit. */

struct bounceinfo_mailbox {
	union mailbox_module_context module_ctx;
};

/* Keywords of bounces saved (not copied) in a transaction: applied once the
   transaction is committed and the saved mails have their UIDs. Setting
   them on the mail being saved would not last with maildir, whose file
   name already carries the flags the save began with. */
struct bounceinfo_saved_mail {
	/* the mail's position among the transaction's saves */
	unsigned int save_idx;
	const char *const *keywords;
};

struct bounceinfo_transaction {
	union mailbox_transaction_module_context module_ctx;
	pool_t pool;
	ARRAY(struct bounceinfo_saved_mail) saved;
};

struct bounceinfo_storage_module bounceinfo_storage_module =
	MODULE_CONTEXT_INIT(&mail_storage_module_register);

const char *const *
bounceinfo_keywords_get(const struct bounceinfo_result *result)
{
	const struct bounceinfo_recipient *rcpt;
	const char **keywords;
	char *class_kw, *p;

	if (!bounceinfo_kind_is_bounce(result->kind))
		return NULL;
	rcpt = bounceinfo_result_first_recipient(result);
	class_kw = t_strdup_noconst(t_strconcat(BOUNCEINFO_KEYWORD"_",
		bounceinfo_class_name(rcpt == NULL ? BOUNCEINFO_CLASS_UNKNOWN :
				      rcpt->class_), NULL));
	for (p = class_kw; *p != '\0'; p++) {
		if (*p == '-')
			*p = '_';
	}
	keywords = t_new(const char *, 3);
	keywords[0] = BOUNCEINFO_KEYWORD;
	keywords[1] = class_kw;
	return keywords;
}

static void
bounceinfo_keywords_add(struct mail *mail,
			const struct bounceinfo_mail_info *info)
{
	struct mail_keywords *kw;
	const char *const *names;

	T_BEGIN {
		names = bounceinfo_keywords_get(info->result);
		if (names != NULL) {
			kw = mailbox_keywords_create_valid(mail->box, names);
			mail_update_keywords(mail, MODIFY_ADD, kw);
			mailbox_keywords_unref(&kw);
		}
	} T_END;
}

static void
bounceinfo_saved_add(struct mail_save_context *ctx,
		     const struct bounceinfo_mail_info *info)
{
	struct mailbox_transaction_context *t = ctx->transaction;
	struct bounceinfo_transaction *bt = BOUNCEINFO_CONTEXT(t);
	struct bounceinfo_saved_mail *saved;

	if (bt == NULL) {
		pool_t pool = pool_alloconly_create("bounceinfo saved", 512);

		bt = p_new(pool, struct bounceinfo_transaction, 1);
		bt->pool = pool;
		p_array_init(&bt->saved, pool, 4);
		MODULE_CONTEXT_SET(t, bounceinfo_storage_module, bt);
	}
	saved = array_append_space(&bt->saved);
	/* mailbox_save_finish() counts the save after we return */
	saved->save_idx = t->save_count;
	saved->keywords = p_strarray_dup(bt->pool,
		bounceinfo_keywords_get(info->result));
}

static void
bounceinfo_saved_apply(struct mailbox *save_box,
		       struct bounceinfo_transaction *bt,
		       const struct mail_transaction_commit_changes *changes)
{
	struct bounceinfo_user *buser =
		BOUNCEINFO_USER_CONTEXT(save_box->storage->user);
	const struct bounceinfo_saved_mail *saved;
	struct mailbox_transaction_context *t;
	struct mailbox *box;
	struct mail_keywords *kw;
	struct seq_range_iter iter;
	struct mail *mail;
	uint32_t uid;

	if (array_count(&changes->saved_uids) == 0) {
		/* the saver did not ask for UIDs: doveadm bounceinfo tag
		   can set them later */
		e_debug(buser->event, "Keywords of saved bounces not set: "
			"no UIDs were assigned");
		return;
	}

	/* A mailbox of our own: syncing the saver's (maybe the IMAP
	   session's selected mailbox) would hide the new mails from its
	   own sync. */
	box = mailbox_alloc(save_box->list, save_box->vname, 0);
	if (mailbox_sync(box, 0) < 0) {
		e_error(buser->event, "Failed to set keywords of saved "
			"bounces: Failed to open %s: %s", mailbox_get_vname(box),
			mailbox_get_last_internal_error(box, NULL));
		mailbox_free(&box);
		return;
	}
	t = mailbox_transaction_begin(box, 0, "bounceinfo keywords");
	mail = mail_alloc(t, 0, NULL);
	seq_range_array_iter_init(&iter, &changes->saved_uids);
	array_foreach(&bt->saved, saved) {
		if (!seq_range_array_iter_nth(&iter, saved->save_idx, &uid) ||
		    !mail_set_uid(mail, uid))
			continue;
		kw = mailbox_keywords_create_valid(box, saved->keywords);
		mail_update_keywords(mail, MODIFY_ADD, kw);
		mailbox_keywords_unref(&kw);
		e_debug(buser->event, "Keywords %s added to saved uid=%u",
			t_strarray_join(saved->keywords, " "), uid);
	}
	mail_free(&mail);
	if (mailbox_transaction_commit(&t) < 0) {
		e_error(buser->event, "Failed to set keywords of saved "
			"bounces in %s: %s", mailbox_get_vname(box),
			mailbox_get_last_internal_error(box, NULL));
	}
	mailbox_free(&box);
}

static int
bounceinfo_transaction_commit(struct mailbox_transaction_context *t,
			      struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	union mailbox_module_context *bbox = BOUNCEINFO_CONTEXT(box);
	struct bounceinfo_transaction *bt = BOUNCEINFO_CONTEXT(t);
	int ret;

	ret = bbox->super.transaction_commit(t, changes_r);
	if (bt != NULL) {
		if (ret == 0) T_BEGIN {
			bounceinfo_saved_apply(box, bt, changes_r);
		} T_END;
		pool_unref(&bt->pool);
	}
	return ret;
}

static void
bounceinfo_transaction_rollback(struct mailbox_transaction_context *t)
{
	struct mailbox *box = t->box;
	union mailbox_module_context *bbox = BOUNCEINFO_CONTEXT(box);
	struct bounceinfo_transaction *bt = BOUNCEINFO_CONTEXT(t);

	bbox->super.transaction_rollback(t);
	if (bt != NULL)
		pool_unref(&bt->pool);
}

int bounceinfo_plugin_mail_set_keywords(struct mail *mail)
{
	const struct bounceinfo_mail_info *info;
	const char *const *names, *const *existing;
	int ret = 0;

	if (bounceinfo_plugin_mail_get_info(mail, &info) < 0)
		return -1;
	if (!bounceinfo_kind_is_bounce(info->result->kind))
		return 0;
	T_BEGIN {
		names = bounceinfo_keywords_get(info->result);
		existing = mail_get_keywords(mail);
		if (!str_array_find(existing, names[0]) ||
		    !str_array_find(existing, names[1])) {
			bounceinfo_keywords_add(mail, info);
			ret = 1;
		}
	} T_END;
	return ret;
}

/* Delivery: the keywords go into the save context before the message is
   written, so that they are stored like the flags Sieve or the client set
   (in maildir they become part of the file name). mailbox_save_set_flags()
   keeps the context's reference counting right. */
static void
bounceinfo_copy_add_keywords(struct mail_save_context *ctx,
			     const struct bounceinfo_mail_info *info)
{
	struct mailbox *box = ctx->transaction->box;
	struct mail_keywords *kw, *merged;
	const char *const *names;

	T_BEGIN {
		names = bounceinfo_keywords_get(info->result);
		if (names != NULL) {
			kw = mailbox_keywords_create_valid(box, names);
			if (ctx->data.keywords == NULL)
				merged = kw;
			else {
				merged = mailbox_keywords_merge(
					ctx->data.keywords, kw);
				mailbox_keywords_unref(&kw);
			}
			mailbox_save_set_flags(ctx, ctx->data.flags |
					       ctx->data.pvt_flags, merged);
			mailbox_keywords_unref(&merged);
			e_debug(box->event, "bounceinfo: keywords %s added",
				t_strarray_join(names, " "));
		}
	} T_END;
}

static bool bounceinfo_keyword_is_ours(const char *name)
{
	return strcasecmp(name, BOUNCEINFO_KEYWORD) == 0 ||
		strncasecmp(name, BOUNCEINFO_KEYWORD"_",
			    strlen(BOUNCEINFO_KEYWORD"_")) == 0;
}

/* LMTP gives later recipients the first recipient's saved copy, and
   copying (or Pigeonhole's keep/fileinto) takes its flags along: drop
   the $Bounce keywords that copy got for its own user, so that only this
   user's classification and bounceinfo_keywords setting count. */
static void
bounceinfo_copy_drop_source_keywords(struct mail_save_context *ctx,
				     struct mail *src_mail)
{
	struct mailbox *box = ctx->transaction->box;
	const ARRAY_TYPE(keywords) *all;
	const char *const *src_names, *name;
	ARRAY_TYPE(const_string) kept;
	struct mail_keywords *kw;
	unsigned int i;
	bool dropped = FALSE;

	if (ctx->data.keywords == NULL)
		return;
	src_names = mail_get_keywords(src_mail);
	all = mail_index_get_keywords(box->index);
	t_array_init(&kept, ctx->data.keywords->count + 1);
	for (i = 0; i < ctx->data.keywords->count; i++) {
		name = array_idx_elem(all, ctx->data.keywords->idx[i]);
		if (bounceinfo_keyword_is_ours(name) &&
		    str_array_icase_find(src_names, name))
			dropped = TRUE;
		else
			array_push_back(&kept, &name);
	}
	if (!dropped)
		return;
	array_append_zero(&kept);
	kw = mailbox_keywords_create_valid(box, array_front(&kept));
	mailbox_save_set_flags(ctx, ctx->data.flags | ctx->data.pvt_flags, kw);
	mailbox_keywords_unref(&kw);
}

static void
bounceinfo_saving(struct mail_save_context *ctx, struct mail *src_mail,
		  bool saved)
{
	struct mailbox *box = ctx->transaction->box;
	struct bounceinfo_user *buser =
		BOUNCEINFO_USER_CONTEXT(box->storage->user);
	const struct bounceinfo_mail_info *info;

	i_assert(buser != NULL);
	/* (also Pigeonhole's edited copy of it: a raw mail whose keywords
	   are those of the mail it wraps) */
	if (!saved && src_mail->box->storage->user != box->storage->user)
		T_BEGIN {
		bounceinfo_copy_drop_source_keywords(ctx, src_mail);
	} T_END;
	/* for the user the mail is saved for (their rules and \Sent),
	   whoever's mail it is read from; errors are logged by get_info,
	   the mail is saved regardless */
	if (bounceinfo_plugin_mail_get_info_user(src_mail, box->storage->user,
						 &info) < 0)
		return;
	if (!buser->set.keywords ||
	    !bounceinfo_kind_is_bounce(info->result->kind))
		return;
	if (!saved)
		bounceinfo_copy_add_keywords(ctx, info);
	else
		bounceinfo_saved_add(ctx, info);
}

static int
bounceinfo_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *box = ctx->transaction->box;
	union mailbox_module_context *bbox = BOUNCEINFO_CONTEXT(box);

	/* classify what arrives from outside the user's own mailboxes */
	if (bounceinfo_mail_is_raw(mail) ||
	    mail->box->storage->user != box->storage->user)
		bounceinfo_saving(ctx, mail, FALSE);
	return bbox->super.copy(ctx, mail);
}

static int bounceinfo_save_finish(struct mail_save_context *ctx)
{
	struct mailbox *box = ctx->transaction->box;
	union mailbox_module_context *bbox = BOUNCEINFO_CONTEXT(box);
	/* A save with its UID given is replication (dsync) or a migration:
	   the message arrived earlier, elsewhere, and keeps its keywords.
	   (The backend clears ctx->data when it finishes.) */
	bool replica = ctx->data.uid != 0;

	if (bbox->super.save_finish(ctx) < 0)
		return -1;
	/* copy implemented as save: handled by bounceinfo_copy() */
	if (!ctx->copying_via_save && !replica && ctx->dest_mail != NULL)
		bounceinfo_saving(ctx, ctx->dest_mail, TRUE);
	return 0;
}

void bounceinfo_keywords_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct bounceinfo_mailbox *bbox;

	if (BOUNCEINFO_USER_CONTEXT(box->storage->user) == NULL ||
	    strcmp(box->storage->name, "raw") == 0)
		return;

	bbox = p_new(box->pool, struct bounceinfo_mailbox, 1);
	bbox->module_ctx.super = *v;
	box->vlast = &bbox->module_ctx.super;
	v->copy = bounceinfo_copy;
	v->save_finish = bounceinfo_save_finish;
	v->transaction_commit = bounceinfo_transaction_commit;
	v->transaction_rollback = bounceinfo_transaction_rollback;
	MODULE_CONTEXT_SET_SELF(box, bounceinfo_storage_module,
				&bbox->module_ctx);
}
