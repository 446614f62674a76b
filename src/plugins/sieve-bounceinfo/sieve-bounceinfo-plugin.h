#ifndef SIEVE_BOUNCEINFO_PLUGIN_H
#define SIEVE_BOUNCEINFO_PLUGIN_H

/* Pigeonhole plugin interface (sieve_plugins = sieve_bounceinfo) */

#include "sieve-bounceinfo-compat.h"

extern const char *sieve_bounceinfo_plugin_version;

SIEVE_BOUNCEINFO_PLUGIN_LOAD_RET
sieve_bounceinfo_plugin_load(struct sieve_instance *svinst, void **context);
void sieve_bounceinfo_plugin_unload(struct sieve_instance *svinst,
				    void *context);

/* Module interface */
void sieve_bounceinfo_plugin_init(void);
void sieve_bounceinfo_plugin_deinit(void);

#endif
