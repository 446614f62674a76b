/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "buffer.h"
#include "istream.h"
#include "mail-storage-private.h"
#include "bounceinfo-plugin-private.h"

/* One classification per mail and user: every result is computed for
   one user (the recipient: their rules, limits and \Sent) and only ever
   given back for that user. All consumers (keywords, events, the Sieve
   extension, doveadm) go through bounceinfo_plugin_mail_get_info_user().

   - The message a delivery brings to an LMTP/LDA recipient is one
     message however it is read: the raw mail, Pigeonhole's edited copy
     (editheader), or in LMTP the first recipient's saved copy. Its result
     is kept in the recipient's bounceinfo_user, so it is classified,
     verified and counted once per recipient.
   - Any other mail keeps its result in the struct mail's module context,
     with the serial of the user it was computed for; it is dropped when
     the mail object moves to another message (set_seq/set_uid), is
     closed or freed. */

struct bounceinfo_mail {
	union mail_module_context module_ctx;
	/* pool of the current classification, NULL when none */
	pool_t pool;
	struct bounceinfo_mail_info info;
	uint32_t seq;
	/* bounceinfo_user.serial of the user info was computed for */
	unsigned int user_serial;
	bool classified:1;
};

struct bounceinfo_mail_module bounceinfo_mail_module =
	MODULE_CONTEXT_INIT(&mail_module_register);

static void bounceinfo_mail_reset(struct bounceinfo_mail *bmail)
{
	if (bmail->pool != NULL)
		pool_unref(&bmail->pool);
	i_zero(&bmail->info);
	bmail->classified = FALSE;
	bmail->seq = 0;
	bmail->user_serial = 0;
}

static void bounceinfo_mail_close(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(mail);

	bounceinfo_mail_reset(bmail);
	bmail->module_ctx.super.close(_mail);
}

static void bounceinfo_mail_free(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(mail);

	bounceinfo_mail_reset(bmail);
	bmail->module_ctx.super.free(_mail);
}

static void
bounceinfo_mail_set_seq(struct mail *_mail, uint32_t seq, bool saving)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(mail);

	/* a new saved mail may get the sequence of a cancelled one */
	if (bmail->seq != seq || saving)
		bounceinfo_mail_reset(bmail);
	bmail->module_ctx.super.set_seq(_mail, seq, saving);
}

static bool bounceinfo_mail_set_uid(struct mail *_mail, uint32_t uid)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(mail);

	if (_mail->uid != uid || _mail->seq == 0)
		bounceinfo_mail_reset(bmail);
	return bmail->module_ctx.super.set_uid(_mail, uid);
}

void bounceinfo_mail_set_info(struct mail *mail,
			      const struct bounceinfo_mail_info *info)
{
	struct mail_private *pmail = (struct mail_private *)mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(pmail);

	if (bmail == NULL)
		return;
	bounceinfo_mail_reset(bmail);
	bmail->pool = info->result->pool;
	pool_ref(bmail->pool);
	bmail->info = *info;
	bmail->seq = mail->seq;
	bmail->classified = TRUE;
}

void bounceinfo_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	struct bounceinfo_mail *bmail;

	bmail = p_new(mail->pool, struct bounceinfo_mail, 1);
	bmail->module_ctx.super = *v;
	mail->vlast = &bmail->module_ctx.super;

	v->close = bounceinfo_mail_close;
	v->free = bounceinfo_mail_free;
	v->set_seq = bounceinfo_mail_set_seq;
	v->set_uid = bounceinfo_mail_set_uid;
	MODULE_CONTEXT_SET_SELF(mail, bounceinfo_mail_module, &bmail->module_ctx);
}

static enum bounceinfo_verify_result
bounceinfo_mail_verify(struct bounceinfo_user *buser,
		       const struct bounceinfo_result *result)
{
	if (!bounceinfo_kind_is_bounce(result->kind) ||
	    result->original.message_id == NULL)
		return BOUNCEINFO_VERIFY_NOT_APPLICABLE;
	if (!buser->set.verify)
		return BOUNCEINFO_VERIFY_UNCHECKED;
	return bounceinfo_verify_original(buser->user, result);
}

/* Mail that arrives: counted in the bounceinfo_classified event, unlike
   doveadm or IMAP looking at old mail. */
static bool
bounceinfo_mail_is_arriving(struct bounceinfo_user *buser, struct mail *mail)
{
	return mail->saving || bounceinfo_mail_is_raw(mail) ||
		bounceinfo_mail_is_delivery_source(buser, mail);
}

static int
bounceinfo_mail_classify(struct mail *mail, struct bounceinfo_user *buser,
			 pool_t pool, struct bounceinfo_mail_info *info)
{
	struct event *event = buser->event;
	struct bounceinfo *bi;
	struct bounceinfo_result *result;
	struct istream *input;
	const char *error;
	int ret;

	bi = bounceinfo_user_get_bi(buser);
	if (bi == NULL)
		return -1;

	if (mail_get_stream_because(mail, NULL, NULL, "bounceinfo",
				    &input) < 0) {
		e_error(event, "Failed to read message (uid=%u): %s",
			mail->uid, mailbox_get_last_internal_error(mail->box,
								   NULL));
		return -1;
	}
	/* the library reads a bounded start of the stream, block by block,
	   as every other caller does */
	T_BEGIN {
		ret = bounceinfo_parse(bi, input, pool, &result, &error);
		if (ret < 0) {
			e_error(event,
				"Failed to classify message (uid=%u): %s",
				mail->uid, error);
		}
	} T_END;
	/* the delivery reads the same stream after us */
	i_stream_seek(input, 0);
	if (ret < 0)
		return -1;
	info->result = result;

	info->verify = bounceinfo_mail_verify(buser, info->result);

	T_BEGIN {
		const struct bounceinfo_recipient *rcpt =
			bounceinfo_result_first_recipient(info->result);

		e_debug(event, "Classified message (box=%s, uid=%u): "
			"kind=%s class=%s severity=%s verified=%s rule=%s",
			mailbox_get_vname(mail->box), mail->uid,
			bounceinfo_kind_name(info->result->kind),
			rcpt == NULL ? "none" :
			bounceinfo_class_name(rcpt->class_),
			rcpt == NULL ? "none" :
			bounceinfo_severity_name(rcpt->severity),
			bounceinfo_verify_result_name(info->verify),
			rcpt == NULL || rcpt->rule_id == NULL ? "-" :
			rcpt->rule_id);
	} T_END;

	/* count arriving mail only, not doveadm looking at old mail */
	if (info->result->kind != BOUNCEINFO_KIND_NONE &&
	    bounceinfo_mail_is_arriving(buser, mail))
		bounceinfo_event_classified(event, mail, info);
	return 0;
}

/* The raw mail of the first delivery of an LMTP process belongs to a user
   created before the mail plugins were loaded, so it has no module context
   of ours. Its classification is kept here instead, for that one mailbox
   instance (generation_sequence is unique per struct mailbox in the
   process), message and user. */
static struct {
	pool_t pool;
	const struct mailbox *box;
	unsigned int box_generation;
	uint32_t seq;
	unsigned int user_serial;
	struct bounceinfo_mail_info info;
} bounceinfo_unhooked;

static int
bounceinfo_mail_get_info_unhooked(struct mail *mail,
				  struct bounceinfo_user *buser,
				  const struct bounceinfo_mail_info **info_r)
{
	if (bounceinfo_unhooked.pool != NULL &&
	    bounceinfo_unhooked.box == mail->box &&
	    bounceinfo_unhooked.box_generation ==
	    mail->box->generation_sequence &&
	    bounceinfo_unhooked.seq == mail->seq &&
	    bounceinfo_unhooked.user_serial == buser->serial) {
		*info_r = &bounceinfo_unhooked.info;
		return 0;
	}
	bounceinfo_mail_unhooked_free();
	bounceinfo_unhooked.pool =
		pool_alloconly_create("bounceinfo unhooked mail", 2048);
	if (bounceinfo_mail_classify(mail, buser, bounceinfo_unhooked.pool,
				     &bounceinfo_unhooked.info) < 0) {
		bounceinfo_mail_unhooked_free();
		return -1;
	}
	bounceinfo_unhooked.box = mail->box;
	bounceinfo_unhooked.box_generation = mail->box->generation_sequence;
	bounceinfo_unhooked.seq = mail->seq;
	bounceinfo_unhooked.user_serial = buser->serial;
	*info_r = &bounceinfo_unhooked.info;
	return 0;
}

void bounceinfo_mail_unhooked_free(void)
{
	if (bounceinfo_unhooked.pool != NULL)
		pool_unref(&bounceinfo_unhooked.pool);
	i_zero(&bounceinfo_unhooked);
}

void bounceinfo_mail_delivery_free(struct bounceinfo_user *buser)
{
	if (buser->delivery_pool != NULL)
		pool_unref(&buser->delivery_pool);
	i_zero(&buser->delivery_info);
	buser->delivery_classified = FALSE;
}

static int
bounceinfo_mail_get_info_delivery(struct mail *mail,
				  struct bounceinfo_user *buser,
				  const struct bounceinfo_mail_info **info_r)
{
	if (!buser->delivery_classified) {
		bounceinfo_mail_delivery_free(buser);
		buser->delivery_pool =
			pool_alloconly_create("bounceinfo delivery", 2048);
		if (bounceinfo_mail_classify(mail, buser, buser->delivery_pool,
					     &buser->delivery_info) < 0) {
			/* tried again by the next reader: fail open */
			bounceinfo_mail_delivery_free(buser);
			return -1;
		}
		buser->delivery_classified = TRUE;
	}
	*info_r = &buser->delivery_info;
	return 0;
}

int bounceinfo_plugin_mail_get_info_user(struct mail *mail,
					 struct mail_user *user,
					 const struct bounceinfo_mail_info **info_r)
{
	struct mail_private *pmail = (struct mail_private *)mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(pmail);
	struct bounceinfo_user *buser;

	buser = user == NULL ? NULL : BOUNCEINFO_USER_CONTEXT(user);
	if (buser == NULL) {
		e_debug(mail_event(mail), "bounceinfo: "
			"plugin not enabled for this user's mail");
		return -1;
	}
	if (bounceinfo_mail_is_delivery_source(buser, mail))
		return bounceinfo_mail_get_info_delivery(mail, buser, info_r);

	if (bmail != NULL && bmail->classified && bmail->seq == mail->seq &&
	    bmail->user_serial == buser->serial) {
		*info_r = &bmail->info;
		return 0;
	}
	if (bmail == NULL)
		return bounceinfo_mail_get_info_unhooked(mail, buser, info_r);

	bounceinfo_mail_reset(bmail);
	bmail->pool = pool_alloconly_create("bounceinfo mail", 2048);
	if (bounceinfo_mail_classify(mail, buser, bmail->pool,
				     &bmail->info) < 0) {
		bounceinfo_mail_reset(bmail);
		return -1;
	}
	bmail->seq = mail->seq;
	bmail->user_serial = buser->serial;
	bmail->classified = TRUE;
	*info_r = &bmail->info;
	return 0;
}

int bounceinfo_plugin_mail_get_info(struct mail *mail,
				    const struct bounceinfo_mail_info **info_r)
{
	return bounceinfo_plugin_mail_get_info_user(
		mail, bounceinfo_mail_target_user(mail), info_r);
}

const char *bounceinfo_plugin_user_explain(struct mail_user *user,
					   enum bounceinfo_kind kind,
					   enum bounceinfo_class class_,
					   const char *lang)
{
	struct bounceinfo_user *buser =
		user == NULL ? NULL : BOUNCEINFO_USER_CONTEXT(user);
	struct bounceinfo *bi;

	if (buser == NULL)
		return NULL;
	bi = bounceinfo_user_get_bi(buser);
	return bi == NULL ? NULL :
		bounceinfo_explain_kind(bi, kind, class_, lang);
}

const char *bounceinfo_plugin_mail_explain(struct mail *mail,
					   enum bounceinfo_kind kind,
					   enum bounceinfo_class class_,
					   const char *lang)
{
	return bounceinfo_plugin_user_explain(
		bounceinfo_mail_target_user(mail), kind, class_, lang);
}
