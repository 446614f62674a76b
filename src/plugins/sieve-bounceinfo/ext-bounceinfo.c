/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Extension bounceinfo
 * --------------------
 *
 * Specification: doc/sieve-bounceinfo.md
 * Status: experimental
 *
 * The bounceinfo test looks at what a delivery status notification or
 * non-delivery report says (class, severity, status, ...) and the
 * bounceinfo. variables namespace hands those facts to other actions.
 */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-ast.h"
#include "sieve-validator.h"
#include "sieve-generator.h"

#include "ext-bounceinfo-common.h"

/* In the order of enum ext_bounceinfo_operation */
static const struct sieve_operation_def *const ext_bounceinfo_operations[] = {
	&bounceinfo_operation,
	&bounceinfo_kept_operation,
};

static bool
ext_bounceinfo_validator_load(const struct sieve_extension *ext,
			      struct sieve_validator *valdtr);
static bool
ext_bounceinfo_generator_load(const struct sieve_extension *ext,
			      const struct sieve_codegen_env *cgenv);

#if BOUNCEINFO_DOVECOT24
/* 2.4's load callback returns 0 / -1 */
static int
ext_bounceinfo_load24(const struct sieve_extension *ext, void **context_r)
{
	return ext_bounceinfo_load(ext, context_r) ? 0 : -1;
}
#  define EXT_BOUNCEINFO_LOAD ext_bounceinfo_load24
#else
#  define EXT_BOUNCEINFO_LOAD ext_bounceinfo_load
#endif

const struct sieve_extension_def bounceinfo_extension = {
	.name = "bounceinfo",
	.load = EXT_BOUNCEINFO_LOAD,
	.unload = ext_bounceinfo_unload,
	.validator_load = ext_bounceinfo_validator_load,
	.generator_load = ext_bounceinfo_generator_load,
	SIEVE_EXT_DEFINE_OPERATIONS(ext_bounceinfo_operations),
	SIEVE_EXT_DEFINE_OPERAND(bounceinfo_namespace_operand),
};

static bool
ext_bounceinfo_validator_load(const struct sieve_extension *ext,
			      struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &bounceinfo_test);
	sieve_validator_register_command(valdtr, ext, &bounceinfo_kept_test);
	/* The namespace only comes to life when the script also requires
	   "variables": without it there is no ${...} substitution. */
	ext_bounceinfo_variables_init(ext, valdtr);
	return TRUE;
}

/*
 * Scripts with errors Pigeonhole would let through
 */

static const struct sieve_ast_extension bounceinfo_ast_extension = {
	.ext = &bounceinfo_extension,
};

/* Any non-NULL pointer: the AST context only says "invalid". */
static const char ext_bounceinfo_invalid_marker[] = "invalid";

void ext_bounceinfo_ast_mark_invalid(struct sieve_ast *ast,
				     const struct sieve_extension *ext)
{
	sieve_ast_extension_register(ast, ext, &bounceinfo_ast_extension,
				     (void *)ext_bounceinfo_invalid_marker);
}

static bool
ext_bounceinfo_generator_load(const struct sieve_extension *ext,
			      const struct sieve_codegen_env *cgenv)
{
	/* The error itself was reported during validation. */
	return sieve_ast_extension_get_context(cgenv->ast, ext) == NULL;
}
