/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "settings.h"
#include "mail-user.h"
#include "bounceinfo-setting-defs.h"
#include "bounceinfo-plugin-private.h"

/* Dovecot 2.4: the typed bounceinfo_* settings (src/plugins/settings/),
   read once when the user is created, into the same struct the 2.3 reader
   (bounceinfo-settings.c) fills. Types and values were already checked by
   the settings parser; an error here fails the user's initialization. */

int bounceinfo_settings_read(struct mail_user *user,
			     struct bounceinfo_plugin_settings *set_r,
			     const char **error_r)
{
	const struct bounceinfo_dovecot_settings *set;
	const char *error;

	i_zero(set_r);
	if (settings_get(user->event, &bounceinfo_setting_parser_info, 0,
			 &set, &error) < 0) {
		*error_r = p_strdup(user->pool, error);
		return -1;
	}
	set_r->keywords = set->keywords;
	set_r->headers = set->headers;
	set_r->verify = set->verify;
	set_r->language = p_strdup(user->pool, set->language);
	set_r->datadir = p_strdup(user->pool, set->datadir);
	set_r->max_scan_bytes = (size_t)set->max_scan_bytes;
	set_r->max_recipients = set->max_recipients;
	if (array_is_created(&set->rules) && array_count(&set->rules) > 0) {
		set_r->rules = (const char *const *)p_strarray_dup(user->pool,
			settings_boollist_get(&set->rules));
	}
	settings_free(set);
	return 0;
}
