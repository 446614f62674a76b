#ifndef SIEVE_BOUNCEINFO_COMPAT_H
#define SIEVE_BOUNCEINFO_COMPAT_H

/* Pigeonhole 0.5 (Dovecot 2.3) and 2.4 API differences met by the Sieve
   plugin: 2.4's registration and load callbacks return int (0 / -1) and
   give the extension through an out parameter. */

#include "bounceinfo-compat.h"

#if BOUNCEINFO_DOVECOT24
#  define SIEVE_BOUNCEINFO_PLUGIN_LOAD_RET int
#  define sieve_ext_variables_get_extension_compat(svinst, ext_r) \
	sieve_ext_variables_get_extension((svinst), (ext_r))
#else
#  define SIEVE_BOUNCEINFO_PLUGIN_LOAD_RET void
#  define sieve_ext_variables_get_extension_compat(svinst, ext_r) \
	((*(ext_r) = sieve_ext_variables_get_extension(svinst)) == NULL ? \
	 -1 : 0)
#endif

#endif
