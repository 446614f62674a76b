#ifndef BOUNCEINFO_PLUGIN_H
#define BOUNCEINFO_PLUGIN_H

#include "bounceinfo.h"

struct mail;
struct mail_user;
struct module;

/* Answer of the spoof check (bounceinfo_verify): does the message the
   bounce returns really exist in the user's \Sent mailbox? */
enum bounceinfo_verify_result {
	/* bounceinfo_verify = no, or the plugin could not check */
	BOUNCEINFO_VERIFY_UNCHECKED = 0,
	/* not a bounce, or the bounce carries no original Message-ID */
	BOUNCEINFO_VERIFY_NOT_APPLICABLE,
	/* the original Message-ID was found in \Sent */
	BOUNCEINFO_VERIFY_GENUINE,
	/* the original Message-ID was not found in \Sent: backscatter */
	BOUNCEINFO_VERIFY_FORGED,
};
#define BOUNCEINFO_VERIFY_RESULT_COUNT (BOUNCEINFO_VERIFY_FORGED + 1)

/* Names of enum bounceinfo_verify_result. Header-level so that the Sieve
   and doveadm plugins share them without the mail plugin being loaded
   (only bounceinfo_plugin_* symbols are exported). */
static const char *const bounceinfo_verify_result_names[] = {
	[BOUNCEINFO_VERIFY_UNCHECKED] = "unchecked",
	[BOUNCEINFO_VERIFY_NOT_APPLICABLE] = "not-applicable",
	[BOUNCEINFO_VERIFY_GENUINE] = "genuine",
	[BOUNCEINFO_VERIFY_FORGED] = "forged",
};

static inline const char *
bounceinfo_verify_result_name(enum bounceinfo_verify_result res)
{
	if ((unsigned int)res >= BOUNCEINFO_VERIFY_RESULT_COUNT)
		return bounceinfo_verify_result_names[BOUNCEINFO_VERIFY_UNCHECKED];
	return bounceinfo_verify_result_names[res];
}

struct bounceinfo_mail_info {
	const struct bounceinfo_result *result;
	enum bounceinfo_verify_result verify;
};

/* The one classification of this mail in this process, computed on first
   use and cached with the mail. Other plugins (the Sieve extension) call
   this through a weak reference so that they share the result when the
   mail plugin is loaded. Returns 0 on success, -1 on internal error
   (already logged: callers fail open). */
int bounceinfo_plugin_mail_get_info(struct mail *mail,
				    const struct bounceinfo_mail_info **info_r);
/* As bounceinfo_plugin_mail_get_info(), for the given user: classified
   with user's rules and limits, spoof-checked against user's \Sent. The
   Sieve extension passes the user its script runs for, because in one
   LMTP transaction later recipients read the first recipient's saved
   copy. Results are cached per mail and user; a message being delivered
   counts once per recipient (event bounceinfo_classified). */
int bounceinfo_plugin_mail_get_info_user(struct mail *mail,
					 struct mail_user *user,
					 const struct bounceinfo_mail_info **info_r);

/* Add the bounce keywords ($Bounce, $Bounce_<class>) to mail if it is a
   bounce, whatever bounceinfo_keywords says (used by doveadm bounceinfo
   tag). Returns 1 if added, 0 if not a bounce or it has them already, -1 on
   error (logged). The change is part of the mail's transaction. */
int bounceinfo_plugin_mail_set_keywords(struct mail *mail);

/* The explanation of class_ for a message of this kind in lang
   (bounceinfo_explain_kind(): a delay warning gets a "delayed" text) from
   the rules the mail plugin loaded for this mail's user, so that other
   plugins need not load their own (weak reference, like
   bounceinfo_plugin_mail_get_info()). NULL if the plugin is not enabled
   for the user or its rules failed to load. */
const char *bounceinfo_plugin_mail_explain(struct mail *mail,
					   enum bounceinfo_kind kind,
					   enum bounceinfo_class class_,
					   const char *lang);
/* The explanation from the rules loaded for user (see above). */
const char *bounceinfo_plugin_user_explain(struct mail_user *user,
					   enum bounceinfo_kind kind,
					   enum bounceinfo_class class_,
					   const char *lang);

/* Compile every rule pattern of the rules loaded for user (they are
   otherwise compiled when first tried; bounceinfo_rules_check()): 0 if
   all compile, -1 with error_r ("file:line: pcre2 error ..." lines, or
   why the rules could not be loaded). For doveadm bounceinfo
   check-rules. */
int bounceinfo_plugin_user_check_rules(struct mail_user *user,
				       const char **error_r);

void bounceinfo_plugin_init(struct module *module);
void bounceinfo_plugin_deinit(void);

#endif
