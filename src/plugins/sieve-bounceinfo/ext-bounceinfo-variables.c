/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* The bounceinfo. variables namespace (RFC 5229, section 3):

     ${bounceinfo.<field>}            the field of the first failed recipient
                                      (or of the message, for kind, mta, ...)
     ${bounceinfo.count}              number of reported recipients
     ${bounceinfo.explanation}        plain-words explanation of the class in
                                      the bounceinfo_language setting
     ${bounceinfo.explanation.<lang>} the same in language <lang> ("pl",
                                      "pt_BR" = pt-BR), falling back to English

   Values are read-only and safe for headers, notifications and mailbox
   names (see ext_bounceinfo_sanitize()). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"

#include "sieve-common.h"
#include "sieve-ast.h"
#include "sieve-binary.h"
#include "sieve-code.h"
#include "sieve-commands.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-runtime-trace.h"
#include "sieve-dump.h"

#include "sieve-ext-variables.h"

#include "ext-bounceinfo-common.h"

#define VARIABLE_COUNT "count"
#define VARIABLE_EXPLANATION "explanation"

static bool
vnspc_bounceinfo_validate(struct sieve_validator *valdtr,
			  const struct sieve_variables_namespace *nspc,
			  struct sieve_ast_argument *arg,
			  struct sieve_command *cmd,
			  ARRAY_TYPE(sieve_variable_name) *var_name,
			  void **var_data, bool assignment);
static bool
vnspc_bounceinfo_generate(const struct sieve_codegen_env *cgenv,
			  const struct sieve_variables_namespace *nspc,
			  struct sieve_ast_argument *arg,
			  struct sieve_command *cmd, void *var_data);
static bool
vnspc_bounceinfo_dump_variable(const struct sieve_dumptime_env *denv,
			       const struct sieve_variables_namespace *nspc,
			       const struct sieve_operand *oprnd,
			       sieve_size_t *address);
static int
vnspc_bounceinfo_read_variable(const struct sieve_runtime_env *renv,
			       const struct sieve_variables_namespace *nspc,
			       const struct sieve_operand *oprnd,
			       sieve_size_t *address, string_t **str_r);

static const struct sieve_variables_namespace_def bounceinfo_namespace = {
	SIEVE_OBJECT("bounceinfo", &bounceinfo_namespace_operand, 0),
	.validate = vnspc_bounceinfo_validate,
	.generate = vnspc_bounceinfo_generate,
	.dump_variable = vnspc_bounceinfo_dump_variable,
	.read_variable = vnspc_bounceinfo_read_variable,
};

/*
 * Names
 */

static bool ext_bounceinfo_variable_field(const char *name,
					  enum ext_bounceinfo_field *field_r)
{
	unsigned int i;

	for (i = 0; i < EXT_BOUNCEINFO_FIELD_COUNT; i++) {
		if (strcasecmp(ext_bounceinfo_fields[i].variable, name) == 0) {
			*field_r = (enum ext_bounceinfo_field)i;
			return TRUE;
		}
	}
	return FALSE;
}

static const char *ext_bounceinfo_variable_names(void)
{
	string_t *str = t_str_new(256);
	unsigned int i;

	for (i = 0; i < EXT_BOUNCEINFO_FIELD_COUNT; i++) {
		str_append(str, ext_bounceinfo_fields[i].variable);
		str_append(str, ", ");
	}
	str_append(str, VARIABLE_COUNT", "VARIABLE_EXPLANATION", "
		   VARIABLE_EXPLANATION".<language>");
	return str_c(str);
}

/*
 * Validation
 */

static bool
vnspc_bounceinfo_validate(struct sieve_validator *valdtr,
			  const struct sieve_variables_namespace *nspc,
			  struct sieve_ast_argument *arg,
			  struct sieve_command *cmd ATTR_UNUSED,
			  ARRAY_TYPE(sieve_variable_name) *var_name,
			  void **var_data, bool assignment)
{
	const struct sieve_variable_name *elements;
	enum ext_bounceinfo_field field;
	unsigned int i, count;
	const char *name, *full_name;
	string_t *str;

	elements = array_get(var_name, &count);
	i_assert(count > 0);

	str = t_str_new(64);
	for (i = 1; i < count; i++) {
		if (elements[i].num_variable >= 0) {
			sieve_argument_validate_error(valdtr, arg,
				"bounceinfo: invalid variable name "
				"`bounceinfo.%d': numeric names are not "
				"allowed in the bounceinfo namespace",
				elements[i].num_variable);
			return FALSE;
		}
		if (i > 1)
			str_append_c(str, '.');
		str_append_str(str, elements[i].identifier);
	}
	full_name = t_str_lcase(str_c(str));

	if (assignment) {
		sieve_argument_validate_error(valdtr, arg,
			"bounceinfo: cannot assign to `bounceinfo.%s': "
			"the bounceinfo namespace is read-only "
			"(choose the explanation language with "
			"${bounceinfo.explanation.<language>})", full_name);
		return FALSE;
	}

	if (count == 2) {
		name = str_c(elements[1].identifier);
		if (strcasecmp(name, VARIABLE_COUNT) == 0 ||
		    strcasecmp(name, VARIABLE_EXPLANATION) == 0 ||
		    ext_bounceinfo_variable_field(name, &field)) {
			*var_data = p_strdup(sieve_ast_pool(arg->ast),
					     full_name);
			return TRUE;
		}
	} else if (count == 3 &&
		   strcasecmp(str_c(elements[1].identifier),
			      VARIABLE_EXPLANATION) == 0) {
		*var_data = p_strdup(sieve_ast_pool(arg->ast), full_name);
		return TRUE;
	}

	sieve_argument_validate_error(valdtr, arg,
		"bounceinfo: unknown variable `bounceinfo.%s'; "
		"valid names are: %s",
		str_sanitize(full_name, 64), ext_bounceinfo_variable_names());
	/* Pigeonhole reports a failed substitution inside a string but still
	   compiles the script (dropping the reference). Mark the script so
	   that code generation refuses it: sievec and ManageSieve PUTSCRIPT
	   then reject it like any other error. */
	ext_bounceinfo_ast_mark_invalid(arg->ast, SIEVE_OBJECT_EXTENSION(nspc));
	return FALSE;
}

/*
 * Code generation and dump
 */

static bool
vnspc_bounceinfo_generate(const struct sieve_codegen_env *cgenv,
			  const struct sieve_variables_namespace *nspc,
			  struct sieve_ast_argument *arg ATTR_UNUSED,
			  struct sieve_command *cmd ATTR_UNUSED, void *var_data)
{
	const struct sieve_extension *this_ext = SIEVE_OBJECT_EXTENSION(nspc);
	const struct ext_bounceinfo_context *ectx;

	if (this_ext == NULL)
		return FALSE;
	ectx = this_ext->context;

	sieve_variables_opr_namespace_variable_emit(
		cgenv->sblock, ectx->var_ext, this_ext, &bounceinfo_namespace);
	(void)sieve_binary_emit_cstring(cgenv->sblock,
					(const char *)var_data);
	return TRUE;
}

static bool
vnspc_bounceinfo_dump_variable(const struct sieve_dumptime_env *denv,
			       const struct sieve_variables_namespace *nspc ATTR_UNUSED,
			       const struct sieve_operand *oprnd,
			       sieve_size_t *address)
{
	string_t *name;

	if (!sieve_binary_read_string(denv->sblock, address, &name))
		return FALSE;

	if (oprnd->field_name != NULL) {
		sieve_code_dumpf(denv, "%s: VAR ${bounceinfo.%s}",
				 oprnd->field_name, str_c(name));
	} else {
		sieve_code_dumpf(denv, "VAR ${bounceinfo.%s}", str_c(name));
	}
	return TRUE;
}

/*
 * Runtime
 */

static const char *
ext_bounceinfo_variable_value(const struct sieve_runtime_env *renv,
			      const struct sieve_extension *ext,
			      const char *name)
{
	const struct ext_bounceinfo_context *ectx = ext->context;
	const struct ext_bounceinfo_message *msg;
	const struct bounceinfo_recipient *rcpt;
	enum ext_bounceinfo_field field;
	struct bounceinfo *bi;
	const char *lang;

	msg = ext_bounceinfo_get_message(renv, ext);
	if (!ext_bounceinfo_message_has_values(msg))
		return strcasecmp(name, VARIABLE_COUNT) == 0 ? "0" : "";

	if (strcasecmp(name, VARIABLE_COUNT) == 0)
		return dec2str(array_count(&msg->result->recipients));

	rcpt = bounceinfo_result_first_recipient(msg->result);
	if (str_begins_with(name, VARIABLE_EXPLANATION)) {
		if (rcpt == NULL)
			return "";
		lang = name + strlen(VARIABLE_EXPLANATION);
		if (*lang == '.') {
			/* identifiers cannot hold '-': pt_br = pt-br */
			lang = t_str_replace(lang + 1, '_', '-');
		} else {
			lang = ectx->set.language;
		}
		/* The mail plugin's rules, when it is loaded: one set of
		   rules per process is enough (the extension's own are
		   loaded once per process too, but only when needed). */
		if (bounceinfo_plugin_user_explain != NULL &&
		    renv->exec_env->scriptenv->user != NULL) {
			/* the rules of the user the script runs for */
			const char *text = bounceinfo_plugin_user_explain(
				renv->exec_env->scriptenv->user,
				msg->result->kind, rcpt->class_, lang);
			if (text != NULL)
				return text;
		}
		bi = ext_bounceinfo_get_classifier(ext, renv->event);
		if (bi == NULL)
			return "";
		return bounceinfo_explain_kind(bi, msg->result->kind,
					       rcpt->class_, lang);
	}

	if (!ext_bounceinfo_variable_field(name, &field))
		return "";
	if (ext_bounceinfo_fields[field].per_message) {
		ARRAY_TYPE(const_string) values;

		/* one value per message */
		t_array_init(&values, 1);
		ext_bounceinfo_get_values(msg, field, &values);
		return array_count(&values) == 0 ? "" :
			array_idx_elem(&values, 0);
	}
	if (rcpt == NULL)
		return "";
	return ext_bounceinfo_recipient_value(rcpt, field);
}

static int
vnspc_bounceinfo_read_variable(const struct sieve_runtime_env *renv,
			       const struct sieve_variables_namespace *nspc,
			       const struct sieve_operand *oprnd,
			       sieve_size_t *address, string_t **str_r)
{
	const struct sieve_extension *this_ext = SIEVE_OBJECT_EXTENSION(nspc);
	const char *value;
	string_t *name;

	if (!sieve_binary_read_string(renv->sblock, address, &name)) {
		sieve_runtime_trace_operand_error(renv, oprnd,
			"bounceinfo variable operand corrupt: invalid name");
		return SIEVE_EXEC_BIN_CORRUPT;
	}
	if (str_r == NULL)
		return SIEVE_EXEC_OK;

	value = ext_bounceinfo_variable_value(renv, this_ext, str_c(name));
	if (value == NULL)
		value = "";
	value = ext_bounceinfo_sanitize(value,
					EXT_BOUNCEINFO_MAX_VARIABLE_SIZE);
	*str_r = t_str_new_const(value, strlen(value));
	return SIEVE_EXEC_OK;
}

/*
 * Registration
 */

static const struct sieve_extension_objects bounceinfo_namespaces =
	SIEVE_VARIABLES_DEFINE_NAMESPACE(bounceinfo_namespace);

const struct sieve_operand_def bounceinfo_namespace_operand = {
	.name = "bounceinfo-namespace",
	.ext_def = &bounceinfo_extension,
	.class = &sieve_variables_namespace_operand_class,
	.interface = &bounceinfo_namespaces,
};

void ext_bounceinfo_variables_init(const struct sieve_extension *this_ext,
				   struct sieve_validator *valdtr)
{
	const struct ext_bounceinfo_context *ectx = this_ext->context;

	sieve_variables_namespace_register(ectx->var_ext, valdtr, this_ext,
					   &bounceinfo_namespace);
}
