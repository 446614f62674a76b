/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#ifndef _GNU_SOURCE
#  define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "iso8601-date.h"
#include "mail-storage.h"
#include "mail-search.h"
#include "doveadm-mail.h"
#include "doveadm-mail-iter.h"
#include "doveadm-mailbox-list-iter.h"
#include "doveadm-print.h"
#include "bounceinfo-plugin.h"
#include "bounceinfo-compat.h"

#include <dlfcn.h>

/* doveadm bounceinfo list|stats|tag [-u user|-A] [<search query>]
   doveadm bounceinfo check-rules [-u user|-A]

   The classification is the mail plugin's (its settings, rules, cache and
   spoof check), so the user's mail_plugins must contain bounceinfo. Its
   entry points are looked up at run time: doveadm loads mail plugins per
   user, after this plugin. */

const char *doveadm_bounceinfo_plugin_version = DOVECOT_ABI_VERSION;

void doveadm_bounceinfo_plugin_init(struct module *module);
void doveadm_bounceinfo_plugin_deinit(void);

typedef int bounceinfo_get_info_func_t(struct mail *,
				       const struct bounceinfo_mail_info **);
typedef int bounceinfo_set_keywords_func_t(struct mail *);
typedef int bounceinfo_check_rules_func_t(struct mail_user *,
					  const char **);

enum bounceinfo_cmd {
	BOUNCEINFO_CMD_LIST,
	BOUNCEINFO_CMD_STATS,
	BOUNCEINFO_CMD_TAG,
	BOUNCEINFO_CMD_CHECK_RULES,
};

struct bounceinfo_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	enum bounceinfo_cmd cmd;

	bounceinfo_get_info_func_t *get_info;
	bounceinfo_set_keywords_func_t *set_keywords;
	bounceinfo_check_rules_func_t *check_rules;

	/* stats of the current user */
	pool_t stats_pool;
	unsigned int total;
	unsigned int class_counts[BOUNCEINFO_CLASS_COUNT];
	unsigned int severity_counts[BOUNCEINFO_SEVERITY_COUNT];
	HASH_TABLE(char *, void *) domain_counts;
};

static const char *bounceinfo_domain(const char *address)
{
	const char *p;

	if (address == NULL || (p = strrchr(address, '@')) == NULL ||
	    p[1] == '\0')
		return "(unknown)";
	return t_str_lcase(p + 1);
}

static void
cmd_bounceinfo_list_mail(struct mail *mail,
			 const struct bounceinfo_mail_info *info)
{
	const struct bounceinfo_recipient *rcpt =
		bounceinfo_result_first_recipient(info->result);
	time_t date;
	int tz;

	if (mail_get_date(mail, &date, &tz) < 0 || date == (time_t)-1 ||
	    date == 0) {
		if (mail_get_received_date(mail, &date) < 0)
			date = 0;
	}
	doveadm_print(mailbox_get_vname(mail->box));
	doveadm_print_num(mail->uid);
	doveadm_print(date == 0 ? "" : iso8601_date_create(date));
	doveadm_print(bounceinfo_kind_name(info->result->kind));
	doveadm_print(rcpt == NULL ? "unknown" :
		      bounceinfo_class_name(rcpt->class_));
	doveadm_print(rcpt == NULL ? "none" :
		      bounceinfo_severity_name(rcpt->severity));
	doveadm_print(rcpt == NULL || rcpt->address == NULL ? "" :
		      rcpt->address);
	doveadm_print(rcpt == NULL || rcpt->status == NULL ? "" :
		      rcpt->status);
	doveadm_print(info->result->mta == NULL ? "" : info->result->mta);
	doveadm_print(bounceinfo_verify_result_name(info->verify));
	doveadm_print(rcpt == NULL || rcpt->rule_id == NULL ? "" :
		      rcpt->rule_id);
	doveadm_print(rcpt == NULL || rcpt->smtp_command == NULL ? "" :
		      rcpt->smtp_command);
}

static void
cmd_bounceinfo_stats_mail(struct bounceinfo_cmd_context *ctx,
			  const struct bounceinfo_mail_info *info)
{
	const struct bounceinfo_recipient *rcpt =
		bounceinfo_result_first_recipient(info->result);
	const char *domain;
	char *key;
	void *value;

	ctx->total++;
	ctx->class_counts[rcpt == NULL ? BOUNCEINFO_CLASS_UNKNOWN :
			  rcpt->class_]++;
	ctx->severity_counts[rcpt == NULL ? BOUNCEINFO_SEVERITY_NONE :
			     rcpt->severity]++;

	domain = bounceinfo_domain(rcpt == NULL ? NULL : rcpt->address);
	if (!hash_table_lookup_full(ctx->domain_counts, domain, &key, &value)) {
		key = p_strdup(ctx->stats_pool, domain);
		value = NULL;
	}
	hash_table_update(ctx->domain_counts, key,
			  POINTER_CAST(POINTER_CAST_TO(value, unsigned int) + 1));
}

static int
cmd_bounceinfo_box(struct bounceinfo_cmd_context *ctx,
		   const struct mailbox_info *info)
{
	struct doveadm_mail_iter *iter;
	struct mail *mail;
	const struct bounceinfo_mail_info *binfo;
	int ret = 0;

	if (doveadm_mail_iter_init(&ctx->ctx, info, ctx->ctx.search_args, 0,
				   NULL, ctx->cmd == BOUNCEINFO_CMD_TAG ? 0 :
				   DOVEADM_MAIL_ITER_FLAG_READONLY, &iter) < 0)
		return -1;

	while (doveadm_mail_iter_next(iter, &mail)) T_BEGIN {
		if (ctx->get_info(mail, &binfo) < 0) {
			/* already logged by the mail plugin */
			doveadm_mail_failed_error(&ctx->ctx, MAIL_ERROR_TEMP);
			ret = -1;
		} else if (binfo->result->kind == BOUNCEINFO_KIND_NONE) {
			/* not a bounce or report */
		} else if (ctx->cmd == BOUNCEINFO_CMD_LIST) {
			cmd_bounceinfo_list_mail(mail, binfo);
		} else if (ctx->cmd == BOUNCEINFO_CMD_STATS) {
			cmd_bounceinfo_stats_mail(ctx, binfo);
		} else if (ctx->set_keywords(mail) > 0) {
			doveadm_print(mailbox_get_vname(mail->box));
			doveadm_print_num(mail->uid);
			doveadm_print(bounceinfo_class_name(
				bounceinfo_result_first_recipient(
					binfo->result) == NULL ?
				BOUNCEINFO_CLASS_UNKNOWN :
				bounceinfo_result_first_recipient(
					binfo->result)->class_));
		}
	} T_END;

	if (ctx->cmd == BOUNCEINFO_CMD_TAG) {
		if (doveadm_mail_iter_deinit_sync(&iter) < 0)
			ret = -1;
	} else {
		if (doveadm_mail_iter_deinit(&iter) < 0)
			ret = -1;
	}
	return ret;
}

static void cmd_bounceinfo_stats_print_row(const char *type, const char *name,
					   unsigned int count)
{
	doveadm_print(type);
	doveadm_print(name);
	doveadm_print_num(count);
}

static int domain_cmp(char *const *a, char *const *b)
{
	return strcmp(*a, *b);
}

static void cmd_bounceinfo_stats_print(struct bounceinfo_cmd_context *ctx)
{
	struct hash_iterate_context *iter;
	ARRAY(char *) domains;
	char *key, *const *domainp;
	void *value;
	unsigned int i;

	cmd_bounceinfo_stats_print_row("total", "bounces", ctx->total);
	for (i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		if (ctx->class_counts[i] > 0) {
			cmd_bounceinfo_stats_print_row("class",
				bounceinfo_class_name(i), ctx->class_counts[i]);
		}
	}
	for (i = 0; i < BOUNCEINFO_SEVERITY_COUNT; i++) {
		if (ctx->severity_counts[i] > 0) {
			cmd_bounceinfo_stats_print_row("severity",
				bounceinfo_severity_name(i),
				ctx->severity_counts[i]);
		}
	}
	t_array_init(&domains, hash_table_count(ctx->domain_counts) + 1);
	iter = hash_table_iterate_init(ctx->domain_counts);
	while (hash_table_iterate(iter, ctx->domain_counts, &key, &value))
		array_push_back(&domains, &key);
	hash_table_iterate_deinit(&iter);
	array_sort(&domains, domain_cmp);
	array_foreach(&domains, domainp) {
		value = hash_table_lookup(ctx->domain_counts, *domainp);
		cmd_bounceinfo_stats_print_row("domain", *domainp,
			POINTER_CAST_TO(value, unsigned int));
	}
}

static bool cmd_bounceinfo_find_plugin(struct bounceinfo_cmd_context *ctx)
{
	if (ctx->get_info != NULL)
		return TRUE;
	/* Dovecot loads modules RTLD_GLOBAL */
	ctx->get_info = (bounceinfo_get_info_func_t *)
		dlsym(RTLD_DEFAULT, "bounceinfo_plugin_mail_get_info");
	ctx->set_keywords = (bounceinfo_set_keywords_func_t *)
		dlsym(RTLD_DEFAULT, "bounceinfo_plugin_mail_set_keywords");
	ctx->check_rules = (bounceinfo_check_rules_func_t *)
		dlsym(RTLD_DEFAULT, "bounceinfo_plugin_user_check_rules");
	return ctx->get_info != NULL && ctx->set_keywords != NULL &&
		ctx->check_rules != NULL;
}

/* The rules the mail plugin loads for the user, every pattern compiled:
   one row per pattern that does not compile (the plugin compiles them
   when first tried, and only logs a broken one then) */
static int
cmd_bounceinfo_check_rules(struct bounceinfo_cmd_context *ctx,
			   struct mail_user *user)
{
	const char *error, *const *line;

	if (ctx->check_rules(user, &error) == 0)
		return 0;
	for (line = t_strsplit(error, "\n"); *line != NULL; line++) {
		doveadm_print(user->username);
		doveadm_print(*line);
	}
	ctx->ctx.exit_code = EX_CONFIG;
	return -1;
}

static int
cmd_bounceinfo_run(struct doveadm_mail_cmd_context *_ctx,
		   struct mail_user *user)
{
	struct bounceinfo_cmd_context *ctx =
		container_of(_ctx, struct bounceinfo_cmd_context, ctx);
	const enum mailbox_list_iter_flags iter_flags =
		MAILBOX_LIST_ITER_NO_AUTO_BOXES |
		MAILBOX_LIST_ITER_RETURN_NO_FLAGS;
	struct doveadm_mailbox_list_iter *iter;
	const struct mailbox_info *info;
	int ret = 0;

	if (!cmd_bounceinfo_find_plugin(ctx)) {
		e_error(user->event, "bounceinfo: the bounceinfo mail plugin "
			"is not loaded: add bounceinfo to mail_plugins");
		_ctx->exit_code = EX_CONFIG;
		return -1;
	}
	if (ctx->cmd == BOUNCEINFO_CMD_CHECK_RULES)
		return cmd_bounceinfo_check_rules(ctx, user);

	if (ctx->cmd == BOUNCEINFO_CMD_STATS) {
		ctx->stats_pool = pool_alloconly_create("bounceinfo stats",
							1024);
		hash_table_create(&ctx->domain_counts, ctx->stats_pool, 0,
				  str_hash, strcmp);
		ctx->total = 0;
		i_zero(&ctx->class_counts);
		i_zero(&ctx->severity_counts);
	}

	iter = doveadm_mailbox_list_iter_init(_ctx, user, _ctx->search_args,
					      iter_flags);
	while ((info = doveadm_mailbox_list_iter_next(iter)) != NULL) T_BEGIN {
		if (cmd_bounceinfo_box(ctx, info) < 0)
			ret = -1;
	} T_END;
	if (doveadm_mailbox_list_iter_deinit(&iter) < 0)
		ret = -1;

	if (ctx->cmd == BOUNCEINFO_CMD_STATS) {
		cmd_bounceinfo_stats_print(ctx);
		hash_table_destroy(&ctx->domain_counts);
		pool_unref(&ctx->stats_pool);
	}
	return ret;
}

static void
cmd_bounceinfo_init_args(struct doveadm_mail_cmd_context *_ctx,
			 const char *const args[])
{
	struct bounceinfo_cmd_context *ctx =
		container_of(_ctx, struct bounceinfo_cmd_context, ctx);
	static const char *const all_args[] = { "ALL", NULL };

	_ctx->search_args = doveadm_mail_build_search_args(
		args == NULL || args[0] == NULL ? all_args : args);

	switch (ctx->cmd) {
	case BOUNCEINFO_CMD_LIST:
		doveadm_print_header_simple("mailbox");
		doveadm_print_header("uid", "uid",
				     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
		doveadm_print_header_simple("date");
		doveadm_print_header_simple("kind");
		doveadm_print_header_simple("class");
		doveadm_print_header_simple("severity");
		doveadm_print_header_simple("recipient");
		doveadm_print_header_simple("status");
		doveadm_print_header_simple("mta");
		doveadm_print_header_simple("verified");
		doveadm_print_header_simple("rule");
		doveadm_print_header_simple("smtp_command");
		break;
	case BOUNCEINFO_CMD_STATS:
		doveadm_print_header_simple("type");
		doveadm_print_header_simple("name");
		doveadm_print_header("count", "count",
				     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
				     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
		break;
	case BOUNCEINFO_CMD_TAG:
		doveadm_print_header_simple("mailbox");
		doveadm_print_header("uid", "uid",
				     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
		doveadm_print_header_simple("class");
		break;
	case BOUNCEINFO_CMD_CHECK_RULES:
		doveadm_print_header_simple("username");
		doveadm_print_header_simple("error");
		break;
	}
}

#if BOUNCEINFO_DOVECOT24
/* 2.4: the positional query comes from the command's parameters */
static void cmd_bounceinfo_init(struct doveadm_mail_cmd_context *_ctx)
{
	const char *const *args = NULL;

	(void)doveadm_cmd_param_array(_ctx->cctx, "query", &args);
	cmd_bounceinfo_init_args(_ctx, args);
}
#else
#  define cmd_bounceinfo_init cmd_bounceinfo_init_args
#endif

static struct doveadm_mail_cmd_context *
cmd_bounceinfo_alloc(enum bounceinfo_cmd cmd)
{
	struct bounceinfo_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct bounceinfo_cmd_context);
	ctx->cmd = cmd;
	ctx->ctx.v.init = cmd_bounceinfo_init;
	ctx->ctx.v.run = cmd_bounceinfo_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

static struct doveadm_mail_cmd_context *cmd_bounceinfo_list_alloc(void)
{
	return cmd_bounceinfo_alloc(BOUNCEINFO_CMD_LIST);
}

static struct doveadm_mail_cmd_context *cmd_bounceinfo_stats_alloc(void)
{
	return cmd_bounceinfo_alloc(BOUNCEINFO_CMD_STATS);
}

static struct doveadm_mail_cmd_context *cmd_bounceinfo_tag_alloc(void)
{
	return cmd_bounceinfo_alloc(BOUNCEINFO_CMD_TAG);
}

static struct doveadm_mail_cmd_context *
cmd_bounceinfo_check_rules_alloc(void)
{
	return cmd_bounceinfo_alloc(BOUNCEINFO_CMD_CHECK_RULES);
}

static struct doveadm_cmd_ver2 bounceinfo_commands[] = {
{
	.name = "bounceinfo list",
	.mail_cmd = cmd_bounceinfo_list_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[<search query>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "query", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "bounceinfo stats",
	.mail_cmd = cmd_bounceinfo_stats_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[<search query>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "query", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "bounceinfo tag",
	.mail_cmd = cmd_bounceinfo_tag_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[<search query>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "query", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "bounceinfo check-rules",
	.mail_cmd = cmd_bounceinfo_check_rules_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
},
};

void doveadm_bounceinfo_plugin_init(struct module *module ATTR_UNUSED)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(bounceinfo_commands); i++)
		doveadm_cmd_register_ver2(&bounceinfo_commands[i]);
}

void doveadm_bounceinfo_plugin_deinit(void)
{
}
