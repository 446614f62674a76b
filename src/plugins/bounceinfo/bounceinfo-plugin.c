/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "mail-storage-hooks.h"
#include "bounceinfo-plugin-private.h"

const char *bounceinfo_plugin_version = DOVECOT_ABI_VERSION;

struct bounceinfo_user_module bounceinfo_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

static struct event_category event_category_bounceinfo = {
	.name = "bounceinfo",
};

/* The user mail is being delivered to: the raw mail of LMTP/LDA belongs to
   an internal user, so verification needs to know the recipient. Mail
   processes handle one user at a time. */
static struct bounceinfo_user *bounceinfo_current_user = NULL;
/* Hands out bounceinfo_user.serial */
static unsigned int bounceinfo_user_serial = 0;

/* Rules are shared by all users of the process whose rules settings are
   the same (an LMTP process delivers to many users: compile them once);
   kept until the plugin is unloaded. */
static struct bounceinfo *bounceinfo_user_load(struct bounceinfo_user *buser)
{
	struct bounceinfo_settings bset;
	struct bounceinfo *bi;
	const char *error;
	bool created;

	i_zero(&bset);
	bset.datadir = buser->set.datadir;
	bset.extra_rules = buser->set.rules;
	bset.max_scan_bytes = buser->set.max_scan_bytes;
	bset.max_recipients = buser->set.max_recipients;
	/* the user's event: the library adds its own "bounceinfo: " */
	bset.event_parent = buser->user->event;
	if (bounceinfo_shared_get(&bset, &bi, &created, &error) < 0) {
		/* fail open: mail is delivered as without the plugin */
		e_error(buser->event,
			"Failed to load rules, bounce classification is "
			"disabled for this user: %s", error);
		return NULL;
	}
	return bi;
}

struct bounceinfo *bounceinfo_user_get_bi(struct bounceinfo_user *buser)
{
	/* Rules are loaded on first use: an IMAP session that never
	   classifies a mail does not pay for compiling them. */
	if (!buser->load_attempted) {
		buser->load_attempted = TRUE;
		buser->bi = bounceinfo_user_load(buser);
	}
	/* shared with the process' other users: log as this one */
	if (buser->bi != NULL)
		bounceinfo_set_event_parent(buser->bi, buser->user->event);
	return buser->bi;
}

int bounceinfo_plugin_user_check_rules(struct mail_user *user,
				       const char **error_r)
{
	struct bounceinfo_user *buser = BOUNCEINFO_USER_CONTEXT(user);
	struct bounceinfo *bi;

	if (buser == NULL) {
		*error_r = "the bounceinfo mail plugin is not enabled for "
			"this user";
		return -1;
	}
	bi = bounceinfo_user_get_bi(buser);
	if (bi == NULL) {
		/* bounceinfo_user_load() logged why */
		*error_r = "Failed to load rules (see the error logged)";
		return -1;
	}
	return bounceinfo_rules_check(bi, error_r);
}

bool bounceinfo_mail_is_raw(struct mail *mail)
{
	return strcmp(mail->box->storage->name, "raw") == 0;
}

bool bounceinfo_mail_is_delivery_source(struct bounceinfo_user *buser,
					struct mail *mail)
{
	return buser->delivery && mail->box->storage->user != buser->user;
}

struct mail_user *bounceinfo_mail_target_user(struct mail *mail)
{
	struct mail_user *owner = mail->box->storage->user;

	if (bounceinfo_mail_is_raw(mail)) {
		return bounceinfo_current_user == NULL ? NULL :
			bounceinfo_current_user->user;
	}
	/* LMTP gives later recipients the first recipient's saved copy:
	   it is read for the recipient being delivered to, not for its
	   owner. (Owners of shared mailboxes are autocreated users.) */
	if (bounceinfo_current_user != NULL &&
	    bounceinfo_current_user->delivery &&
	    bounceinfo_current_user->user != owner && !owner->autocreated)
		return bounceinfo_current_user->user;
	return owner;
}

/* Internal users (raw users) made during a delivery are a cost per
   delivery (issue 10): their life is logged through the event of the user
   being delivered to, with its log prefix and its debug logging (on 2.3
   a raw user's own event never logs debug lines); tests count these
   lines. */
static struct event *
bounceinfo_internal_user_event(struct bounceinfo_user *buser)
{
	return bounceinfo_current_user != NULL ?
		bounceinfo_current_user->event : buser->event;
}

static void bounceinfo_user_deinit(struct mail_user *user)
{
	struct bounceinfo_user *buser = BOUNCEINFO_USER_CONTEXT(user);

	i_assert(buser != NULL);
	if (bounceinfo_current_user == buser)
		bounceinfo_current_user = NULL;
	bounceinfo_mail_delivery_free(buser);
	/* the shared rules keep no reference to a finished user's event */
	if (buser->bi != NULL)
		bounceinfo_set_event_parent(buser->bi, NULL);
	bounceinfo_headers_user_deinit(buser);
	if (user->autocreated) {
		e_debug(bounceinfo_internal_user_event(buser),
			"Internal user %s deinitialized", user->username);
	}
	/* mailboxes closed by the deinit may still log through our event */
	buser->module_ctx.super.deinit(user);
	event_unref(&buser->event);
}

static void bounceinfo_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct bounceinfo_user *buser;
	struct bounceinfo_plugin_settings set;
	const char *error;

	if (bounceinfo_settings_read(user, &set, &error) < 0) {
		/* Invalid configuration: fail the user with a clear error.
		   Internal users (the raw mail of LMTP) are left alone: the
		   recipient's initialization reports the same error, and
		   failing the raw user would kill the LMTP process. */
		if (!user->autocreated)
			user->error = p_strdup(user->pool, error);
		return;
	}

	buser = p_new(user->pool, struct bounceinfo_user, 1);
	buser->set = set;
	buser->user = user;
	buser->serial = ++bounceinfo_user_serial;
	buser->delivery = user->service != NULL &&
		(strcmp(user->service, "lmtp") == 0 ||
		 strcmp(user->service, "lda") == 0);
	buser->event = event_create(user->event);
	event_add_category(buser->event, &event_category_bounceinfo);
	event_set_append_log_prefix(buser->event, "bounceinfo: ");

	buser->module_ctx.super = *v;
	user->vlast = &buser->module_ctx.super;
	v->deinit = bounceinfo_user_deinit;
	MODULE_CONTEXT_SET(user, bounceinfo_user_module, buser);

	/* the internal users (raw mail of deliveries, shared namespace
	   owners) are never the user mail is delivered to */
	if (user->autocreated) {
		e_debug(bounceinfo_internal_user_event(buser),
			"Internal user %s initialized", user->username);
	} else {
		bounceinfo_current_user = buser;
		/* every mail plugin (Sieve's deliver hook too) is
		   initialized by now */
		bounceinfo_headers_hook_install();
	}
}

static struct mail_storage_hooks bounceinfo_mail_storage_hooks = {
	.mail_user_created = bounceinfo_mail_user_created,
	.mailbox_allocated = bounceinfo_keywords_mailbox_allocated,
	.mail_allocated = bounceinfo_mail_allocated,
};

void bounceinfo_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &bounceinfo_mail_storage_hooks);
}

void bounceinfo_plugin_deinit(void)
{
	mail_storage_hooks_remove(&bounceinfo_mail_storage_hooks);
	bounceinfo_headers_hook_uninstall();
	bounceinfo_current_user = NULL;
	bounceinfo_mail_unhooked_free();
	bounceinfo_shared_free_all();
}
