/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-settings.h"

#include "ext-bounceinfo-common.h"

/* Pigeonhole 0.5 (Dovecot 2.3): the bounceinfo_* settings of plugin { }.
   Invalid numbers are reported by Pigeonhole's getters and the library
   default is used then. ext-bounceinfo-settings24.c is the 2.4 reader. */

bool ext_bounceinfo_read_settings(struct sieve_instance *svinst, pool_t pool,
				  struct ext_bounceinfo_settings *set_r)
{
	const char *value;
	size_t size;
	unsigned long long int number;

	i_zero(set_r);

	value = sieve_setting_get(svinst, "bounceinfo_datadir");
	if (value != NULL && *value != '\0')
		set_r->datadir = p_strdup(pool, value);

	value = sieve_setting_get(svinst, "bounceinfo_rules");
	if (value != NULL && *value != '\0') {
		set_r->extra_rules = (const char *const *)
			p_strsplit_spaces(pool, value, " ");
	}

	value = sieve_setting_get(svinst, "bounceinfo_language");
	set_r->language = p_strdup(pool, (value != NULL && *value != '\0') ?
				   value : "en");

	if (sieve_setting_get_size_value(svinst, "bounceinfo_max_scan_bytes",
					 &size))
		set_r->max_scan_bytes = size;
	if (sieve_setting_get_uint_value(svinst, "bounceinfo_max_recipients",
					 &number)) {
		if (number > UINT_MAX) {
			e_warning(svinst->event, "bounceinfo: "
				  "bounceinfo_max_recipients=%llu is too large, "
				  "using the default", number);
		} else {
			set_r->max_recipients = (unsigned int)number;
		}
	}
	return TRUE;
}
