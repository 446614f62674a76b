/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "llist.h"
#include "str.h"
#include "bounceinfo.h"

struct bounceinfo_shared {
	struct bounceinfo_shared *prev, *next;
	char *key;
	struct bounceinfo *bi;
};

static struct bounceinfo_shared *bounceinfo_shared_list = NULL;

/* The same string for two settings exactly when they load the same rules
   with the same limits */
static const char *
bounceinfo_settings_key(const struct bounceinfo_settings *set)
{
	string_t *key = t_str_new(128);
	const char *const *rule;

	str_printfa(key, "%s\t%zu\t%u\t%u\t%u\t%u\t%d",
		    set->datadir == NULL ? "" : set->datadir,
		    set->max_scan_bytes, set->max_recipients,
		    set->max_mime_parts, set->pcre_match_limit,
		    set->pcre_depth_limit, set->no_prefilter ? 1 : 0);
	for (rule = set->extra_rules; rule != NULL && *rule != NULL; rule++)
		str_printfa(key, "\t%s", *rule);
	return str_c(key);
}

int bounceinfo_shared_get(const struct bounceinfo_settings *set,
			  struct bounceinfo **bi_r, bool *created_r,
			  const char **error_r)
{
	struct bounceinfo_shared *shared;
	struct bounceinfo *bi;
	const char *key = bounceinfo_settings_key(set);

	*created_r = FALSE;
	for (shared = bounceinfo_shared_list; shared != NULL;
	     shared = shared->next) {
		if (strcmp(shared->key, key) == 0) {
			*bi_r = shared->bi;
			return 0;
		}
	}
	if (bounceinfo_init(set, &bi, error_r) < 0)
		return -1;
	shared = i_new(struct bounceinfo_shared, 1);
	shared->key = i_strdup(key);
	shared->bi = bi;
	DLLIST_PREPEND(&bounceinfo_shared_list, shared);
	*bi_r = bi;
	*created_r = TRUE;
	return 0;
}

void bounceinfo_shared_free_all(void)
{
	struct bounceinfo_shared *shared;

	while ((shared = bounceinfo_shared_list) != NULL) {
		DLLIST_REMOVE(&bounceinfo_shared_list, shared);
		bounceinfo_deinit(&shared->bi);
		i_free(shared->key);
		i_free(shared);
	}
}
