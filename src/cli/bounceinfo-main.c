/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* bounceinfo: classify bounces in message files, mboxes and Maildirs and
   print a table or JSON Lines. See doc/bounceinfo.1. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "bounceinfo-json.h"
#include "bounceinfo-reader.h"
#include "bounceinfo-table.h"

#include <stdio.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <getopt.h>

/* exit codes, see doc/bounceinfo.1 */
#define EXIT_INPUT_ERROR 1
#define EXIT_USAGE 64	/* EX_USAGE */
#define EXIT_CONFIG 78	/* EX_CONFIG: rules or explanations unusable */

/* Pool of one message's result: cleared after each message. */
#define RESULT_POOL_SIZE (16 * 1024)

enum cli_option {
	OPT_JSON = 'j',
	OPT_LANG = 'l',
	OPT_DATADIR = 'd',
	OPT_RULES = 'r',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_EXPLAIN_RULE = 256,
	OPT_LIST_CLASSES,
	OPT_CHECK_RULES,
};

static const struct option cli_long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "lang", required_argument, NULL, OPT_LANG },
	{ "datadir", required_argument, NULL, OPT_DATADIR },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "explain-rule", no_argument, NULL, OPT_EXPLAIN_RULE },
	{ "list-classes", no_argument, NULL, OPT_LIST_CLASSES },
	{ "check-rules", no_argument, NULL, OPT_CHECK_RULES },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct cli_context {
	struct bounceinfo *bi;
	pool_t result_pool;
	FILE *out;
	bool json;
	bool with_rule;
	bool list_classes;
	bool check_rules;
	const char *explanations[BOUNCEINFO_CLASS_COUNT];
	/* for the recipients of a delay warning (kind delayed) */
	const char *delayed_explanations[BOUNCEINFO_CLASS_COUNT];
	/* the same as JSON strings, escaped once for the whole run */
	const char *explanations_json[BOUNCEINFO_CLASS_COUNT];
	const char *delayed_explanations_json[BOUNCEINFO_CLASS_COUNT];
	struct bounceinfo_table *table;
	string_t *line;
	unsigned int messages;
	int exit_code;
};

static void cli_usage(FILE *out)
{
	fprintf(out,
"Usage: bounceinfo [OPTION]... [FILE|DIR|-]...\n"
"Classify bounce messages (DSNs, NDRs), auto-replies and complaints.\n"
"\n"
"Each FILE is a single message or an mbox; DIR is a Maildir (cur/ and new/)\n"
"or a directory of message files; - or no argument reads standard input.\n"
"\n"
"  -j, --json            print JSON Lines, one object per message\n"
"  -l, --lang=LANG       language of the explanations (en, pl, ru, cs, de,\n"
"                        fr, es, ...; default from LC_ALL/LC_MESSAGES/LANG)\n"
"  -d, --datadir=DIR     read rules/ and explanations/ from DIR\n"
"                        (default %s; run from its build tree,\n"
"                        the source tree's data)\n"
"  -r, --rules=PATH      extra rules file or directory, taking precedence\n"
"                        over the shipped rules; may be repeated\n"
"      --explain-rule    show which rule decided each class\n"
"      --list-classes    list every class with its explanation and exit\n"
"      --check-rules     compile every rule (with --rules, --datadir) and\n"
"                        exit: 0 all compile, 78 with file:line errors\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Exit status: 0 all input read, 1 some input could not be read,\n"
"64 usage error, 78 rules or explanations could not be loaded.\n"
"See bounceinfo(1) and bounceinfo(7).\n", BOUNCEINFO_DATADIR);
}

/* The language of the explanations when --lang is not given: the
   locale's language, "pl_PL.UTF-8" -> "pl-PL". */
static const char *cli_env_language(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	const char *value, *p;

	for (unsigned int i = 0; i < N_ELEMENTS(vars); i++) {
		value = getenv(vars[i]);
		if (value == NULL || value[0] == '\0')
			continue;
		p = value + strcspn(value, ".@");
		value = t_str_replace(t_strdup_until(value, p), '_', '-');
		if (value[0] == '\0' || strcmp(value, "C") == 0 ||
		    strcmp(value, "POSIX") == 0)
			return "en";
		return value;
	}
	return "en";
}

static bool cli_language_known(struct bounceinfo *bi, const char *lang)
{
	const char *const *langs = bounceinfo_get_languages(bi);
	size_t len = strcspn(lang, "-_");

	if (langs == NULL)
		return FALSE;
	for (; *langs != NULL; langs++) {
		if (strcasecmp(*langs, lang) == 0 ||
		    (strlen(*langs) == len &&
		     strncasecmp(*langs, lang, len) == 0))
			return TRUE;
	}
	return FALSE;
}

static void
cli_message(const char *label, struct istream *input, struct cli_context *ctx)
{
	struct bounceinfo_result *result;
	const char *error;

	p_clear(ctx->result_pool);
	if (bounceinfo_parse(ctx->bi, input, ctx->result_pool,
			     &result, &error) < 0) {
		/* a stream error is reported by the reader */
		if (input->stream_errno == 0) {
			fprintf(stderr, "bounceinfo: %s: %s\n", label, error);
			ctx->exit_code = EXIT_INPUT_ERROR;
		}
		return;
	}
	ctx->messages++;
	const char *const *explanations =
		result->kind == BOUNCEINFO_KIND_DELAYED ?
		ctx->delayed_explanations : ctx->explanations;
	if (ctx->json) {
		struct bounceinfo_json_settings set = {
			.explanations = explanations,
			.explanations_json =
				result->kind == BOUNCEINFO_KIND_DELAYED ?
				ctx->delayed_explanations_json :
				ctx->explanations_json,
			.with_rule = ctx->with_rule,
		};
		str_truncate(ctx->line, 0);
		bounceinfo_json_append_message(ctx->line, label, result, &set);
		str_append_c(ctx->line, '\n');
		fwrite(str_data(ctx->line), 1, str_len(ctx->line), ctx->out);
	} else {
		bounceinfo_table_add_message(ctx->table, label, result,
					     explanations);
	}
}

static void
cli_input_error(const char *label, const char *error, struct cli_context *ctx)
{
	fprintf(stderr, "bounceinfo: %s: %s\n", label, error);
	ctx->exit_code = EXIT_INPUT_ERROR;
}

static const struct bounceinfo_reader_callbacks cli_reader_callbacks = {
	.message = (bounceinfo_reader_message_t *)cli_message,
	.error = (bounceinfo_reader_error_t *)cli_input_error,
};

/* Run from the build tree (not installed): the data is in the source
   tree, not yet in BOUNCEINFO_DATADIR. NULL when installed. */
static const char *cli_uninstalled_datadir(void)
{
	char path[PATH_MAX];
	ssize_t len;
	struct stat st;

	len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len <= 0)
		return NULL;
	path[len] = '\0';
	if (strcmp(path, BOUNCEINFO_BUILD_BINDIR "/bounceinfo") != 0 &&
	    strcmp(path, BOUNCEINFO_BUILD_BINDIR "/.libs/bounceinfo") != 0)
		return NULL;
	if (stat(BOUNCEINFO_SOURCE_DATADIR "/rules", &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return NULL;
	return BOUNCEINFO_SOURCE_DATADIR;
}

static int cli_run(int argc, char *argv[])
{
	struct bounceinfo_settings set;
	struct cli_context ctx;
	ARRAY_TYPE(const_string) extra_rules;
	const char *lang = NULL, *error;
	int c;

	i_zero(&set);
	i_zero(&ctx);
	t_array_init(&extra_rules, 4);
	while ((c = getopt_long(argc, argv, "jl:d:r:hV",
				cli_long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			ctx.json = TRUE;
			break;
		case OPT_LANG:
			lang = t_strdup(optarg);
			break;
		case OPT_DATADIR:
			set.datadir = t_strdup(optarg);
			break;
		case OPT_RULES: {
			const char *path = t_strdup(optarg);
			array_push_back(&extra_rules, &path);
			break;
		}
		case OPT_EXPLAIN_RULE:
			ctx.with_rule = TRUE;
			break;
		case OPT_LIST_CLASSES:
			ctx.list_classes = TRUE;
			break;
		case OPT_CHECK_RULES:
			ctx.check_rules = TRUE;
			break;
		case OPT_HELP:
			cli_usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("bounceinfo (dovecot-bounceinfo) %s\n",
			       BOUNCEINFO_VERSION);
			return EXIT_SUCCESS;
		default:
			cli_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (array_count(&extra_rules) > 0) {
		array_append_zero(&extra_rules);
		set.extra_rules = array_front(&extra_rules);
	}

	if (set.datadir == NULL)
		set.datadir = cli_uninstalled_datadir();
	if (bounceinfo_init(&set, &ctx.bi, &error) < 0) {
		fprintf(stderr, "bounceinfo: %s\n", error);
		if (set.datadir == NULL) {
			fprintf(stderr, "bounceinfo: the rules are looked for "
				"in %s; give their directory with "
				"--datadir=DIR (in a source tree: its top "
				"directory)\n", BOUNCEINFO_DATADIR);
		}
		return EXIT_CONFIG;
	}
	if (ctx.check_rules) {
		/* patterns are otherwise compiled when first tried, and a
		   broken one only logged then */
		int ret = bounceinfo_rules_check(ctx.bi, &error);

		if (ret < 0) {
			const char *const *line;

			for (line = t_strsplit(error, "\n"); *line != NULL;
			     line++)
				fprintf(stderr, "bounceinfo: %s\n", *line);
		}
		bounceinfo_deinit(&ctx.bi);
		return ret < 0 ? EXIT_CONFIG : EXIT_SUCCESS;
	}
	if (lang == NULL)
		lang = cli_env_language();
	else if (!cli_language_known(ctx.bi, lang)) {
		fprintf(stderr, "bounceinfo: --lang=%s: no explanations in "
			"this language, using English (have: %s)\n", lang,
			t_strarray_join(bounceinfo_get_languages(ctx.bi),
					", "));
	}
	/* the explanation of a class is the same for every message */
	for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		ctx.explanations[i] =
			t_strdup(bounceinfo_explain(ctx.bi, i, lang));
		ctx.delayed_explanations[i] = t_strdup(bounceinfo_explain_kind(
			ctx.bi, BOUNCEINFO_KIND_DELAYED, i, lang));
		string_t *str = t_str_new(256);
		bounceinfo_json_append_string(str, ctx.explanations[i]);
		ctx.explanations_json[i] = str_c(str);
		str = t_str_new(256);
		bounceinfo_json_append_string(str,
					      ctx.delayed_explanations[i]);
		ctx.delayed_explanations_json[i] = str_c(str);
	}

	ctx.out = stdout;
	if (ctx.list_classes) {
		/* "<class> TAB <explanation>": what each class means, in the
		   chosen language */
		for (unsigned int i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
			fprintf(ctx.out, "%s\t%s\n",
				bounceinfo_class_name(i),
				ctx.explanations[i]);
		}
		bounceinfo_deinit(&ctx.bi);
		return fflush(ctx.out) == 0 ? EXIT_SUCCESS : EXIT_INPUT_ERROR;
	}
	ctx.result_pool = pool_alloconly_create("bounceinfo result",
						RESULT_POOL_SIZE);
	ctx.line = str_new(default_pool, 4096);
	if (!ctx.json)
		ctx.table = bounceinfo_table_init(ctx.out, ctx.with_rule);

	if (optind >= argc)
		(void)bounceinfo_reader_read("-", &cli_reader_callbacks, &ctx);
	for (int i = optind; i < argc; i++) {
		(void)bounceinfo_reader_read(argv[i], &cli_reader_callbacks,
					     &ctx);
	}

	if (ctx.table != NULL)
		bounceinfo_table_deinit(&ctx.table);
	str_free(&ctx.line);
	pool_unref(&ctx.result_pool);
	bounceinfo_deinit(&ctx.bi);

	if (fflush(ctx.out) != 0 || ferror(ctx.out)) {
		fprintf(stderr, "bounceinfo: write(stdout) failed: %m\n");
		return EXIT_INPUT_ERROR;
	}
	return ctx.exit_code;
}

int main(int argc, char *argv[])
{
	int ret;

	lib_init();
	i_set_failure_prefix("bounceinfo: ");
	/* stdout is often a pipe into jq or a file: write in big blocks */
	setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
	T_BEGIN {
		ret = cli_run(argc, argv);
	} T_END;
	lib_deinit();
	return ret;
}
