#ifndef BOUNCEINFO_COMPAT_H
#define BOUNCEINFO_COMPAT_H

/* The few Dovecot API differences between 2.3 and 2.4 that the library,
   the CLI and the plugins meet, in one place (doc/dovecot-2.4.md). The
   version comes from Dovecot's own config.h, i.e. from the dovecot-config
   configure was given. Settings differ more: each plugin has one settings
   file per version instead of #ifdefs here. */

#if DOVECOT_VERSION_MAJOR > 2 || \
	(DOVECOT_VERSION_MAJOR == 2 && DOVECOT_VERSION_MINOR >= 4)
#  define BOUNCEINFO_DOVECOT24 1
#else
#  define BOUNCEINFO_DOVECOT24 0
#endif

#if !BOUNCEINFO_DOVECOT24
/* 2.4 renamed the two-argument str_begins() to str_begins_with() (2.4's
   str_begins() also returns the suffix). */
#  define str_begins_with(h, n) str_begins((h), (n))
/* json_append_escaped() lives in json-parser.h on 2.3 */
#  define BOUNCEINFO_JSON_HEADER "json-parser.h"
#else
#  define BOUNCEINFO_JSON_HEADER "json-generator.h"
#endif

/* A raw storage user set up like user (for a filtered copy of the mail
   being delivered); needs mail-storage-service.h and raw-storage.h. */
#if BOUNCEINFO_DOVECOT24
#  define bounceinfo_raw_storage_create(user) \
	raw_storage_create_from_set( \
		mail_storage_service_user_get_service_ctx((user)->service_user), \
		mail_storage_service_user_get_settings_instance( \
			(user)->service_user))
#else
#  define bounceinfo_raw_storage_create(user) \
	raw_storage_create_from_set((user)->set_info, (user)->unexpanded_set)
#endif

#endif
