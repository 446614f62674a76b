/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Classify one message from a file through the streaming path
   (bounceinfo_parse on an istream, as the plugins do) and report on one
   JSON line what it cost and what came out: wall time, peak RSS before
   and after, kind, recipient count, truncation, the longest diagnostic and
   whether any string field carries CR/LF. The result invariants of the
   fuzz harnesses are checked too (abort on violation).

   adversarial-classify [--data] [--repeat=N] FILE
     --data      read the file into memory and use bounceinfo_parse_data
     --repeat=N  classify N times and report the median time */

#include "lib.h"
#include "array.h"
#include "istream.h"
#include "unichar.h"
#include "bounceinfo.h"
#include "../fuzz/fuzz-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

static long peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		i_fatal("getrusage() failed: %m");
	return ru.ru_maxrss;
}

static double now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

static bool has_crlf(const char *str)
{
	return str != NULL && strpbrk(str, "\r\n") != NULL;
}

static int cmp_double(const void *p1, const void *p2)
{
	double d1 = *(const double *)p1, d2 = *(const double *)p2;

	return d1 < d2 ? -1 : (d1 > d2 ? 1 : 0);
}

/* JSON string escaping of a short value for the report line */
static void print_json_str(const char *str)
{
	if (str == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *str != '\0'; str++) {
		unsigned char c = *str;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(int argc, char *argv[])
{
	struct bounceinfo *bi;
	struct bounceinfo_result *result = NULL;
	const struct bounceinfo_recipient *rcpt;
	const char *path = NULL, *error;
	bool use_data = FALSE, crlf = FALSE;
	unsigned int i, repeat = 1;
	size_t max_diag = 0;
	long rss_base, rss_peak;
	double *times, t0;
	pool_t pool;
	void *data = NULL;
	size_t data_size = 0;
	int fd;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--data") == 0)
			use_data = TRUE;
		else if (strncmp(argv[i], "--repeat=", 9) == 0)
			repeat = atoi(argv[i] + 9);
		else
			path = argv[i];
	}
	if (path == NULL || repeat == 0) {
		fprintf(stderr, "usage: %s [--data] [--repeat=N] FILE\n",
			argv[0]);
		return 2;
	}

	bi = fuzz_bounceinfo_get();
	if (use_data) {
		struct stat st;
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st) < 0)
			i_fatal("open(%s) failed: %m", path);
		data_size = st.st_size;
		data = i_malloc(data_size + 1);
		if (read(fd, data, data_size) != (ssize_t)data_size)
			i_fatal("read(%s) failed", path);
		i_close_fd(&fd);
	}
	rss_base = peak_rss_kb();
	times = i_new(double, repeat);

	for (i = 0; i < repeat; i++) {
		struct istream *input = NULL;
		int ret;

		pool = pool_alloconly_create("adversarial result", 4096);
		if (!use_data) {
			fd = open(path, O_RDONLY);
			if (fd < 0)
				i_fatal("open(%s) failed: %m", path);
			input = i_stream_create_fd_autoclose(&fd, 64 * 1024);
		}
		t0 = now_ms();
		T_BEGIN {
			ret = use_data ?
				bounceinfo_parse_data(bi, data, data_size, pool,
						      &result, &error) :
				bounceinfo_parse(bi, input, pool, &result,
						 &error);
			if (ret < 0)
				i_fatal("%s: parse failed: %s", path, error);
		} T_END;
		times[i] = now_ms() - t0;
		if (input != NULL)
			i_stream_unref(&input);
		if (i + 1 < repeat)
			pool_unref(&pool);
	}
	rss_peak = peak_rss_kb();
	qsort(times, repeat, sizeof(*times), cmp_double);

	fuzz_check_result(bi, result);
	crlf = has_crlf(result->mta) || has_crlf(result->reporting_mta) ||
		has_crlf(result->original.subject) ||
		has_crlf(result->original.message_id) ||
		has_crlf(result->original.from) ||
		has_crlf(result->original.to) ||
		has_crlf(result->original.date);
	array_foreach(&result->recipients, rcpt) {
		if (has_crlf(rcpt->diagnostic) || has_crlf(rcpt->address) ||
		    has_crlf(rcpt->status) || has_crlf(rcpt->remote_mta) ||
		    has_crlf(rcpt->action))
			crlf = TRUE;
		if (rcpt->diagnostic != NULL &&
		    strlen(rcpt->diagnostic) > max_diag)
			max_diag = strlen(rcpt->diagnostic);
	}
	rcpt = bounceinfo_result_first_recipient(result);

	printf("{\"file\":");
	print_json_str(path);
	printf(",\"kind\":\"%s\",\"recipients\":%u,\"truncated\":%s"
	       ",\"ms\":%.3f,\"ms_max\":%.3f,\"rss_base_kb\":%ld"
	       ",\"rss_peak_kb\":%ld,\"max_diagnostic_len\":%zu"
	       ",\"crlf\":%s,\"class\":",
	       bounceinfo_kind_name(result->kind),
	       array_count(&result->recipients),
	       result->truncated ? "true" : "false",
	       times[repeat / 2], times[repeat - 1], rss_base, rss_peak,
	       max_diag, crlf ? "true" : "false");
	print_json_str(rcpt == NULL ? NULL :
		       bounceinfo_class_name(rcpt->class_));
	printf(",\"diagnostic\":");
	print_json_str(rcpt == NULL || rcpt->diagnostic == NULL ? NULL :
		       t_strndup(rcpt->diagnostic, uni_utf8_data_truncate(
				(const unsigned char *)rcpt->diagnostic,
				strlen(rcpt->diagnostic), 200)));
	printf("}\n");

	pool_unref(&pool);
	i_free(times);
	i_free(data);
	return 0;
}
