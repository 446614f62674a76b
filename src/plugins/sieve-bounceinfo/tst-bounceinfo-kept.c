/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-commands.h"
#include "sieve-code.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-runtime.h"
#include "sieve-runtime-trace.h"
#include "sieve-result.h"
#include "sieve-actions.h"
#include "sieve-dump.h"

#include "ext-bounceinfo-common.h"

/*
 * Bounceinfo_kept test
 *
 * Syntax:
 *   bounceinfo_kept
 *
 * True when a script that ran earlier in this delivery's script sequence
 * (sieve_before, the personal script) executed an explicit "keep". Lets a
 * sieve_after script yield to a user's "keep": Pigeonhole runs the next
 * script after an explicit keep just as after the implicit keep, but the
 * keep stays in the shared result as an action of the earlier run (its
 * exec_seq is below the current one). Works alike on Pigeonhole 0.5 and
 * 2.4. Outside a script sequence it is always false.
 */

static bool
tst_bounceinfo_kept_generate(const struct sieve_codegen_env *cgenv,
			     struct sieve_command *tst);

const struct sieve_command_def bounceinfo_kept_test = {
	.identifier = "bounceinfo_kept",
	.type = SCT_TEST,
	.positional_args = 0,
	.subtests = 0,
	.block_allowed = FALSE,
	.block_required = FALSE,
	.generate = tst_bounceinfo_kept_generate,
};

/*
 * Operation
 */

static int
tst_bounceinfo_kept_operation_execute(const struct sieve_runtime_env *renv,
				      sieve_size_t *address);

const struct sieve_operation_def bounceinfo_kept_operation = {
	.mnemonic = "BOUNCEINFO_KEPT",
	.ext_def = &bounceinfo_extension,
	.code = EXT_BOUNCEINFO_OPERATION_KEPT,
	.execute = tst_bounceinfo_kept_operation_execute,
};

static bool
tst_bounceinfo_kept_generate(const struct sieve_codegen_env *cgenv,
			     struct sieve_command *tst)
{
	sieve_operation_emit(cgenv->sblock, tst->ext,
			     &bounceinfo_kept_operation);
	return TRUE;
}

static int
tst_bounceinfo_kept_operation_execute(const struct sieve_runtime_env *renv,
				      sieve_size_t *address ATTR_UNUSED)
{
	struct sieve_result *result = renv->result;
	unsigned int exec_seq = sieve_result_get_exec_seq(result);
	bool kept = FALSE;

	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "bounceinfo_kept test");

	/* Actions of earlier scripts carry a lower exec_seq: the result is
	   marked executed (exec_seq++) after each script of the sequence.
	   A keep added by this script itself has the current exec_seq. */
	T_BEGIN {
		struct sieve_result_iterate_context *rictx;
		const struct sieve_action *act;
		bool keep;

		/* the iteration context is on the data stack */
		rictx = sieve_result_iterate_init(result);
		while ((act = sieve_result_iterate_next(rictx, &keep)) != NULL) {
			if (keep && act->exec_seq < exec_seq) {
				kept = TRUE;
				break;
			}
		}
	} T_END;

	sieve_runtime_trace_descend(renv);
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "%s",
			    kept ? "an earlier script kept the message" :
			    "no explicit keep in an earlier script");

	sieve_interpreter_set_test_result(renv->interp, kept);
	return SIEVE_EXEC_OK;
}
