/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "settings.h"

#include "sieve-common.h"

#include "bounceinfo-setting-defs.h"
#include "ext-bounceinfo-common.h"

/* Pigeonhole 2.4: the same typed bounceinfo_* settings as the mail plugin
   (src/plugins/settings/), looked up in the Sieve instance's event so that
   protocol and userdb overrides apply. Invalid values were already refused
   by the settings parser; failing here fails loading the extension. */

bool ext_bounceinfo_read_settings(struct sieve_instance *svinst, pool_t pool,
				  struct ext_bounceinfo_settings *set_r)
{
	const struct bounceinfo_dovecot_settings *set;
	const char *error;

	i_zero(set_r);
	if (settings_get(svinst->event, &bounceinfo_setting_parser_info, 0,
			 &set, &error) < 0) {
		e_error(svinst->event, "bounceinfo: %s", error);
		return FALSE;
	}
	set_r->datadir = p_strdup(pool, set->datadir);
	set_r->language = p_strdup(pool, set->language);
	set_r->max_scan_bytes = (size_t)set->max_scan_bytes;
	set_r->max_recipients = set->max_recipients;
	if (array_is_created(&set->rules) && array_count(&set->rules) > 0) {
		set_r->extra_rules = (const char *const *)p_strarray_dup(pool,
			settings_boollist_get(&set->rules));
	}
	settings_free(set);
	return TRUE;
}
