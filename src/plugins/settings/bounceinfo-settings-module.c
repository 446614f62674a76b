/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "settings-parser.h"
#include "bounceinfo-setting-defs.h"

/* Dovecot 2.4 settings module (MODULEDIR/settings/libbounceinfo_settings.so):
   the config process loads it so that doveconf and every process know the
   bounceinfo_* settings, their types and defaults. */

extern const char *bounceinfo_settings_version;
extern const struct setting_parser_info *bounceinfo_settings_set_infos[];

const char *bounceinfo_settings_version = DOVECOT_ABI_VERSION;

const struct setting_parser_info *bounceinfo_settings_set_infos[] = {
	&bounceinfo_setting_parser_info,
	NULL
};
