/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include <ctype.h>
#include "settings-parser.h"
#include "bounceinfo.h"
#include "bounceinfo-setting-defs.h"

/* Values are checked by doveconf when it reads the configuration and again
   when a process gets them, so a mistake is reported at once, naming the
   setting (doveconf itself rejects a bad bool, size or number). */

static bool bounceinfo_settings_check(void *_set, pool_t pool,
				      const char **error_r);

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type("bounceinfo_"#name, name, \
				     struct bounceinfo_dovecot_settings)

static const struct setting_define bounceinfo_setting_defines[] = {
	DEF(BOOL, keywords),
	DEF(BOOL, verify),
	DEF(BOOL, headers),
	DEF(STR_NOVARS, language),
	DEF(STR_NOVARS, datadir),
	DEF(BOOLLIST, rules),
	DEF(SIZE, max_scan_bytes),
	DEF(UINT, max_recipients),

	SETTING_DEFINE_LIST_END
};

static const struct bounceinfo_dovecot_settings bounceinfo_default_settings = {
	.keywords = FALSE,
	.verify = FALSE,
	.headers = FALSE,
	.language = "en",
	.datadir = BOUNCEINFO_DATADIR,
	.rules = ARRAY_INIT,
	.max_scan_bytes = BOUNCEINFO_DEFAULT_MAX_SCAN_BYTES,
	.max_recipients = BOUNCEINFO_DEFAULT_MAX_RECIPIENTS,
};

const struct setting_parser_info bounceinfo_setting_parser_info = {
	.name = "bounceinfo",

	.defines = bounceinfo_setting_defines,
	.defaults = &bounceinfo_default_settings,

	.struct_size = sizeof(struct bounceinfo_dovecot_settings),
	.pool_offset1 = 1 + offsetof(struct bounceinfo_dovecot_settings, pool),

	.check_func = bounceinfo_settings_check,
};

static bool bounceinfo_settings_check(void *_set, pool_t pool ATTR_UNUSED,
				      const char **error_r)
{
	struct bounceinfo_dovecot_settings *set = _set;
	const char *p;

	/* the explanations file name is derived from the language tag */
	for (p = set->language; *p != '\0'; p++) {
		if (!i_isalpha(*p) &&
		    !((*p == '-' || *p == '_') && p != set->language))
			break;
	}
	if (*p != '\0' || *set->language == '\0') {
		*error_r = t_strdup_printf(
			"bounceinfo_language: invalid value '%s' "
			"(expected a language tag such as en, pl, pt-BR)",
			set->language);
		return FALSE;
	}
	if (*set->datadir != '/') {
		*error_r = t_strdup_printf(
			"bounceinfo_datadir: invalid value '%s' "
			"(expected an absolute path)", set->datadir);
		return FALSE;
	}
	if (array_is_created(&set->rules)) {
		const char *path;

		array_foreach_elem(&set->rules, path) {
			if (path != NULL && *path != '/') {
				*error_r = t_strdup_printf(
					"bounceinfo_rules: invalid value '%s' "
					"(expected absolute paths)", path);
				return FALSE;
			}
		}
	}
	if (set->max_scan_bytes == 0 || set->max_scan_bytes > SSIZE_T_MAX) {
		*error_r = t_strdup_printf(
			"bounceinfo_max_scan_bytes: invalid value %"PRIuUOFF_T
			" (must be larger than 0)", set->max_scan_bytes);
		return FALSE;
	}
	if (set->max_recipients == 0) {
		*error_r = "bounceinfo_max_recipients: invalid value 0 "
			"(expected a positive number)";
		return FALSE;
	}
	return TRUE;
}
