#ifndef BOUNCEINFO_PLUGIN_PRIVATE_H
#define BOUNCEINFO_PLUGIN_PRIVATE_H

#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "bounceinfo-plugin.h"

#define BOUNCEINFO_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, bounceinfo_user_module)
#define BOUNCEINFO_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT(obj, bounceinfo_mail_module)
#define BOUNCEINFO_CONTEXT(obj) \
	MODULE_CONTEXT(obj, bounceinfo_storage_module)

/* Keyword set on every delivered bounce; the class keyword is
   BOUNCEINFO_KEYWORD "_" <class name with '-' mapped to '_'>. */
#define BOUNCEINFO_KEYWORD "$Bounce"

struct bounceinfo_plugin_settings {
	bool keywords;
	bool headers;
	bool verify;
	const char *language;
	const char *datadir;
	/* NULL-terminated, NULL when not set */
	const char *const *rules;
	size_t max_scan_bytes;
	unsigned int max_recipients;
};

struct bounceinfo_user {
	union mail_user_module_context module_ctx;
	struct mail_user *user;
	struct bounceinfo_plugin_settings set;
	struct event *event;
	/* Loaded rules shared by all users of this process with the same
	   rules settings. NULL when loading failed: the plugin is then
	   disabled for this user (fail open, error logged once). */
	struct bounceinfo *bi;
	/* unique in the process: cached results name the user they were
	   computed for by it (a freed user's address may be reused) */
	unsigned int serial;

	/* LMTP and LDA create one mail_user per recipient and delivery: the
	   message arriving for it (raw mail, Sieve's edited copy, or another
	   recipient's saved copy) is classified, verified and counted once,
	   here, for this user. */
	pool_t delivery_pool;
	struct bounceinfo_mail_info delivery_info;
	/* raw user holding the copies with bounce headers that LMTP's later
	   recipients get of this user's saved mail (bounceinfo-headers.c),
	   NULL until needed; freed before the user */
	struct mail_user *headers_raw_user;

	bool load_attempted:1;
	/* user->service is lmtp or lda */
	bool delivery:1;
	bool delivery_classified:1;
};

extern MODULE_CONTEXT_DEFINE(bounceinfo_user_module,
			     &mail_user_module_register);
extern MODULE_CONTEXT_DEFINE(bounceinfo_mail_module, &mail_module_register);
extern MODULE_CONTEXT_DEFINE(bounceinfo_storage_module,
			     &mail_storage_module_register);

/* bounceinfo-settings.c: parse the plugin { } settings of user. Returns 0,
   or -1 with error_r naming the setting at fault. */
int bounceinfo_settings_read(struct mail_user *user,
			     struct bounceinfo_plugin_settings *set_r,
			     const char **error_r);

/* bounceinfo-plugin.c */
/* The loaded rules of the user (loaded on first use), NULL if loading
   failed (already logged). */
struct bounceinfo *bounceinfo_user_get_bi(struct bounceinfo_user *buser);
/* The user mail is read for when no caller says: for a message being
   delivered (the raw mail, or another recipient's saved copy in LMTP) the
   recipient being delivered to, else the mail's own user. NULL if
   unknown (raw mail outside a delivery). */
struct mail_user *bounceinfo_mail_target_user(struct mail *mail);
bool bounceinfo_mail_is_raw(struct mail *mail);
/* TRUE if mail is, for user, the message a delivery brings: not in one of
   user's own mailboxes, and user is an LMTP/LDA recipient. */
bool bounceinfo_mail_is_delivery_source(struct bounceinfo_user *buser,
					struct mail *mail);

/* bounceinfo-mail.c */
void bounceinfo_mail_allocated(struct mail *mail);
void bounceinfo_mail_unhooked_free(void);
/* Drop the user's delivery result (user deinit). */
void bounceinfo_mail_delivery_free(struct bounceinfo_user *buser);

/* bounceinfo-keywords.c */
void bounceinfo_keywords_mailbox_allocated(struct mailbox *box);
/* The keywords for a classification, NULL-terminated; NULL when the mail
   gets none (not a bounce). */
const char *const *
bounceinfo_keywords_get(const struct bounceinfo_result *result);

/* bounceinfo-events.c: emit bounceinfo_classified for a mail, as a child of
   parent (the bounceinfo event of the user the mail is for). */
void bounceinfo_event_classified(struct event *parent, struct mail *mail,
				 const struct bounceinfo_mail_info *info);

/* bounceinfo-verify.c: look the original Message-ID up in user's \Sent
   mailbox. Never fails: errors are logged and give UNCHECKED. */
enum bounceinfo_verify_result
bounceinfo_verify_original(struct mail_user *user,
			   const struct bounceinfo_result *result);

/* bounceinfo-headers.c: trusted X-Bounce-* headers at delivery */
void bounceinfo_headers_hook_install(void);
void bounceinfo_headers_hook_uninstall(void);
/* Free what the user keeps for the copies (user deinit, before the
   storage goes). */
void bounceinfo_headers_user_deinit(struct bounceinfo_user *buser);
/* The X-Bounce-* header lines (LF-terminated, encoded and folded) for a
   classified result; "" when it is not a bounce. */
const char *
bounceinfo_headers_build(struct bounceinfo_user *buser,
			 const struct bounceinfo_result *result);
/* bounceinfo-mail.c: give mail the classification info of another mail
   with the same content (shares info's pool), so it is not classified
   again. */
void bounceinfo_mail_set_info(struct mail *mail,
			      const struct bounceinfo_mail_info *info);

#endif
