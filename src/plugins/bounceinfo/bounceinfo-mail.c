/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "buffer.h"
#include "istream.h"
#include "mail-storage-private.h"
#include "bounceinfo-plugin-private.h"

/* One classification per mail per process: the result is kept in the
   struct mail's module context and dropped as soon as the mail object
   moves to another message (set_seq/set_uid), is closed or freed. All
   consumers (keywords, events, the Sieve extension, doveadm) go through
   bounceinfo_plugin_mail_get_info(). */

struct bounceinfo_mail {
	union mail_module_context module_ctx;
	/* pool of the current classification, NULL when none */
	pool_t pool;
	struct bounceinfo_mail_info info;
	uint32_t seq;
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
bounceinfo_mail_verify(struct mail *mail, struct bounceinfo_user *buser,
		       const struct bounceinfo_result *result)
{
	struct mail_user *target = bounceinfo_mail_target_user(mail);
	struct bounceinfo_user *tbuser;

	if (!bounceinfo_kind_is_bounce(result->kind) ||
	    result->original.message_id == NULL)
		return BOUNCEINFO_VERIFY_NOT_APPLICABLE;
	/* the settings of the user the mail is for decide */
	tbuser = target == NULL ? NULL : BOUNCEINFO_USER_CONTEXT(target);
	if (tbuser == NULL)
		tbuser = buser;
	if (!tbuser->set.verify)
		return BOUNCEINFO_VERIFY_UNCHECKED;
	if (target == NULL) {
		e_error(buser->event, "Cannot verify the bounce: "
			"the recipient user is unknown");
		return BOUNCEINFO_VERIFY_UNCHECKED;
	}
	return bounceinfo_verify_original(target, result);
}

static bool bounceinfo_mail_is_arriving(struct mail *mail)
{
	return mail->saving || bounceinfo_mail_is_raw(mail);
}

/* Log through the user the mail is for: the raw mail of a delivery
   belongs to an internal user without the recipient's log prefix and
   mail_debug. */
static struct event *
bounceinfo_mail_log_event(struct mail *mail, struct bounceinfo_user *buser)
{
	struct mail_user *target = bounceinfo_mail_target_user(mail);
	struct bounceinfo_user *tbuser =
		target == NULL ? NULL : BOUNCEINFO_USER_CONTEXT(target);

	return tbuser != NULL ? tbuser->event : buser->event;
}

/* How much of a message the classifier is given: several times the text
   it scans, for the headers and MIME structure around that text. */
static size_t bounceinfo_mail_copy_limit(struct bounceinfo_user *buser)
{
	size_t scan = buser->set.max_scan_bytes != 0 ?
		buser->set.max_scan_bytes : BOUNCEINFO_DEFAULT_MAX_SCAN_BYTES;

	return I_MAX(scan, 16 * 1024) * 4;
}

/* Copy the start of the message by reading and consuming it block by
   block, as saving does, instead of handing the mail stream itself to
   the MIME parser: Pigeonhole's edit-mail stream (any Sieve editheader
   action) returns 0 from a blocking read when a header line outgrows its
   buffer, which panics the delivery process in i_stream_read(). */
static int
bounceinfo_mail_read_start(struct istream *input, size_t limit,
			   buffer_t *buf)
{
	const unsigned char *data;
	size_t size;

	while (buf->used < limit &&
	       i_stream_read_more(input, &data, &size) > 0) {
		size = I_MIN(size, limit - buf->used);
		buffer_append(buf, data, size);
		i_stream_skip(input, size);
	}
	return input->stream_errno != 0 ? -1 : 0;
}

static int
bounceinfo_mail_classify(struct mail *mail, struct bounceinfo_user *buser,
			 pool_t pool, struct bounceinfo_mail_info *info)
{
	struct event *event = bounceinfo_mail_log_event(mail, buser);
	struct bounceinfo *bi;
	struct bounceinfo_result *result;
	struct istream *input;
	buffer_t *buf;
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
	buf = buffer_create_dynamic(default_pool, 16 * 1024);
	if (bounceinfo_mail_read_start(input, bounceinfo_mail_copy_limit(buser),
				       buf) < 0) {
		e_error(event, "Failed to read message (uid=%u): %s",
			mail->uid, i_stream_get_error(input));
		ret = -1;
	} else T_BEGIN {
		ret = bounceinfo_parse_data(bi, buf->data, buf->used, pool,
					    &result, &error);
		if (ret < 0) {
			e_error(event,
				"Failed to classify message (uid=%u): %s",
				mail->uid, error);
		}
	} T_END;
	buffer_free(&buf);
	/* the delivery reads the same stream after us */
	i_stream_seek(input, 0);
	if (ret < 0)
		return -1;
	info->result = result;

	info->verify = bounceinfo_mail_verify(mail, buser, info->result);

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
	    bounceinfo_mail_is_arriving(mail))
		bounceinfo_event_classified(event, mail, info);
	return 0;
}

/* The raw mail of the first delivery of an LMTP process belongs to a user
   created before the mail plugins were loaded, so it has no module context
   of ours. Its classification is kept here instead, for that one mailbox
   instance (generation_sequence is unique per struct mailbox in the
   process) and message. */
static struct {
	pool_t pool;
	const struct mailbox *box;
	unsigned int box_generation;
	uint32_t seq;
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
	    bounceinfo_unhooked.seq == mail->seq) {
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
	*info_r = &bounceinfo_unhooked.info;
	return 0;
}

void bounceinfo_mail_unhooked_free(void)
{
	if (bounceinfo_unhooked.pool != NULL)
		pool_unref(&bounceinfo_unhooked.pool);
	i_zero(&bounceinfo_unhooked);
}

int bounceinfo_plugin_mail_get_info(struct mail *mail,
				    const struct bounceinfo_mail_info **info_r)
{
	struct mail_private *pmail = (struct mail_private *)mail;
	struct bounceinfo_mail *bmail = BOUNCEINFO_MAIL_CONTEXT(pmail);
	struct bounceinfo_user *buser;

	if (bmail != NULL && bmail->classified && bmail->seq == mail->seq) {
		*info_r = &bmail->info;
		return 0;
	}

	buser = bounceinfo_user_for_mail(mail);
	if (buser == NULL) {
		e_debug(mail_event(mail), "bounceinfo: "
			"plugin not enabled for this user's mail");
		return -1;
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
	bmail->classified = TRUE;
	*info_r = &bmail->info;
	return 0;
}

const char *bounceinfo_plugin_mail_explain(struct mail *mail,
					   enum bounceinfo_class class_,
					   const char *lang)
{
	struct bounceinfo_user *buser = bounceinfo_user_for_mail(mail);
	struct bounceinfo *bi;

	if (buser == NULL)
		return NULL;
	bi = bounceinfo_user_get_bi(buser);
	return bi == NULL ? NULL : bounceinfo_explain(bi, class_, lang);
}
