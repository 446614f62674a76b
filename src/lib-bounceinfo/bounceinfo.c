/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "bounceinfo-private.h"
#include "bounceinfo-decode.h"

#include <sys/stat.h>

static struct event_category event_category_bounceinfo = {
	.name = "bounceinfo",
};

/* The library's own log event under parent (NULL: a root event) */
static struct event *bounceinfo_event_create(struct event *parent)
{
	struct event *event = event_create(parent);

	event_add_category(event, &event_category_bounceinfo);
	event_set_append_log_prefix(event, "bounceinfo: ");
	return event;
}

static int
bounceinfo_load_extra(struct bounceinfo *bi, const char *path,
		      const char **error_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*error_r = t_strdup_printf("stat(%s) failed: %m", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return bounceinfo_rules_load_dir(bi, path, TRUE, error_r);
	return bounceinfo_rules_load(bi, path, TRUE, error_r);
}

static int
bounceinfo_load(struct bounceinfo *bi, const struct bounceinfo_settings *set,
		const char **error_r)
{
	const char *rulesdir = t_strconcat(bi->datadir, "/rules", NULL);

	if (set->extra_rules != NULL) {
		for (unsigned int i = 0; set->extra_rules[i] != NULL; i++) {
			if (bounceinfo_load_extra(bi, set->extra_rules[i],
						  error_r) < 0)
				return -1;
		}
	}
	if (bounceinfo_rules_load_dir(bi, rulesdir, FALSE, error_r) < 0)
		return -1;
	/* provider tables (optional): rules in @provider blocks */
	const char *providersdir = t_strconcat(rulesdir, "/providers", NULL);
	struct stat st;
	if (stat(providersdir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    bounceinfo_rules_load_dir(bi, providersdir, FALSE, error_r) < 0)
		return -1;
	bounceinfo_rules_sort(bi);
	if (bounceinfo_status_map_load(bi, t_strconcat(rulesdir,
				"/status.map", NULL), error_r) < 0)
		return -1;
	if (bounceinfo_mta_load(bi, t_strconcat(rulesdir, "/mta.map", NULL),
				error_r) < 0)
		return -1;
	if (bounceinfo_vocab_load(bi, t_strconcat(rulesdir, "/ndr-layout.map",
						   NULL), error_r) < 0 ||
	    bounceinfo_original_init(bi, error_r) < 0 ||
	    bounceinfo_ndr_init(bi, error_r) < 0)
		return -1;
	if (bounceinfo_explanations_load_dir(bi, t_strconcat(bi->datadir,
				"/explanations", NULL), error_r) < 0)
		return -1;
	if (bounceinfo_detect_load_dir(bi, t_strconcat(bi->datadir,
				"/rules/signs", NULL), error_r) < 0)
		return -1;
	bounceinfo_prefilter_build(bi);
	return 0;
}

int bounceinfo_init(const struct bounceinfo_settings *set,
		    struct bounceinfo **bi_r, const char **error_r)
{
	struct bounceinfo *bi;
	pool_t pool;
	int ret;

	pool = pool_alloconly_create("bounceinfo", 16384);
	bi = p_new(pool, struct bounceinfo, 1);
	bi->pool = pool;
	bi->event = bounceinfo_event_create(set->event_parent);
	bi->event_parent = set->event_parent;
	bi->datadir = p_strdup(pool, set->datadir != NULL ?
			       set->datadir : BOUNCEINFO_DATADIR);
	bi->max_scan_bytes = set->max_scan_bytes != 0 ? set->max_scan_bytes :
		BOUNCEINFO_DEFAULT_MAX_SCAN_BYTES;
	bi->max_recipients = set->max_recipients != 0 ? set->max_recipients :
		BOUNCEINFO_DEFAULT_MAX_RECIPIENTS;
	bi->max_mime_parts = set->max_mime_parts != 0 ? set->max_mime_parts :
		BOUNCEINFO_DEFAULT_MAX_MIME_PARTS;

	bi->match_ctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(bi->match_ctx, set->pcre_match_limit != 0 ?
			      set->pcre_match_limit :
			      BOUNCEINFO_DEFAULT_PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(bi->match_ctx, set->pcre_depth_limit != 0 ?
			      set->pcre_depth_limit :
			      BOUNCEINFO_DEFAULT_PCRE_DEPTH_LIMIT);
	/* bounded JIT stack: deep recursion fails the match, no crash */
	bi->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (bi->jit_stack != NULL)
		pcre2_jit_stack_assign(bi->match_ctx, NULL, bi->jit_stack);
	bi->match_data = pcre2_match_data_create(16, NULL);

	bi->no_prefilter = set->no_prefilter;
	p_array_init(&bi->admin_rules, pool, 16);
	p_array_init(&bi->provider_rules, pool, 64);
	p_array_init(&bi->providers, pool, 16);
	hash_table_create(&bi->admin_ids, default_pool, 16, str_hash, strcmp);
	hash_table_create(&bi->shipped_ids, default_pool, 512, str_hash, strcmp);
	p_array_init(&bi->rules, pool, 256);
	p_array_init(&bi->rules_tier2, pool, 256);
	p_array_init(&bi->status_map, pool, 128);
	p_array_init(&bi->mta_sigs, pool, 64);
	p_array_init(&bi->vocab, pool, 64);
	p_array_init(&bi->langs, pool, 8);
	p_array_init(&bi->lang_names, pool, 8);
	p_array_init(&bi->langs_warned, pool, 4);

	bounceinfo_detect_init(bi);
	bounceinfo_classify_init(bi);
	T_BEGIN {
		ret = bounceinfo_load(bi, set, error_r);
		if (ret < 0)
			*error_r = p_strdup(pool, *error_r);
	} T_END;
	if (ret < 0) {
		const char *error = t_strdup(*error_r);
		bounceinfo_deinit(&bi);
		*error_r = error;
		return -1;
	}
	*bi_r = bi;
	return 0;
}

void bounceinfo_deinit(struct bounceinfo **_bi)
{
	struct bounceinfo *bi = *_bi;

	if (bi == NULL)
		return;
	*_bi = NULL;
	bounceinfo_rules_free(bi);
	bounceinfo_ndr_deinit(bi);
	bounceinfo_original_deinit(bi);
	bounceinfo_detect_deinit(bi);
	bounceinfo_classify_deinit(bi);
	bounceinfo_mta_free(bi);
	if (bi->parse_buf != NULL)
		buffer_free(&bi->parse_buf);
	if (bi->parse_buf_rest != NULL)
		buffer_free(&bi->parse_buf_rest);
	if (bi->decoder != NULL)
		bounceinfo_decoder_deinit(&bi->decoder);
	if (bi->parse_strs != NULL)
		bounceinfo_parse_strs_free(&bi->parse_strs);
	if (array_is_created(&bi->header_lines))
		array_free(&bi->header_lines);
	if (hash_table_is_created(bi->status_index))
		hash_table_destroy(&bi->status_index);
	pcre2_match_data_free(bi->match_data);
	if (bi->jit_stack != NULL)
		pcre2_jit_stack_free(bi->jit_stack);
	pcre2_match_context_free(bi->match_ctx);
	event_unref(&bi->event);
	pool_unref(&bi->pool);
}

void bounceinfo_set_event_parent(struct bounceinfo *bi, struct event *parent)
{
	struct event *event;

	/* the same caller again: its child is already there (called for
	   every mail classified) */
	if (parent == bi->event_parent)
		return;
	event = bounceinfo_event_create(parent);
	event_unref(&bi->event);
	bi->event = event;
	bi->event_parent = parent;
}
