/* The floor under the classifier: what merely reading and parsing the
   benchmark's messages costs, measured in one process with the same
   Dovecot lib-mail the library uses. bench/run builds and runs it; it is
   no test and not part of "make".

   usage: floor [-c COPIES] [-r ROUNDS] FILE...

   Every FILE is one message; the input is the list COPIES times over
   (default 20, like bench/run's mbox). Four stages, each its own pass
   over the whole input, each including the ones before it:
     read    open(), read() into one reused buffer, close()
     lines   + a memchr() scan for every line end
     parse   + Dovecot's message parser over all parts (headers and
               bodies, multipart preambles included, the same
               settings as the library), blocks only counted
     decode  + message_decoder (transfer encodings and charsets to
               UTF-8) on every block
   Each stage is run ROUNDS times (default 3) and the fastest round is
   printed, as CPU time (user + system) and wall time per message. */

#include "lib.h"
#include "istream.h"
#include "message-parser.h"
#include "message-decoder.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum stage {
	STAGE_READ,
	STAGE_LINES,
	STAGE_PARSE,
	STAGE_DECODE,
	STAGE_COUNT
};

static const char *const stage_names[STAGE_COUNT] = {
	"read", "lines", "parse", "decode"
};
static const char *const stage_desc[STAGE_COUNT] = {
	"reading the files (open/read/close)",
	"+ memchr line scan",
	"+ Dovecot message parser, all parts",
	"+ message_decoder to UTF-8",
};

static unsigned char *buf;
static size_t buf_size;
/* whatever the stages count, summed, so that no work is optimised away
   and the figures can be compared between stages */
static uint64_t sink_lines, sink_blocks, sink_decoded;

static size_t read_file(const char *path)
{
	size_t len = 0;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1)
		i_fatal("open(%s) failed: %m", path);
	for (;;) {
		if (len == buf_size) {
			buf_size *= 2;
			buf = i_realloc(buf, len, buf_size);
		}
		ret = read(fd, buf + len, buf_size - len);
		if (ret < 0)
			i_fatal("read(%s) failed: %m", path);
		if (ret == 0)
			break;
		len += ret;
	}
	i_close_fd(&fd);
	return len;
}

static void scan_lines(size_t len)
{
	const unsigned char *p = buf, *end = buf + len, *nl;

	while (p < end && (nl = memchr(p, '\n', end - p)) != NULL) {
		sink_lines++;
		p = nl + 1;
	}
}

static void parse(size_t len, bool decode)
{
	struct message_parser_settings pset;
	struct message_parser_ctx *parser;
	struct message_decoder_context *decoder = NULL;
	struct message_block block, decoded;
	struct message_part *parts;
	struct istream *input;
	pool_t pool;

	i_zero(&pset);
	pset.max_nested_mime_parts = 20;
	pset.all_headers_max_size = 4 * 1024 * 1024;
	pset.flags = MESSAGE_PARSER_FLAG_INCLUDE_MULTIPART_BLOCKS;

	input = i_stream_create_from_data(buf, len);
	pool = pool_alloconly_create("floor parts", 4096);
	parser = message_parser_init(pool, input, &pset);
	if (decode)
		decoder = message_decoder_init(NULL, 0);
	while (message_parser_parse_next_block(parser, &block) > 0) {
		sink_blocks++;
		if (decoder == NULL)
			continue;
		if (block.hdr != NULL && block.hdr->eoh)
			continue;
		if (message_decoder_decode_next_block(decoder, &block,
						      &decoded)) {
			if (decoded.hdr != NULL)
				sink_decoded += decoded.hdr->full_value_len;
			else
				sink_decoded += decoded.size;
		}
	}
	if (decoder != NULL)
		message_decoder_deinit(&decoder);
	message_parser_deinit(&parser, &parts);
	pool_unref(&pool);
	i_stream_unref(&input);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_stage(enum stage stage, char *const files[],
		      unsigned int nfiles, unsigned int copies)
{
	unsigned int c, i;
	size_t len;

	for (c = 0; c < copies; c++) {
		for (i = 0; i < nfiles; i++) {
			len = read_file(files[i]);
			if (stage >= STAGE_LINES)
				scan_lines(len);
			if (stage >= STAGE_PARSE) T_BEGIN {
				parse(len, stage >= STAGE_DECODE);
			} T_END;
		}
	}
}

int main(int argc, char *argv[])
{
	unsigned int copies = 20, rounds = 3, nfiles, round;
	uint64_t bytes = 0;
	enum stage stage;
	int opt;

	lib_init();
	while ((opt = getopt(argc, argv, "c:r:")) != -1) {
		switch (opt) {
		case 'c':
			copies = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			i_fatal("usage: floor [-c COPIES] [-r ROUNDS] FILE...");
		}
	}
	if (optind >= argc || copies == 0 || rounds == 0)
		i_fatal("usage: floor [-c COPIES] [-r ROUNDS] FILE...");
	nfiles = argc - optind;

	buf_size = 65536;
	buf = i_malloc(buf_size);
	for (unsigned int i = 0; i < nfiles; i++)
		bytes += read_file(argv[optind + i]);

	printf("floor: %u messages (%u files x %u), %.1f KiB average\n",
	       nfiles * copies, nfiles, copies, bytes / 1024.0 / nfiles);
	printf("%-8s %-38s %12s %12s\n", "stage", "", "CPU us/msg",
	       "wall us/msg");
	for (stage = 0; stage < STAGE_COUNT; stage++) {
		double best_cpu = -1, best_wall = -1;

		for (round = 0; round < rounds; round++) {
			double cpu0 = cpu_seconds(), wall0 = wall_seconds();
			double cpu, wall;

			run_stage(stage, argv + optind, nfiles, copies);
			cpu = cpu_seconds() - cpu0;
			wall = wall_seconds() - wall0;
			if (best_cpu < 0 || cpu < best_cpu)
				best_cpu = cpu;
			if (best_wall < 0 || wall < best_wall)
				best_wall = wall;
		}
		printf("%-8s %-38s %12.2f %12.2f\n", stage_names[stage],
		       stage_desc[stage],
		       best_cpu * 1e6 / (nfiles * copies),
		       best_wall * 1e6 / (nfiles * copies));
	}
	fflush(stdout);
	/* the counts keep the work observable; printed to stderr so the
	   table stays easy to read from scripts */
	fprintf(stderr, "floor: per copy of the input %"PRIu64" lines, "
		"%"PRIu64" parser blocks, %"PRIu64" decoded bytes\n",
		(uint64_t)(sink_lines / (rounds * 3ULL * copies)),
		(uint64_t)(sink_blocks / (rounds * 2ULL * copies)),
		(uint64_t)(sink_decoded / (rounds * 1ULL * copies)));
	i_free(buf);
	lib_deinit();
	return 0;
}
