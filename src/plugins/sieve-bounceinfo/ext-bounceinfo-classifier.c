/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"

#include "ext-bounceinfo-common.h"

/* The compiled rules are shared by every Sieve instance of the process
   whose rules settings are the same (bounceinfo_shared_get()). LMTP and
   LDA make a new Sieve instance for every delivery and Pigeonhole then
   unloads its plugins; the module is linked with -z nodelete
   (Makefile.am) so the shared rules survive the dlclose() and a delivery
   does not read and compile all rules again. Freed at process exit. */
static bool ext_bounceinfo_atexit_registered = FALSE;

/* "pt-BR" is known when "pt-BR" or "pt" explanations were loaded. */
static bool
ext_bounceinfo_language_known(struct bounceinfo *bi, const char *lang)
{
	const char *const *langs = bounceinfo_get_languages(bi);
	size_t len = strcspn(lang, "-_");

	for (; langs != NULL && *langs != NULL; langs++) {
		if (strcasecmp(*langs, lang) == 0 ||
		    (strlen(*langs) == len &&
		     strncasecmp(*langs, lang, len) == 0))
			return TRUE;
	}
	return FALSE;
}

static struct bounceinfo *
ext_bounceinfo_classifier_load(const struct ext_bounceinfo_settings *eset,
			       struct event *event)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *error;
	bool created;

	i_zero(&set);
	set.datadir = eset->datadir;
	set.extra_rules = eset->extra_rules;
	set.max_scan_bytes = eset->max_scan_bytes;
	set.max_recipients = eset->max_recipients;
	set.event_parent = event;
	if (bounceinfo_shared_get(&set, &bi, &created, &error) < 0) {
		/* Not kept: the next Sieve instance tries again (and logs
		   again), as the mail plugin does for the next user. */
		e_error(event, "bounceinfo: Failed to load the rules "
			"(bounceinfo_datadir=%s, bounceinfo_rules=%s): %s - "
			"the bounceinfo test has no values",
			set.datadir != NULL ? set.datadir : "(default)",
			set.extra_rules != NULL ?
			t_strarray_join(set.extra_rules, " ") : "",
			error);
		return NULL;
	}
	if (!created) {
		/* log through this delivery's event */
		bounceinfo_set_event_parent(bi, event);
		return bi;
	}
	e_debug(event, "bounceinfo: Loaded the rules for this process "
		"(bounceinfo_datadir=%s)",
		set.datadir != NULL ? set.datadir : "(default)");
	if (!ext_bounceinfo_atexit_registered) {
		ext_bounceinfo_atexit_registered = TRUE;
		lib_atexit(bounceinfo_shared_free_all);
	}
	return bi;
}

struct bounceinfo *
ext_bounceinfo_get_classifier(const struct sieve_extension *ext,
			      struct event *event)
{
	struct ext_bounceinfo_context *ectx = ext->context;

	if (ectx == NULL)
		return NULL;
	if (ectx->bi != NULL) {
		/* each script run of the instance has its own event */
		bounceinfo_set_event_parent(ectx->bi, event);
		return ectx->bi;
	}
	if (ectx->bi_failed)
		return NULL;

	ectx->bi = ext_bounceinfo_classifier_load(&ectx->set, event);
	if (ectx->bi == NULL) {
		/* logged; every bounceinfo test of this instance is then
		   false and the script goes on */
		ectx->bi_failed = TRUE;
		return NULL;
	}
	if (!ext_bounceinfo_language_known(ectx->bi, ectx->set.language)) {
		e_warning(event, "bounceinfo: bounceinfo_language=%s: "
			  "no explanations in that language, using English",
			  ectx->set.language);
	}
	return ectx->bi;
}

void ext_bounceinfo_release_classifier(struct ext_bounceinfo_context *ectx)
{
	if (ectx->bi == NULL)
		return;
	/* The Sieve instance ends: keep no reference to its events. */
	bounceinfo_set_event_parent(ectx->bi, NULL);
	ectx->bi = NULL;
}
