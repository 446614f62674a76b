#ifndef RESULT_FACTS_H
#define RESULT_FACTS_H

struct bounceinfo_result;

/* Every fact of a parse result the decoding can change, as one string
   (data stack), so that two parses of one message can be compared: the
   fast decoding path against lib-mail's decoder alone (fuzz-message,
   tests/unit/test-decode). */
const char *result_facts(const struct bounceinfo_result *result);

#endif
