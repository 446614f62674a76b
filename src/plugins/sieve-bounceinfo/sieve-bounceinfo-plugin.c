/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"

#include "pigeonhole-config.h"
#include "pigeonhole-version.h"

#include "ext-bounceinfo-common.h"
#include "sieve-bounceinfo-plugin.h"

/* Checked by Pigeonhole's plugin loader: refuses a plugin built against
   another Pigeonhole ABI. */
const char *sieve_bounceinfo_plugin_version = PIGEONHOLE_ABI_VERSION;

SIEVE_BOUNCEINFO_PLUGIN_LOAD_RET
sieve_bounceinfo_plugin_load(struct sieve_instance *svinst, void **context)
{
	const struct sieve_extension *ext;

	/* Enabled as soon as the plugin is loaded (like a core extension):
	   loading the plugin is the administrator's opt-in. An explicit
	   sieve_extensions list without "bounceinfo" still disables it. */
#if BOUNCEINFO_DOVECOT24
	if (sieve_extension_register(svinst, &bounceinfo_extension, TRUE,
				     &ext) < 0)
		return -1;
#else
	ext = sieve_extension_register(svinst, &bounceinfo_extension, TRUE);
#endif
	e_debug(svinst->event, "Sieve bounceinfo plugin for %s version %s loaded",
		PIGEONHOLE_NAME, PIGEONHOLE_VERSION_FULL);
	*context = (void *)ext;
#if BOUNCEINFO_DOVECOT24
	return 0;
#endif
}

void sieve_bounceinfo_plugin_unload(struct sieve_instance *svinst ATTR_UNUSED,
				    void *context)
{
	const struct sieve_extension *ext = context;

	sieve_extension_unregister(ext);
}

void sieve_bounceinfo_plugin_init(void)
{
	/* Nothing: everything is per Sieve instance (plugin_load), but
	   the compiled rules, kept per process and freed at exit
	   (ext-bounceinfo-classifier.c). */
}

void sieve_bounceinfo_plugin_deinit(void)
{
}
