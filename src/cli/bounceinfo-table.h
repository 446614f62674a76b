#ifndef BOUNCEINFO_TABLE_H
#define BOUNCEINFO_TABLE_H

/* The default, human-readable output of the CLI: one row per recipient
   (one row with "-" for messages that are not bounces), in aligned
   columns FILE KIND CLASS SEVERITY RECIPIENT STATUS [RULE] EXPLANATION. Rows are
   buffered in blocks so that column widths can be computed; widths only
   grow from one block to the next. */

#include <stdio.h>

struct bounceinfo_table;

/* with_rule adds the RULE column (--explain-rule). */
struct bounceinfo_table *bounceinfo_table_init(FILE *out, bool with_rule);
/* Flushes the remaining rows. */
void bounceinfo_table_deinit(struct bounceinfo_table **table);

void bounceinfo_table_add_message(struct bounceinfo_table *table,
				  const char *file,
				  const struct bounceinfo_result *result,
				  const char *const *explanations);

#endif
