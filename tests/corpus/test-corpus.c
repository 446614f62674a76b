/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Corpus test: classify every labelled message of the Sisimai corpus and
   compare per recipient (in order) with labels.tsv through class-map.tsv.

   test-corpus <datadir> <corpusdir>        run the test
   test-corpus --dump <datadir> <file>...   print what the parser found

   Fails below: class accuracy 0.98 per recipient, status agreement 0.97,
   or when a labelled message is not recognised (kind none). Only the
   labels decide what is expected, with one exception from issue #9: a
   bounce a person forwarded (their Subject starts "Fwd:"/"FW:") is that
   person's mail, so kind none is right for it; it is counted apart and
   its recipients are left out of the figures (if it gets a kind other
   than none, it is counted like any other message).

   BOUNCEINFO_CORPUS_HOLDOUT names a file listing held-out mail system
   families (file name without "-NN.eml"): the figures are then printed
   for the whole corpus, the development part and the held-out part.
   BOUNCEINFO_CORPUS_SHOW=dev prints only the development part's
   mismatches, so rules can be written without looking at the held-out
   messages. The thresholds apply to the whole corpus. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "hash.h"
#include "istream.h"
#include "bounceinfo.h"
#include "bounceinfo-compat.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define MIN_CLASS_ACCURACY 0.98
#define MIN_STATUS_AGREEMENT 0.97

struct label {
	const char *file;
	const char *status;
	unsigned int reply_code;
	const char *reason;
	enum bounceinfo_class class_;
	bool hard;
};
ARRAY_DEFINE_TYPE(label, struct label);
HASH_TABLE_DEFINE_TYPE(family, const char *, const char *);

static pool_t pool;

static const char *read_file(const char *path, size_t *size_r)
{
	struct istream *input;
	const unsigned char *data;
	size_t size;
	buffer_t *buf = buffer_create_dynamic(pool, 8192);
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1)
		i_fatal("open(%s) failed: %m", path);
	input = i_stream_create_fd_autoclose(&fd, 65536);
	while (i_stream_read_more(input, &data, &size) > 0) {
		buffer_append(buf, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0)
		i_fatal("read(%s) failed: %s", path, i_stream_get_error(input));
	i_stream_unref(&input);
	*size_r = buf->used;
	buffer_append_c(buf, '\0');
	return buf->data;
}

static const char *const *read_tsv_lines(const char *path)
{
	size_t size;
	const char *data = read_file(path, &size);

	return (const char *const *)p_strsplit(pool, data, "\n");
}

static void
load_labels(const char *corpusdir, ARRAY_TYPE(label) *labels)
{
	HASH_TABLE(const char *, const char *) map;
	const char *const *lines;

	hash_table_create(&map, pool, 64, str_hash, strcmp);
	lines = read_tsv_lines(t_strconcat(corpusdir, "/class-map.tsv", NULL));
	for (; *lines != NULL; lines++) {
		const char *const *f = (const char *const *)
			p_strsplit(pool, *lines, "\t");
		if (**lines == '#' || **lines == '\0' ||
		    str_array_length(f) < 2)
			continue;
		hash_table_insert(map, f[0], f[1]);
	}

	lines = read_tsv_lines(t_strconcat(corpusdir,
					   "/sisimai/labels.tsv", NULL));
	for (; *lines != NULL; lines++) {
		const char *const *f = (const char *const *)
			p_strsplit(pool, *lines, "\t");
		struct label label;
		const char *cname;

		if (**lines == '#' || **lines == '\0')
			continue;
		if (str_array_length(f) < 6)
			i_fatal("labels.tsv: bad line: %s", *lines);
		i_zero(&label);
		label.file = f[0];
		label.status = f[2];
		label.reply_code = atoi(f[3]);
		label.reason = f[4];
		label.hard = strcmp(f[5], "1") == 0;
		cname = hash_table_lookup(map, f[4]);
		if (cname == NULL)
			i_fatal("class-map.tsv lacks reason %s", f[4]);
		if (!bounceinfo_class_parse(cname, &label.class_))
			i_fatal("class-map.tsv: unknown class %s", cname);
		array_push_back(labels, &label);
	}
	hash_table_destroy(&map);
}

/* Sisimai gives statuses of its own when the message has none: x.0.9yy
   pseudo codes, and x.0.0 derived from the reply code. A message without
   a status agrees with those when the class digit is the same. */
static bool status_agrees(const char *expected, const char *got)
{
	if (*expected == '\0')
		return TRUE;
	if (got != NULL && strcmp(expected, got) == 0)
		return TRUE;
	if (str_begins_with(expected + 1, ".0.9") ||
	    strcmp(expected + 1, ".0.0") == 0) {
		return got == NULL ||
			(got[0] == expected[0] && strcmp(got + 1, ".0.0") == 0);
	}
	return FALSE;
}

static void dump_result(const char *path, const struct bounceinfo_result *r)
{
	const struct bounceinfo_recipient *rcpt;

	printf("%s: kind=%s mta=%s truncated=%d\n", path,
	       bounceinfo_kind_name(r->kind), r->mta == NULL ? "-" : r->mta,
	       r->truncated ? 1 : 0);
	printf("  original: id=%s subject=%s from=%s to=%s date=%s\n",
	       r->original.message_id, r->original.subject, r->original.from,
	       r->original.to, r->original.date);
	array_foreach(&r->recipients, rcpt) {
		printf("  rcpt %s class=%s sev=%s status=%s code=%u action=%s "
		       "rule=%s remote=%s cmd=%s\n    diag=%s\n",
		       rcpt->address, bounceinfo_class_name(rcpt->class_),
		       bounceinfo_severity_name(rcpt->severity), rcpt->status,
		       rcpt->reply_code, rcpt->action, rcpt->matched_rule,
		       rcpt->remote_mta, rcpt->smtp_command, rcpt->diagnostic);
	}
}

/* The top-level header has a Subject starting "Fwd:" or "FW:" */
static bool person_forward(const char *data, size_t size)
{
	const char *p = t_strndup(data, size), *end;

	end = strstr(p, "\n\n");
	if (end == NULL)
		end = strstr(p, "\r\n\r\n");
	if (end == NULL)
		end = p + strlen(p);
	for (; p != NULL && p < end; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, "Subject:", 8) != 0)
			continue;
		p += 8;
		while (*p == ' ' || *p == '\t')
			p++;
		return strncasecmp(p, "Fwd:", 4) == 0 ||
			strncasecmp(p, "FW:", 3) == 0;
	}
	return FALSE;
}

static int dump_files(struct bounceinfo *bi, char **files)
{
	for (; *files != NULL; files++) {
		struct bounceinfo_result *result;
		const char *data, *error;
		size_t size;
		pool_t rpool = pool_alloconly_create("result", 4096);

		data = read_file(*files, &size);
		if (bounceinfo_parse_data(bi, data, size, rpool, &result,
					  &error) < 0)
			printf("%s: error: %s\n", *files, error);
		else
			dump_result(*files, result);
		pool_unref(&rpool);
	}
	return 0;
}

struct class_stat {
	unsigned int total, correct;
};

/* figures of one part of the corpus */
struct part_stat {
	/* forwarded: kind none for a bounce a person forwarded (issue #9);
	   its recipients are not in total */
	unsigned int files, unrecognised, forwarded, forwarded_rcpts, total;
	unsigned int class_ok, status_ok, status_strict_ok, sev_ok;
};

enum corpus_part { PART_ALL, PART_DEV, PART_HOLDOUT, PART_COUNT };
static const char *const part_names[PART_COUNT] = {
	"whole corpus", "development", "held-out"
};

/* the mail system family of a corpus file: its name without "-NN.eml" */
static const char *file_family(const char *file)
{
	const char *p = strrchr(file, '-');

	return p == NULL ? file : t_strdup_until(file, p);
}

static void load_holdout(HASH_TABLE_TYPE(family) *families_r)
{
	const char *path = getenv("BOUNCEINFO_CORPUS_HOLDOUT");
	const char *const *lines;

	if (path == NULL || *path == '\0')
		return;
	lines = read_tsv_lines(path);
	for (; *lines != NULL; lines++) {
		const char *line = t_str_trim(*lines, " \t\r");

		if (*line == '#' || *line == '\0')
			continue;
		line = p_strdup(pool, line);
		hash_table_update(*families_r, line, line);
	}
}

/* Status without the allowance for Sisimai's own codes: equal, or both
   absent. */
static bool status_strict_agrees(const char *expected, const char *got)
{
	if (*expected == '\0')
		return got == NULL || *got == '\0';
	return got != NULL && strcmp(expected, got) == 0;
}

static void print_part(enum corpus_part part, const struct part_stat *st)
{
	if (st->total == 0)
		return;
	printf("%-13s files %3u recipients %3u: class %.4f (%u) "
	       "status %.4f (%u) strict status %.4f (%u) severity %.4f "
	       "recognised %u/%u\n", part_names[part], st->files, st->total,
	       (double)st->class_ok / st->total, st->class_ok,
	       (double)st->status_ok / st->total, st->status_ok,
	       (double)st->status_strict_ok / st->total,
	       st->status_strict_ok,
	       (double)st->sev_ok / st->total,
	       st->files - st->unrecognised - st->forwarded, st->files);
}

static int run_corpus(struct bounceinfo *bi, const char *corpusdir)
{
	ARRAY_TYPE(label) labels;
	const struct label *labelv;
	struct class_stat stats[BOUNCEINFO_CLASS_COUNT];
	unsigned int i, j, count;
	string_t *mismatches = str_new(pool, 4096);
	bool verbose = getenv("BOUNCEINFO_CORPUS_VERBOSE") != NULL;
	const char *show = getenv("BOUNCEINFO_CORPUS_SHOW");
	HASH_TABLE_TYPE(family) holdout;
	struct part_stat parts[PART_COUNT];
	bool have_holdout;

	i_zero(&stats);
	i_zero(&parts);
	hash_table_create(&holdout, pool, 32, str_hash, strcmp);
	load_holdout(&holdout);
	have_holdout = hash_table_count(holdout) > 0;
	p_array_init(&labels, pool, 512);
	load_labels(corpusdir, &labels);
	labelv = array_get(&labels, &count);

	for (i = 0; i < count; i = j) {
		struct bounceinfo_result *result;
		const struct bounceinfo_recipient *rcpts;
		unsigned int rcpt_count;
		const char *path, *data, *error;
		size_t size;
		pool_t rpool;

		/* the labels of one file are consecutive */
		for (j = i; j < count &&
			    strcmp(labelv[j].file, labelv[i].file) == 0; j++) ;
		enum corpus_part part = have_holdout &&
			hash_table_lookup(holdout,
				file_family(labelv[i].file)) != NULL ?
			PART_HOLDOUT : PART_DEV;
		bool shown = show == NULL ||
			(strcmp(show, "dev") == 0 && part == PART_DEV) ||
			(strcmp(show, "holdout") == 0 && part == PART_HOLDOUT);
		struct part_stat *pst[2] = { &parts[PART_ALL], &parts[part] };

		for (unsigned int p = 0; p < 2; p++)
			pst[p]->files++;
		path = t_strconcat(corpusdir, "/sisimai/eml/", labelv[i].file,
				   NULL);
		data = read_file(path, &size);
		rpool = pool_alloconly_create("result", 4096);
		if (bounceinfo_parse_data(bi, data, size, rpool, &result,
					  &error) < 0)
			i_fatal("%s: %s", path, error);
		if (verbose && shown)
			dump_result(path, result);
		if (result->kind == BOUNCEINFO_KIND_NONE &&
		    person_forward(data, size)) {
			/* a person's mail: its labels are not counted */
			for (unsigned int p = 0; p < 2; p++) {
				pst[p]->forwarded++;
				pst[p]->forwarded_rcpts += j - i;
			}
			if (shown) {
				str_printfa(mismatches, "FORWARDED BY A PERSON "
					    "(none, %u recipients not counted) "
					    "%s\n", j - i, labelv[i].file);
			}
			pool_unref(&rpool);
			continue;
		}
		if (result->kind == BOUNCEINFO_KIND_NONE) {
			for (unsigned int p = 0; p < 2; p++)
				pst[p]->unrecognised++;
			if (shown) {
				str_printfa(mismatches, "NOT RECOGNISED %s\n",
					    labelv[i].file);
			}
		}
		rcpts = array_get(&result->recipients, &rcpt_count);
		for (unsigned int k = i; k < j; k++) {
			const struct label *l = &labelv[k];
			const struct bounceinfo_recipient *r =
				k - i < rcpt_count ? &rcpts[k - i] : NULL;
			bool cok = r != NULL && r->class_ == l->class_;
			bool sok = status_agrees(l->status,
						 r == NULL ? NULL : r->status);
			bool hard = r != NULL &&
				r->severity == BOUNCEINFO_SEVERITY_HARD;

			bool strict = status_strict_agrees(l->status,
				r == NULL ? NULL : r->status);

			for (unsigned int p = 0; p < 2; p++) {
				pst[p]->total++;
				if (cok) pst[p]->class_ok++;
				if (sok) pst[p]->status_ok++;
				if (strict) pst[p]->status_strict_ok++;
				if (hard == l->hard) pst[p]->sev_ok++;
			}
			if (!shown)
				continue;
			stats[l->class_].total++;
			if (cok)
				stats[l->class_].correct++;
			if (cok && sok)
				continue;
			str_printfa(mismatches,
				"%s #%u: want %s/%s/%s (%s) got %s/%s/%s rule=%s\n"
				"    diag: %s\n",
				l->file, k - i + 1,
				bounceinfo_class_name(l->class_), l->status,
				l->hard ? "hard" : "soft", l->reason,
				r == NULL ? "(none)" :
					bounceinfo_class_name(r->class_),
				r == NULL || r->status == NULL ? "-" : r->status,
				r == NULL ? "-" :
					bounceinfo_severity_name(r->severity),
				r == NULL || r->matched_rule == NULL ? "-" :
					r->matched_rule,
				r == NULL || r->diagnostic == NULL ? "-" :
					t_strndup(r->diagnostic, 300));
		}
		pool_unref(&rpool);
	}

	printf("Mismatches%s:\n%s\n", show == NULL ? "" :
	       t_strdup_printf(" (%s part only)", show), str_c(mismatches));
	printf("%-18s %6s %6s %8s\n", "class", "total", "ok", "accuracy");
	for (i = 0; i < BOUNCEINFO_CLASS_COUNT; i++) {
		if (stats[i].total == 0)
			continue;
		printf("%-18s %6u %6u %8.3f\n", bounceinfo_class_name(i),
		       stats[i].total, stats[i].correct,
		       (double)stats[i].correct / stats[i].total);
	}
	const struct part_stat *all = &parts[PART_ALL];
	double class_acc = (double)all->class_ok / all->total;
	double status_acc = (double)all->status_ok / all->total;
	double strict_acc = (double)all->status_strict_ok / all->total;

	printf("\nfiles %u, recipients %u\n", all->files, all->total);
	printf("class accuracy   %.4f (%u/%u, threshold %.2f)\n",
	       class_acc, all->class_ok, all->total, MIN_CLASS_ACCURACY);
	printf("status agreement %.4f (%u/%u, threshold %.2f; "
	       "Sisimai's own codes allowed)\n", status_acc, all->status_ok,
	       all->total, MIN_STATUS_AGREEMENT);
	printf("status, strict   %.4f (%u/%u, equal or both absent)\n",
	       strict_acc, all->status_strict_ok, all->total);
	printf("severity agreement %.4f (%u/%u)\n",
	       (double)all->sev_ok / all->total, all->sev_ok, all->total);
	printf("recognised       %u/%u\n",
	       all->files - all->unrecognised - all->forwarded, all->files);
	printf("forwarded by a person, none by design: %u (%u recipients "
	       "not counted above)\n", all->forwarded, all->forwarded_rcpts);
	if (have_holdout) {
		printf("\n");
		for (i = 0; i < PART_COUNT; i++)
			print_part(i, &parts[i]);
	}

	hash_table_destroy(&holdout);
	if (class_acc < MIN_CLASS_ACCURACY || status_acc < MIN_STATUS_AGREEMENT ||
	    all->unrecognised > 0) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}

int main(int argc, char *argv[])
{
	struct bounceinfo_settings set;
	struct bounceinfo *bi;
	const char *error;
	int ret;

	lib_init();
	pool = pool_alloconly_create("test-corpus", 1024 * 1024);
	i_zero(&set);

	if (argc >= 3 && strcmp(argv[1], "--dump") == 0) {
		set.datadir = argv[2];
		if (bounceinfo_init(&set, &bi, &error) < 0)
			i_fatal("%s", error);
		ret = dump_files(bi, argv + 3);
	} else {
		const char *datadir = getenv("BOUNCEINFO_DATADIR");
		const char *corpusdir = getenv("BOUNCEINFO_CORPUS");

		if (argc >= 2) datadir = argv[1];
		if (argc >= 3) corpusdir = argv[2];
		if (datadir == NULL || corpusdir == NULL)
			i_fatal("Usage: test-corpus <datadir> <corpusdir>");
		struct stat st;
		if (stat(t_strconcat(corpusdir, "/sisimai/labels.tsv", NULL),
			 &st) < 0) {
			/* automake: 77 = skipped */
			printf("SKIP: no corpus at %s\n", corpusdir);
			lib_deinit();
			return 77;
		}
		set.datadir = datadir;
		if (bounceinfo_init(&set, &bi, &error) < 0)
			i_fatal("%s", error);
		ret = run_corpus(bi, corpusdir);
	}
	bounceinfo_deinit(&bi);
	pool_unref(&pool);
	lib_deinit();
	return ret;
}
