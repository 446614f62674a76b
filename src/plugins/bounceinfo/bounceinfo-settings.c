/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "strnum.h"
#include <ctype.h>
#include "settings-parser.h"
#include "mail-user.h"
#include "bounceinfo-plugin-private.h"

/* All settings are read once, when the user is created. A value that
   cannot be parsed is a configuration error and fails the user's
   initialization with an error naming the setting: better to fail loudly
   at start than to run with a silently different configuration. */

static int
bounceinfo_setting_bool(struct mail_user *user, const char *name,
			bool *value_r, const char **error_r)
{
	const char *value = mail_user_plugin_getenv(user, name);

	if (value == NULL || *value == '\0')
		return 0;
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*value_r = TRUE;
	else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0 ||
		 strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*value_r = FALSE;
	else {
		*error_r = t_strdup_printf(
			"%s: invalid value '%s' (expected yes/no)",
			name, value);
		return -1;
	}
	return 0;
}

static int
bounceinfo_setting_size(struct mail_user *user, const char *name,
			size_t *value_r, const char **error_r)
{
	const char *value = mail_user_plugin_getenv(user, name);
	const char *error;
	uoff_t size;

	if (value == NULL || *value == '\0')
		return 0;
	if (settings_get_size(value, &size, &error) < 0) {
		*error_r = t_strdup_printf(
			"%s: invalid value '%s' (expected a size, e.g. 256k): %s",
			name, value, error);
		return -1;
	}
	if (size == 0 || size > SSIZE_T_MAX) {
		*error_r = t_strdup_printf(
			"%s: invalid value '%s' (must be larger than 0)",
			name, value);
		return -1;
	}
	*value_r = (size_t)size;
	return 0;
}

static int
bounceinfo_setting_uint(struct mail_user *user, const char *name,
			unsigned int *value_r, const char **error_r)
{
	const char *value = mail_user_plugin_getenv(user, name);

	if (value == NULL || *value == '\0')
		return 0;
	if (str_to_uint(value, value_r) < 0 || *value_r == 0) {
		*error_r = t_strdup_printf(
			"%s: invalid value '%s' (expected a positive number)",
			name, value);
		return -1;
	}
	return 0;
}

static int
bounceinfo_setting_language(struct mail_user *user, const char **value_r,
			    const char **error_r)
{
	const char *value = mail_user_plugin_getenv(user,
						    "bounceinfo_language");
	const char *p;

	if (value == NULL || *value == '\0') {
		*value_r = "en";
		return 0;
	}
	/* a language tag such as pl, pt-BR (or pt_BR): the explanations
	   file name is derived from it, so keep it to letters, '-', '_' */
	for (p = value; *p != '\0'; p++) {
		if (!i_isalpha(*p) &&
		    !((*p == '-' || *p == '_') && p != value)) {
			*error_r = t_strdup_printf(
				"bounceinfo_language: invalid value '%s' "
				"(expected a language tag such as en, pl, pt-BR)",
				value);
			return -1;
		}
	}
	*value_r = p_strdup(user->pool, value);
	return 0;
}

int bounceinfo_settings_read(struct mail_user *user,
			     struct bounceinfo_plugin_settings *set_r,
			     const char **error_r)
{
	const char *value;

	i_zero(set_r);
	if (bounceinfo_setting_bool(user, "bounceinfo_keywords",
				    &set_r->keywords, error_r) < 0 ||
	    bounceinfo_setting_bool(user, "bounceinfo_headers",
				    &set_r->headers, error_r) < 0 ||
	    bounceinfo_setting_bool(user, "bounceinfo_verify",
				    &set_r->verify, error_r) < 0 ||
	    bounceinfo_setting_size(user, "bounceinfo_max_scan_bytes",
				    &set_r->max_scan_bytes, error_r) < 0 ||
	    bounceinfo_setting_uint(user, "bounceinfo_max_recipients",
				    &set_r->max_recipients, error_r) < 0 ||
	    bounceinfo_setting_language(user, &set_r->language, error_r) < 0)
		return -1;

	value = mail_user_plugin_getenv(user, "bounceinfo_datadir");
	if (value != NULL && *value != '\0') {
		if (*value != '/') {
			*error_r = t_strdup_printf(
				"bounceinfo_datadir: invalid value '%s' "
				"(expected an absolute path)", value);
			return -1;
		}
		set_r->datadir = p_strdup(user->pool, value);
	}

	/* Extra rules: space-separated files or directories. Whether they
	   can be read and parsed is checked when they are loaded; a broken
	   rules file disables the plugin for the user (fail open) instead of
	   failing the user. */
	value = mail_user_plugin_getenv(user, "bounceinfo_rules");
	if (value != NULL && *value != '\0') {
		const char *const *paths = t_strsplit_spaces(value, " ");
		ARRAY_TYPE(const_string) rules;

		p_array_init(&rules, user->pool, 4);
		for (; *paths != NULL; paths++) {
			if (**paths != '/') {
				*error_r = t_strdup_printf(
					"bounceinfo_rules: invalid value '%s' "
					"(expected absolute paths)", *paths);
				return -1;
			}
			value = p_strdup(user->pool, *paths);
			array_push_back(&rules, &value);
		}
		array_append_zero(&rules);
		set_r->rules = array_front(&rules);
	}
	return 0;
}
