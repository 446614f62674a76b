/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Classify bare diagnostic texts, one a line, and compare with the
   expected class: a measure of how many of the phrases a source lists
   (see README.md: phrase coverage) the rules put in the right class.

   classify-text <datadir> [<smtp-command>] < lines
   line: <expected class> TAB <status or empty> TAB <diagnostic text>

   Prints every miss (expected, got, deciding rule, text) and the total;
   with BOUNCEINFO_SHOW_ALL=1 every line. Exit 0 unless input is bad. */

#include "lib.h"
#include "bounceinfo.h"

#include <stdio.h>

int main(int argc, char *argv[])
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *error, *command;
	char line[8192];
	unsigned int total = 0, ok = 0;
	bool show_all = getenv("BOUNCEINFO_SHOW_ALL") != NULL;

	if (argc < 2) {
		fprintf(stderr, "Usage: classify-text <datadir> "
			"[<smtp-command>] < lines\n");
		return 64;
	}
	lib_init();
	i_zero(&set);
	set.datadir = argv[1];
	command = argc > 2 ? argv[2] : NULL;
	if (bounceinfo_init(&set, &bi, &error) < 0)
		i_fatal("%s", error);

	while (fgets(line, sizeof(line), stdin) != NULL) T_BEGIN {
		const char *const *f;
		enum bounceinfo_class class_;
		enum bounceinfo_severity severity;
		const char *rule, *got;
		bool good;

		line[strcspn(line, "\r\n")] = '\0';
		f = t_strsplit(line, "\t");
		if (line[0] != '#' && line[0] != '\0' &&
		    str_array_length(f) >= 3) {
			bounceinfo_classify_full(bi, f[1][0] == '\0' ? NULL :
						 f[1], 0, f[2], command,
						 &class_, &severity, &rule);
			got = bounceinfo_class_name(class_);
			good = strcmp(got, f[0]) == 0;
			total++;
			if (good)
				ok++;
			if (!good || show_all) {
				printf("%s %-15s %-15s %-40s %s\n",
				       good ? "ok " : "MISS", f[0], got,
				       rule == NULL ? "-" : rule, f[2]);
			}
		}
	} T_END;
	printf("%u/%u phrases in the expected class\n", ok, total);
	bounceinfo_deinit(&bi);
	lib_deinit();
	return 0;
}
