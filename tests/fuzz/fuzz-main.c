/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Stand-alone driver used when the harnesses are built without libFuzzer
   (make check in an ordinary or sanitizer build): runs the harness once on
   every file given, descending into directories, so the regression inputs
   and seed corpora stay exercised on every build. */

#include "lib.h"
#include "fuzz-common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned int files_run = 0;

static int run_file(const char *path)
{
	FILE *f;
	unsigned char *buf = NULL;
	size_t size = 0, alloc = 0, n;

	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (size == alloc) {
			alloc = alloc == 0 ? 65536 : alloc * 2;
			buf = realloc(buf, alloc);
			if (buf == NULL)
				abort();
		}
		n = fread(buf + size, 1, alloc - size, f);
		size += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* an exact-size copy so ASan catches reads past the input */
	unsigned char *copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, buf, size);
	free(buf);
	(void)LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	files_run++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *d;
	int ret = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	dir = opendir(path);
	if (dir == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		size_t len = strlen(path) + strlen(d->d_name) + 2;
		char *sub = malloc(len);
		if (sub == NULL)
			abort();
		snprintf(sub, len, "%s/%s", path, d->d_name);
		if (run_path(sub) < 0)
			ret = -1;
		free(sub);
	}
	closedir(dir);
	return ret;
}

int main(int argc, char *argv[])
{
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue; /* libFuzzer options: ignored here */
		if (run_path(argv[i]) < 0)
			ret = 1;
	}
	printf("%s: %u inputs run without failure\n", argv[0], files_run);
	return ret;
}
