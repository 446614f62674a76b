#ifndef EXT_BOUNCEINFO_COMMON_H
#define EXT_BOUNCEINFO_COMMON_H

#include "sieve-common.h"

#include "bounceinfo.h"
#include "bounceinfo-plugin.h"
#include "sieve-bounceinfo-compat.h"

/* The mail plugin's shared classification and explanations. They are only
   there when the mail plugin (lib20_bounceinfo_plugin.so) is loaded in this
   process: Dovecot loads modules RTLD_GLOBAL, so the weak references then
   resolve to it; otherwise they are NULL. */
extern int
bounceinfo_plugin_mail_get_info_user(struct mail *mail, struct mail_user *user,
				     const struct bounceinfo_mail_info **info_r)
	__attribute__((weak));
extern const char *
bounceinfo_plugin_user_explain(struct mail_user *user,
			       enum bounceinfo_kind kind,
			       enum bounceinfo_class class_,
			       const char *lang) __attribute__((weak));

/*
 * Fields the test and the variables namespace can look at
 */

/* The values are stored in compiled scripts (tst-bounceinfo.c): only ever
   append new fields before EXT_BOUNCEINFO_FIELD_COUNT. */
enum ext_bounceinfo_field {
	/* one value per reported recipient */
	EXT_BOUNCEINFO_FIELD_CLASS = 0,
	EXT_BOUNCEINFO_FIELD_SEVERITY,
	EXT_BOUNCEINFO_FIELD_STATUS,
	EXT_BOUNCEINFO_FIELD_CODE,
	EXT_BOUNCEINFO_FIELD_ACTION,
	EXT_BOUNCEINFO_FIELD_RECIPIENT,
	EXT_BOUNCEINFO_FIELD_REMOTE_MTA,
	EXT_BOUNCEINFO_FIELD_DIAGNOSTIC,
	/* one value per message */
	EXT_BOUNCEINFO_FIELD_KIND,
	EXT_BOUNCEINFO_FIELD_REPORTING_MTA,
	EXT_BOUNCEINFO_FIELD_MTA,
	EXT_BOUNCEINFO_FIELD_ORIGINAL_MESSAGE_ID,
	EXT_BOUNCEINFO_FIELD_ORIGINAL_SUBJECT,
	EXT_BOUNCEINFO_FIELD_VERIFIED,
	/* per recipient (appended: compiled scripts store the number) */
	EXT_BOUNCEINFO_FIELD_SMTP_COMMAND,

	EXT_BOUNCEINFO_FIELD_COUNT
};

struct ext_bounceinfo_field_def {
	/* tag of the test, without the colon: "remotemta" */
	const char *tag;
	/* name within the bounceinfo. variables namespace: "remote_mta" */
	const char *variable;
	/* what a value is called in compile errors: "class" */
	const char *what;
	/* one value per message rather than one per recipient */
	bool per_message;
	/* the values a literal key is checked against at compile time (:is),
	   NULL when any value is possible */
	bool (*value_is_valid)(const char *value);
	const char *(*valid_values)(void);
	/* the values are upper case ("RCPT"), not lower case */
	bool upper_case;
};

extern const struct ext_bounceinfo_field_def
ext_bounceinfo_fields[EXT_BOUNCEINFO_FIELD_COUNT];

/* Values safe to put into a header, a notification or a mailbox name are
   cut at this many bytes (at a UTF-8 character boundary). */
#define EXT_BOUNCEINFO_MAX_VARIABLE_SIZE 256

/*
 * Extension
 */

struct ext_bounceinfo_settings {
	const char *datadir;
	const char *const *extra_rules;
	const char *language;
	size_t max_scan_bytes;
	unsigned int max_recipients;
};

struct ext_bounceinfo_context {
	pool_t pool;
	struct ext_bounceinfo_settings set;
	const struct sieve_extension *var_ext;

	/* Loaded on first use at runtime: compiling a script (sievec,
	   ManageSieve) never needs the rules. Shared by the process
	   (ext-bounceinfo-classifier.c), not owned by this instance. */
	struct bounceinfo *bi;
	bool bi_failed:1;
};

extern const struct sieve_extension_def bounceinfo_extension;
extern const struct sieve_command_def bounceinfo_test;
extern const struct sieve_operation_def bounceinfo_operation;
/* tst-bounceinfo-kept.c */
extern const struct sieve_command_def bounceinfo_kept_test;
extern const struct sieve_operation_def bounceinfo_kept_operation;

/* Operation codes are stored in compiled scripts: only ever append. */
enum ext_bounceinfo_operation {
	EXT_BOUNCEINFO_OPERATION_BOUNCEINFO = 0,
	EXT_BOUNCEINFO_OPERATION_KEPT,
};
extern const struct sieve_operand_def bounceinfo_namespace_operand;

bool ext_bounceinfo_load(const struct sieve_extension *ext, void **context);
void ext_bounceinfo_unload(const struct sieve_extension *ext);
/* ext-bounceinfo-settings.c (2.3) or ext-bounceinfo-settings24.c (2.4):
   FALSE (logged) when the settings cannot be used. */
bool ext_bounceinfo_read_settings(struct sieve_instance *svinst, pool_t pool,
				  struct ext_bounceinfo_settings *set_r);

/* ext-bounceinfo-classifier.c: the classifier for this Sieve instance's
   settings, loaded once per process and shared; it logs through event
   until the next call. NULL (logged once per instance) if its rules could
   not be loaded. */
struct bounceinfo *
ext_bounceinfo_get_classifier(const struct sieve_extension *ext,
			      struct event *event);
/* The instance ends: detach the shared classifier from its events. */
void ext_bounceinfo_release_classifier(struct ext_bounceinfo_context *ectx);

/*
 * Per-message information
 */

struct ext_bounceinfo_message {
	/* NULL when the message could not be classified (fail open: the
	   message then simply has no values) */
	const struct bounceinfo_result *result;
	enum bounceinfo_verify_result verify;
};

/* Classify the message being filtered, once per message: through the mail
   plugin when it is loaded (sharing its result and spoof check), else by
   parsing the message here. Never fails: on internal errors the error is
   logged and an empty result is returned. */
const struct ext_bounceinfo_message *
ext_bounceinfo_get_message(const struct sieve_runtime_env *renv,
			   const struct sieve_extension *ext);

/* TRUE if the message is something bounceinfo reports on (kind != none). */
bool ext_bounceinfo_message_has_values(const struct ext_bounceinfo_message *msg);

/* Append the values of field to values (const char *), in recipient order.
   Values are valid UTF-8 without control characters. */
void ext_bounceinfo_get_values(const struct ext_bounceinfo_message *msg,
			       enum ext_bounceinfo_field field,
			       ARRAY_TYPE(const_string) *values);

/* The value of a per-recipient field (!per_message) of one recipient, NULL
   if unknown. Not sanitized. */
const char *
ext_bounceinfo_recipient_value(const struct bounceinfo_recipient *rcpt,
			       enum ext_bounceinfo_field field);

/* Make value safe for headers, notifications and mailbox names: control
   characters (CR, LF, TAB, ...) become a single space, invalid UTF-8 is
   replaced, runs of white space are collapsed, and the result is cut to
   max_size bytes at a character boundary (0 = no cap). */
const char *ext_bounceinfo_sanitize(const char *value, size_t max_size);

/* Make code generation fail for a script in which an error was reported
   that Pigeonhole itself does not treat as fatal. */
void ext_bounceinfo_ast_mark_invalid(struct sieve_ast *ast,
				     const struct sieve_extension *ext);

/*
 * Variables namespace
 */

void ext_bounceinfo_variables_init(const struct sieve_extension *this_ext,
				   struct sieve_validator *valdtr);

#endif
