#ifndef BOUNCEINFO_JSON_H
#define BOUNCEINFO_JSON_H

#include "bounceinfo.h"

/* JSON Lines output of the bounceinfo CLI: one object per message.
   The keys are a public interface (doc/bounceinfo.1), other tools parse
   them:

   {"file", "kind", "mta", "truncated",
    "recipients": [{"address", "class", "severity", "status", "code",
		    "action", "remote_mta", "diagnostic", "explanation"
		    [, "rule"]}],
    "original": {"message_id", "subject", "date", "from", "to"}}

   Unknown values are null, "code" is a number or null. */

struct bounceinfo_json_settings {
	/* Explanation text for each class, indexed by enum bounceinfo_class;
	   NULL entries (or a NULL array) give null. */
	const char *const *explanations;
	/* The same, each already appended by bounceinfo_json_append_string()
	   (quoted and escaped, or null), or NULL to escape explanations for
	   every recipient */
	const char *const *explanations_json;
	/* Add the "rule" key that names the rule that decided the class. */
	bool with_rule;
};

/* Append one message's object to dest, without a trailing newline. */
void bounceinfo_json_append_message(string_t *dest, const char *file,
				    const struct bounceinfo_result *result,
				    const struct bounceinfo_json_settings *set);

/* Append value as a JSON string, or null for NULL. */
void bounceinfo_json_append_string(string_t *dest, const char *value);

/* The recipients a message reports on, as the CLI prints them: for
   autoreply, complaint and delivery-report messages that carry no
   recipient the library's list is empty, so a single entry of the kind's
   class is returned in *tmp_r instead; kind none has no entries. Returns
   the number of entries. */
unsigned int
bounceinfo_json_get_recipients(const struct bounceinfo_result *result,
			       struct bounceinfo_recipient *tmp_r,
			       const struct bounceinfo_recipient **rcpts_r);

#endif
