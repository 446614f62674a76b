/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "bounceinfo-json.h"
#include "bounceinfo-table.h"

#include <stdio.h>

/* rows kept before they are printed */
#define TABLE_BLOCK_ROWS 1000
/* a cell is cut at this many characters so that one long address or
   file name does not push every other row off the screen */
#define TABLE_MAX_CELL_WIDTH 60

enum table_column {
	COL_FILE,
	COL_KIND,
	COL_CLASS,
	COL_SEVERITY,
	COL_RECIPIENT,
	COL_STATUS,
	COL_RULE,
	COL_EXPLANATION,

	COL_COUNT
};

static const char *const column_titles[COL_COUNT] = {
	"FILE", "KIND", "CLASS", "SEVERITY", "RECIPIENT", "STATUS", "RULE",
	"EXPLANATION"
};

struct table_row {
	const char *cells[COL_COUNT];
};

struct bounceinfo_table {
	pool_t pool;
	FILE *out;
	ARRAY(struct table_row) rows;
	unsigned int widths[COL_COUNT];
	bool with_rule:1;
	bool header_printed:1;
};

struct bounceinfo_table *bounceinfo_table_init(FILE *out, bool with_rule)
{
	struct bounceinfo_table *table;
	pool_t pool;

	/* the pool holds only the rows of the current block */
	pool = pool_alloconly_create("bounceinfo table", 64 * 1024);
	table = i_new(struct bounceinfo_table, 1);
	table->pool = pool;
	table->out = out;
	table->with_rule = with_rule;
	p_array_init(&table->rows, pool, 128);
	for (unsigned int i = 0; i < COL_COUNT; i++)
		table->widths[i] = strlen(column_titles[i]);
	return table;
}

enum table_cut {
	/* keep the start: addresses, status, rules */
	TABLE_CUT_END,
	/* keep the end: file names, where the last part is the telling one */
	TABLE_CUT_START,
	/* the last column is never cut */
	TABLE_CUT_NONE,
};

/* Table cells are single-line: control characters (newlines, tabs) of
   the diagnostic or address become spaces, and overlong cells are cut
   with an ellipsis so that one long value does not push every other row
   off the screen. */
static const char *
table_cell(pool_t pool, const char *value, enum table_cut cut)
{
	string_t *valid, *str;
	const unsigned char *p;
	unsigned int chars, skip;

	if (value == NULL || value[0] == '\0')
		return "-";
	/* file names may be any bytes: make them valid UTF-8 first, so
	   that stepping by characters below stays inside the string */
	valid = t_str_new(strlen(value) + 4);
	if (uni_utf8_get_valid_data((const unsigned char *)value,
				    strlen(value), valid))
		str_append(valid, value);
	str = t_str_new(str_len(valid) + 4);
	for (p = str_data(valid); *p != '\0'; p++)
		str_append_c(str, *p < 0x20 || *p == 0x7f ? ' ' : *p);
	chars = uni_utf8_strlen(str_c(str));
	if (cut == TABLE_CUT_NONE || chars <= TABLE_MAX_CELL_WIDTH)
		return p_strdup(pool, str_c(str));

	p = str_data(str);
	if (cut == TABLE_CUT_END) {
		/* the first TABLE_MAX_CELL_WIDTH-1 characters and "…" */
		for (chars = 0; chars < TABLE_MAX_CELL_WIDTH - 1; chars++)
			p += uni_utf8_char_bytes(*p);
		return p_strdup_printf(pool, "%s…",
			t_strdup_until(str_data(str), p));
	}
	/* "…" and the last TABLE_MAX_CELL_WIDTH-1 characters */
	for (skip = chars - (TABLE_MAX_CELL_WIDTH - 1); skip > 0; skip--)
		p += uni_utf8_char_bytes(*p);
	return p_strdup_printf(pool, "…%s", (const char *)p);
}

static void table_print_row(struct bounceinfo_table *table,
			    const char *const *cells)
{
	string_t *line = t_str_new(256);
	unsigned int i, len;

	for (i = 0; i < COL_COUNT; i++) {
		if (i == COL_RULE && !table->with_rule)
			continue;
		str_append(line, cells[i]);
		if (i == COL_COUNT - 1)
			break;
		len = uni_utf8_strlen(cells[i]);
		for (; len < table->widths[i] + 2; len++)
			str_append_c(line, ' ');
	}
	str_append_c(line, '\n');
	fwrite(str_data(line), 1, str_len(line), table->out);
}

static void table_flush(struct bounceinfo_table *table)
{
	const struct table_row *row;
	unsigned int i, len;

	array_foreach(&table->rows, row) {
		for (i = 0; i < COL_COUNT - 1; i++) {
			len = uni_utf8_strlen(row->cells[i]);
			if (len > table->widths[i])
				table->widths[i] = len;
		}
	}
	T_BEGIN {
		if (!table->header_printed &&
		    array_count(&table->rows) > 0) {
			table_print_row(table, column_titles);
			table->header_printed = TRUE;
		}
		array_foreach(&table->rows, row)
			table_print_row(table, row->cells);
	} T_END;
	p_clear(table->pool);
	p_array_init(&table->rows, table->pool, 128);
}

void bounceinfo_table_add_message(struct bounceinfo_table *table,
				  const char *file,
				  const struct bounceinfo_result *result,
				  const char *const *explanations)
{
	const struct bounceinfo_recipient *rcpts;
	struct bounceinfo_recipient tmp;
	struct table_row *row;
	unsigned int i, count;
	pool_t pool = table->pool;

	count = bounceinfo_json_get_recipients(result, &tmp, &rcpts);
	T_BEGIN {
		const char *file_cell = table_cell(pool, file, TABLE_CUT_START);
		const char *kind = bounceinfo_kind_name(result->kind);

		if (count == 0) {
			row = array_append_space(&table->rows);
			row->cells[COL_FILE] = file_cell;
			row->cells[COL_KIND] = kind;
			for (i = COL_CLASS; i < COL_COUNT; i++)
				row->cells[i] = "-";
		}
		for (i = 0; i < count; i++) {
			const struct bounceinfo_recipient *rcpt = &rcpts[i];
			const char *expl = explanations == NULL ? NULL :
				explanations[rcpt->class_];

			row = array_append_space(&table->rows);
			row->cells[COL_FILE] = file_cell;
			row->cells[COL_KIND] = kind;
			row->cells[COL_CLASS] =
				bounceinfo_class_name(rcpt->class_);
			row->cells[COL_SEVERITY] =
				bounceinfo_severity_name(rcpt->severity);
			row->cells[COL_RECIPIENT] =
				table_cell(pool, rcpt->address, TABLE_CUT_END);
			row->cells[COL_STATUS] =
				table_cell(pool, rcpt->status, TABLE_CUT_END);
			/* "quota/1a2b3c4d rules/quota.rules:12": the stable
			   id, then where it is */
			row->cells[COL_RULE] = table_cell(pool,
				rcpt->rule_id == NULL ? rcpt->matched_rule :
				rcpt->matched_rule == NULL ? rcpt->rule_id :
				t_strconcat(rcpt->rule_id, " ",
					    rcpt->matched_rule, NULL),
				TABLE_CUT_END);
			row->cells[COL_EXPLANATION] =
				table_cell(pool, expl, TABLE_CUT_NONE);
		}
	} T_END;
	if (array_count(&table->rows) >= TABLE_BLOCK_ROWS)
		table_flush(table);
}

void bounceinfo_table_deinit(struct bounceinfo_table **_table)
{
	struct bounceinfo_table *table = *_table;

	*_table = NULL;
	table_flush(table);
	pool_unref(&table->pool);
	i_free(table);
}
