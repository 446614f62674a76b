/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-commands.h"
#include "sieve-stringlist.h"
#include "sieve-code.h"
#include "sieve-comparators.h"
#include "sieve-match-types.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-binary.h"
#include "sieve-interpreter.h"
#include "sieve-runtime-trace.h"
#include "sieve-dump.h"
#include "sieve-match.h"

#include "ext-bounceinfo-common.h"

/*
 * Bounceinfo test
 *
 * Syntax:
 *   bounceinfo [COMPARATOR] [MATCH-TYPE] [FIELD] <key-list: string-list>
 *
 *   FIELD = ":class" / ":severity" / ":kind" / ":status" / ":code" /
 *           ":action" / ":recipient" / ":remotemta" / ":reportingmta" /
 *           ":smtpcommand" /
 *           ":diagnostic" / ":mta" / ":originalmessageid" /
 *           ":originalsubject" / ":verified"   (default ":class")
 */

static bool
tst_bounceinfo_registered(struct sieve_validator *valdtr,
			  const struct sieve_extension *ext,
			  struct sieve_command_registration *cmd_reg);
static bool
tst_bounceinfo_validate(struct sieve_validator *valdtr,
			struct sieve_command *tst);
static bool
tst_bounceinfo_generate(const struct sieve_codegen_env *cgenv,
			struct sieve_command *tst);

const struct sieve_command_def bounceinfo_test = {
	.identifier = "bounceinfo",
	.type = SCT_TEST,
	.positional_args = 1,
	.subtests = 0,
	.block_allowed = FALSE,
	.block_required = FALSE,
	.registered = tst_bounceinfo_registered,
	.validate = tst_bounceinfo_validate,
	.generate = tst_bounceinfo_generate,
};

/*
 * Field tags
 */

/* Each field tag has its own optional operand code: the code is the field
   and nothing else needs to be emitted. Compiled binaries keep these codes,
   so enum ext_bounceinfo_field is never reordered, only appended to. */
enum tst_bounceinfo_optional {
	OPT_BOUNCEINFO_FIELD = SIEVE_MATCH_OPT_LAST,
	OPT_BOUNCEINFO_FIELD_LAST =
		OPT_BOUNCEINFO_FIELD + EXT_BOUNCEINFO_FIELD_COUNT,
};

struct tst_bounceinfo_data {
	/* the field tag given, NULL for the default (:class) */
	struct sieve_ast_argument *field_arg;
	enum ext_bounceinfo_field field;
};

static bool
tst_bounceinfo_validate_field_tag(struct sieve_validator *valdtr,
				  struct sieve_ast_argument **arg,
				  struct sieve_command *tst);

#define FIELD_TAG(name) { \
	.identifier = name, \
	.validate = tst_bounceinfo_validate_field_tag, \
}

/* Indexed by enum ext_bounceinfo_field; the identifiers are the tags of
   ext_bounceinfo_fields[] (checked at registration). */
static const struct sieve_argument_def
field_tags[EXT_BOUNCEINFO_FIELD_COUNT] = {
	[EXT_BOUNCEINFO_FIELD_CLASS] = FIELD_TAG("class"),
	[EXT_BOUNCEINFO_FIELD_SEVERITY] = FIELD_TAG("severity"),
	[EXT_BOUNCEINFO_FIELD_STATUS] = FIELD_TAG("status"),
	[EXT_BOUNCEINFO_FIELD_CODE] = FIELD_TAG("code"),
	[EXT_BOUNCEINFO_FIELD_ACTION] = FIELD_TAG("action"),
	[EXT_BOUNCEINFO_FIELD_RECIPIENT] = FIELD_TAG("recipient"),
	[EXT_BOUNCEINFO_FIELD_REMOTE_MTA] = FIELD_TAG("remotemta"),
	[EXT_BOUNCEINFO_FIELD_DIAGNOSTIC] = FIELD_TAG("diagnostic"),
	[EXT_BOUNCEINFO_FIELD_KIND] = FIELD_TAG("kind"),
	[EXT_BOUNCEINFO_FIELD_REPORTING_MTA] = FIELD_TAG("reportingmta"),
	[EXT_BOUNCEINFO_FIELD_MTA] = FIELD_TAG("mta"),
	[EXT_BOUNCEINFO_FIELD_ORIGINAL_MESSAGE_ID] =
		FIELD_TAG("originalmessageid"),
	[EXT_BOUNCEINFO_FIELD_ORIGINAL_SUBJECT] = FIELD_TAG("originalsubject"),
	[EXT_BOUNCEINFO_FIELD_VERIFIED] = FIELD_TAG("verified"),
	[EXT_BOUNCEINFO_FIELD_SMTP_COMMAND] = FIELD_TAG("smtpcommand"),
};

static enum ext_bounceinfo_field
tst_bounceinfo_tag_field(const struct sieve_ast_argument *arg)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(field_tags); i++) {
		if (arg->argument->def == &field_tags[i])
			return (enum ext_bounceinfo_field)i;
	}
	i_unreached();
}

/*
 * Operation
 */

static bool
tst_bounceinfo_operation_dump(const struct sieve_dumptime_env *denv,
			      sieve_size_t *address);
static int
tst_bounceinfo_operation_execute(const struct sieve_runtime_env *renv,
				 sieve_size_t *address);

const struct sieve_operation_def bounceinfo_operation = {
	.mnemonic = "BOUNCEINFO",
	.ext_def = &bounceinfo_extension,
	.code = 0,
	.dump = tst_bounceinfo_operation_dump,
	.execute = tst_bounceinfo_operation_execute,
};

/*
 * Registration
 */

static bool
tst_bounceinfo_registered(struct sieve_validator *valdtr,
			  const struct sieve_extension *ext,
			  struct sieve_command_registration *cmd_reg)
{
	unsigned int i;

	sieve_comparators_link_tag(valdtr, cmd_reg, SIEVE_MATCH_OPT_COMPARATOR);
	sieve_match_types_link_tags(valdtr, cmd_reg, SIEVE_MATCH_OPT_MATCH_TYPE);

	for (i = 0; i < N_ELEMENTS(field_tags); i++) {
		i_assert(strcmp(field_tags[i].identifier,
				ext_bounceinfo_fields[i].tag) == 0);
		sieve_validator_register_tag(valdtr, cmd_reg, ext,
					     &field_tags[i],
					     OPT_BOUNCEINFO_FIELD + i);
	}
	return TRUE;
}

/*
 * Validation
 */

static struct tst_bounceinfo_data *
tst_bounceinfo_get_data(struct sieve_command *tst)
{
	struct tst_bounceinfo_data *data = tst->data;

	if (data == NULL) {
		data = p_new(sieve_command_pool(tst),
			     struct tst_bounceinfo_data, 1);
		data->field = EXT_BOUNCEINFO_FIELD_CLASS;
		tst->data = data;
	}
	return data;
}

static bool
tst_bounceinfo_validate_field_tag(struct sieve_validator *valdtr,
				  struct sieve_ast_argument **arg,
				  struct sieve_command *tst)
{
	struct tst_bounceinfo_data *data = tst_bounceinfo_get_data(tst);

	if (data->field_arg != NULL) {
		sieve_argument_validate_error(valdtr, *arg,
			"the bounceinfo test takes one field tag, "
			"but both :%s and :%s were given",
			sieve_ast_argument_tag(data->field_arg),
			sieve_ast_argument_tag(*arg));
		return FALSE;
	}
	data->field_arg = *arg;
	data->field = tst_bounceinfo_tag_field(*arg);

	/* Skip tag */
	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

/* Find the match type and comparator given to the test. */
static void
tst_bounceinfo_get_match(struct sieve_command *tst,
			 const struct sieve_match_type_def **mcht_r,
			 const struct sieve_comparator_def **cmp_r)
{
	struct sieve_ast_argument *arg;

	*mcht_r = &is_match_type;
	*cmp_r = &i_ascii_casemap_comparator;

	arg = sieve_ast_argument_first(tst->ast_node);
	for (; arg != NULL && arg != tst->first_positional;
	     arg = sieve_ast_argument_next(arg)) {
		if (sieve_argument_is_comparator(arg)) {
			const struct sieve_comparator *cmp =
				sieve_comparator_tag_get(arg);

			if (cmp != NULL)
				*cmp_r = cmp->def;
		} else if (sieve_argument_is_match_type(arg) &&
			   arg->argument->data != NULL) {
			const struct sieve_match_type_context *mtctx =
				arg->argument->data;

			*mcht_r = mtctx->match_type->def;
		}
	}
}

static bool
tst_bounceinfo_validate_key(struct sieve_validator *valdtr,
			    enum ext_bounceinfo_field field, bool octet,
			    struct sieve_ast_argument *key)
{
	const struct ext_bounceinfo_field_def *fdef =
		&ext_bounceinfo_fields[field];
	const char *value;

	/* Only literal strings are known at compile time; "${...}" is a
	   catenated string by now. */
	if (!sieve_argument_is_string_literal(key))
		return TRUE;

	value = sieve_ast_argument_strc(key);
	if (field == EXT_BOUNCEINFO_FIELD_KIND &&
	    strcasecmp(value, "none") == 0) {
		/* a valid kind name, but such a message has no values */
		sieve_argument_validate_error(valdtr, key,
			"bounceinfo test: :kind \"none\" never matches: a "
			"message that is not a bounce has no values "
			"(test it with: not bounceinfo :matches :kind \"*\")");
		return FALSE;
	}
	if (fdef->value_is_valid(value) &&
	    (!octet || strcmp(value, fdef->upper_case ? t_str_ucase(value) :
			      t_str_lcase(value)) == 0))
		return TRUE;

	sieve_argument_validate_error(valdtr, key,
		"bounceinfo test: \"%s\" is not a valid %s%s "
		"(it would never match); valid values are: %s",
		str_sanitize(value, 64), fdef->what,
		octet ? " (i;octet compares case-sensitively)" : "",
		fdef->valid_values());
	return FALSE;
}

/* A literal key that names no class (severity, kind, verdict) under :is can
   never match: say so at upload time rather than let the rule silently
   never fire. */
static bool
tst_bounceinfo_validate_keys(struct sieve_validator *valdtr,
			     struct sieve_command *tst,
			     enum ext_bounceinfo_field field,
			     struct sieve_ast_argument *keys)
{
	const struct sieve_match_type_def *mcht;
	const struct sieve_comparator_def *cmp;
	struct sieve_ast_argument *key;
	bool result = TRUE;

	if (ext_bounceinfo_fields[field].value_is_valid == NULL)
		return TRUE;

	tst_bounceinfo_get_match(tst, &mcht, &cmp);
	if (mcht != &is_match_type)
		return TRUE;
	if (cmp != &i_ascii_casemap_comparator && cmp != &i_octet_comparator)
		return TRUE;

	switch (sieve_ast_argument_type(keys)) {
	case SAAT_STRING:
		return tst_bounceinfo_validate_key(valdtr, field,
						   cmp == &i_octet_comparator,
						   keys);
	case SAAT_STRING_LIST:
		key = sieve_ast_strlist_first(keys);
		for (; key != NULL; key = sieve_ast_strlist_next(key)) {
			if (!tst_bounceinfo_validate_key(
				valdtr, field, cmp == &i_octet_comparator, key))
				result = FALSE;
		}
		return result;
	default:
		return TRUE;
	}
}

static bool
tst_bounceinfo_validate(struct sieve_validator *valdtr,
			struct sieve_command *tst)
{
	struct tst_bounceinfo_data *data = tst_bounceinfo_get_data(tst);
	struct sieve_ast_argument *arg = tst->first_positional;
	const struct sieve_match_type mcht_default =
		SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	const struct sieve_comparator cmp_default =
		SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);

	if (!sieve_validate_positional_argument(valdtr, tst, arg, "key list",
						1, SAAT_STRING_LIST))
		return FALSE;
	if (!sieve_validator_argument_activate(valdtr, tst, arg, FALSE))
		return FALSE;

	if (!sieve_match_type_validate(valdtr, tst, arg,
				       &mcht_default, &cmp_default))
		return FALSE;

	/* The key may have been replaced during activation. */
	return tst_bounceinfo_validate_keys(valdtr, tst, data->field,
					    tst->first_positional);
}

/*
 * Code generation
 */

static bool
tst_bounceinfo_generate(const struct sieve_codegen_env *cgenv,
			struct sieve_command *tst)
{
	sieve_operation_emit(cgenv->sblock, tst->ext, &bounceinfo_operation);
	return sieve_generate_arguments(cgenv, tst, NULL);
}

/*
 * Code dump
 */

static bool
tst_bounceinfo_operation_dump(const struct sieve_dumptime_env *denv,
			      sieve_size_t *address)
{
	int opt_code = 0;
	unsigned int field = EXT_BOUNCEINFO_FIELD_CLASS;

	sieve_code_dumpf(denv, "BOUNCEINFO");
	sieve_code_descend(denv);

	for (;;) {
		int opt;

		opt = sieve_match_opr_optional_dump(denv, address, &opt_code);
		if (opt < 0)
			return FALSE;
		if (opt == 0)
			break;

		if (opt_code < OPT_BOUNCEINFO_FIELD ||
		    opt_code >= OPT_BOUNCEINFO_FIELD_LAST)
			return FALSE;
		field = opt_code - OPT_BOUNCEINFO_FIELD;
	}
	sieve_code_dumpf(denv, "field: %s", ext_bounceinfo_fields[field].tag);

	return sieve_opr_stringlist_dump(denv, address, "key list");
}

/*
 * Value list: the values of one field, like the values of a header that
 * occurs once per reported recipient.
 */

struct tst_bounceinfo_stringlist {
	struct sieve_stringlist strlist;

	const char *const *values;
	unsigned int count, index;
};

static int
tst_bounceinfo_stringlist_next_item(struct sieve_stringlist *_strlist,
				    string_t **str_r)
{
	struct tst_bounceinfo_stringlist *strlist =
		container_of(_strlist, struct tst_bounceinfo_stringlist,
			     strlist);
	const char *value;

	if (strlist->index >= strlist->count) {
		*str_r = NULL;
		return 0;
	}
	value = strlist->values[strlist->index++];
	*str_r = t_str_new_const(value, strlen(value));
	return 1;
}

static void
tst_bounceinfo_stringlist_reset(struct sieve_stringlist *_strlist)
{
	struct tst_bounceinfo_stringlist *strlist =
		container_of(_strlist, struct tst_bounceinfo_stringlist,
			     strlist);

	strlist->index = 0;
}

static int
tst_bounceinfo_stringlist_get_length(struct sieve_stringlist *_strlist)
{
	struct tst_bounceinfo_stringlist *strlist =
		container_of(_strlist, struct tst_bounceinfo_stringlist,
			     strlist);

	return (int)strlist->count;
}

static struct sieve_stringlist *
tst_bounceinfo_stringlist_create(const struct sieve_runtime_env *renv,
				 const ARRAY_TYPE(const_string) *values)
{
	struct tst_bounceinfo_stringlist *strlist;

	strlist = t_new(struct tst_bounceinfo_stringlist, 1);
	strlist->strlist.runenv = renv;
	strlist->strlist.exec_status = SIEVE_EXEC_OK;
	strlist->strlist.next_item = tst_bounceinfo_stringlist_next_item;
	strlist->strlist.reset = tst_bounceinfo_stringlist_reset;
	strlist->strlist.get_length = tst_bounceinfo_stringlist_get_length;
	strlist->values = array_get(values, &strlist->count);
	return &strlist->strlist;
}

/*
 * Code execution
 */

static int
tst_bounceinfo_operation_execute(const struct sieve_runtime_env *renv,
				 sieve_size_t *address)
{
	const struct sieve_extension *this_ext = renv->oprtn->ext;
	struct sieve_match_type mcht = SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	struct sieve_comparator cmp =
		SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);
	enum ext_bounceinfo_field field = EXT_BOUNCEINFO_FIELD_CLASS;
	const struct ext_bounceinfo_message *msg;
	struct sieve_stringlist *value_list, *key_list;
	ARRAY_TYPE(const_string) values;
	int opt_code = 0, match, ret;

	/* Optional operands */
	for (;;) {
		int opt;

		opt = sieve_match_opr_optional_read(renv, address, &opt_code,
						    &ret, &cmp, &mcht);
		if (opt < 0)
			return ret;
		if (opt == 0)
			break;

		if (opt_code < OPT_BOUNCEINFO_FIELD ||
		    opt_code >= OPT_BOUNCEINFO_FIELD_LAST) {
			sieve_runtime_trace_error(
				renv, "unknown optional operand");
			return SIEVE_EXEC_BIN_CORRUPT;
		}
		field = (enum ext_bounceinfo_field)
			(opt_code - OPT_BOUNCEINFO_FIELD);
	}

	/* Key list */
	ret = sieve_opr_stringlist_read(renv, address, "key list", &key_list);
	if (ret <= 0)
		return ret;

	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "bounceinfo test");
	sieve_runtime_trace_descend(renv);
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "field: %s",
			    ext_bounceinfo_fields[field].tag);

	/* Fail open: whatever goes wrong, the message just has no values. */
	msg = ext_bounceinfo_get_message(renv, this_ext);
	t_array_init(&values, 8);
	ext_bounceinfo_get_values(msg, field, &values);
	if (array_count(&values) == 0) {
		sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS,
				    "no values (%s)",
				    ext_bounceinfo_message_has_values(msg) ?
				    "field not present" : "not a bounce");
	}
	value_list = tst_bounceinfo_stringlist_create(renv, &values);

	match = sieve_match(renv, &mcht, &cmp, value_list, key_list, &ret);
	if (match < 0)
		return ret;

	sieve_interpreter_set_test_result(renv->interp, match > 0);
	return SIEVE_EXEC_OK;
}
