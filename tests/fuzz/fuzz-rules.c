/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Rules loader: the input is an administrator's extra rules file. Loading
   must either succeed (and the rules then classify without crashing) or
   fail with an error naming the file and the line at fault; so must
   bounceinfo_rules_check(), which compiles the patterns loading leaves to
   their first use. The first input byte picks the class the file is named
   for (rules/<class>.rules). */

#include "lib.h"
#include "bounceinfo.h"
#include "fuzz-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmpdir = NULL;

static void fuzz_rules_cleanup(void)
{
	if (tmpdir != NULL) {
		/* the harness only ever creates *.rules files in it */
		char cmd[PATH_MAX + 32];
		i_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0) { /* best effort */ }
		free(tmpdir);
		tmpdir = NULL;
	}
}

static const char *fuzz_tmpdir(void)
{
	const char *base;
	char *path;

	if (tmpdir != NULL)
		return tmpdir;
	base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	path = malloc(strlen(base) + 32);
	if (path == NULL)
		abort();
	sprintf(path, "%s/fuzz-rules.XXXXXX", base);
	if (mkdtemp(path) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	tmpdir = path;
	atexit(fuzz_rules_cleanup);
	return tmpdir;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) < 0) {
		perror(path);
		abort();
	}
}

/* file:line somewhere in the error, line a positive number */
static bool error_names_file_line(const char *error, const char *path)
{
	const char *p = error;

	while ((p = strstr(p, path)) != NULL) {
		p += strlen(path);
		if (p[0] == ':' && p[1] >= '1' && p[1] <= '9')
			return TRUE;
	}
	return FALSE;
}

static const char *const probe_diagnostics[] = {
	"550 5.1.1 <user@example.com>: Recipient address rejected: User unknown",
	"552 5.2.2 Mailbox full",
	"",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
	"Zdalny host odpowiedzia\xc5\x82: skrzynka przepe\xc5\x82niona",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	enum bounceinfo_class class_;
	enum bounceinfo_severity severity;
	const char *error, *matched, *path;
	const char *extra[2];
	unsigned int i;
	unsigned char variant = 0;

	fuzz_lib_init();
	if (size > 0) {
		variant = data[0];
		data++;
		size--;
	}

	T_BEGIN {
		path = t_strdup_printf("%s/%s.rules", fuzz_tmpdir(),
			bounceinfo_class_name(variant % BOUNCEINFO_CLASS_COUNT));
		write_file(path, data, size);
		extra[0] = path;
		extra[1] = NULL;

		i_zero(&set);
		set.datadir = getenv("BOUNCEINFO_DATADIR") != NULL &&
			*getenv("BOUNCEINFO_DATADIR") != '\0' ?
			getenv("BOUNCEINFO_DATADIR") : FUZZ_DATADIR;
		set.extra_rules = extra;
		if (bounceinfo_init(&set, &bi, &error) < 0) {
			if (error == NULL || !error_names_file_line(error, path)) {
				fprintf(stderr, "fuzz: rules error without "
					"%s:LINE: %s\n", path,
					error == NULL ? "(null)" : error);
				abort();
			}
			if (getenv("FUZZ_VERBOSE") != NULL)
				fprintf(stderr, "fuzz-rules: %s\n", error);
		} else {
			/* before classifying: the patterns that do not
			   compile are then left out without being logged */
			if (bounceinfo_rules_check(bi, &error) < 0 &&
			    !error_names_file_line(error, path)) {
				fprintf(stderr, "fuzz: rules check error "
					"without %s:LINE: %s\n", path, error);
				abort();
			}
			for (i = 0; i < N_ELEMENTS(probe_diagnostics); i++) {
				bounceinfo_classify(bi, i == 0 ? "5.1.1" : NULL,
						    i == 0 ? 550 : 0,
						    probe_diagnostics[i],
						    &class_, &severity,
						    &matched);
				if ((unsigned int)class_ >= BOUNCEINFO_CLASS_COUNT ||
				    (unsigned int)severity >= BOUNCEINFO_SEVERITY_COUNT)
					abort();
				if (matched != NULL)
					(void)strlen(matched);
			}
			bounceinfo_deinit(&bi);
		}
		if (unlink(path) < 0)
			perror(path);
	} T_END;
	return 0;
}
