/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* bounceinfo-decode.c hands valid UTF-8 blocks of 7bit/8bit/binary UTF-8
   or US-ASCII parts over as they are instead of running lib-mail's
   decoder on them. The output must be the decoder's own, block for block:
   checked here against a plain message_decoder over generated messages
   (invalid UTF-8, NUL bytes, 8-bit text in US-ASCII parts, characters cut
   between blocks and parts, base64 and quoted-printable parts between
   them), and the facts of whole bounces parsed both ways. */

#include "test-common.h"
#include "base64.h"
#include "istream-chain.h"
#include "message-parser.h"
#include "message-decoder.h"
#include "bounceinfo-decode.h"
#include "result-facts.h"

#include <dirent.h>

/* reproducible (lib's i_rand() cannot be seeded) */
static uint32_t test_seed = 1;

static unsigned int test_rand(void)
{
	test_seed ^= test_seed << 13;
	test_seed ^= test_seed >> 17;
	test_seed ^= test_seed << 5;
	return test_seed & 0x7fffffff;
}

struct decode_stats {
	unsigned int messages, blocks, body_blocks;
	unsigned int fast, decoded;
};

/* The message in pieces of random length, so that blocks end anywhere
   (inside characters too) */
static struct istream *pieces_stream(const char *msg, size_t len)
{
	struct istream_chain *chain;
	struct istream *input, *piece;
	size_t pos = 0, n;

	input = i_stream_create_chain(&chain, 256);
	while (pos < len) {
		n = test_rand() % 4 == 0 ? 1 + test_rand() % 3 : 1 + test_rand() % 200;
		if (n > len - pos)
			n = len - pos;
		piece = i_stream_create_from_data(msg + pos, n);
		i_stream_chain_append(chain, piece);
		i_stream_unref(&piece);
		pos += n;
	}
	i_stream_chain_append_eof(chain);
	return input;
}

/* Parse msg; give every block (or, with skip, not those of some parts:
   the library skips parts that cannot carry a bounce) to a new plain
   decoder and to dec; the outputs must be the same block for block.
   stop_after: blocks given before stopping early (the library stops at
   the returned message's header); 0 for all. */
static void
decode_compare(struct bounceinfo_decoder *dec, const char *msg, size_t len,
	       bool skip, unsigned int stop_after, struct decode_stats *stats)
{
	struct message_parser_settings pset;
	struct message_parser_ctx *parser;
	struct message_decoder_context *plain;
	struct message_block block;
	struct message_part *parts, *seen[64];
	bool skipped[64];
	unsigned int nseen = 0, given = 0, i, fast0, dec0, fast1, dec1;
	struct istream *input;
	pool_t pool;
	int ret;

	i_zero(&pset);
	pset.flags = MESSAGE_PARSER_FLAG_INCLUDE_MULTIPART_BLOCKS;
	pset.max_nested_mime_parts = 20;
	pool = pool_alloconly_create("test parts", 1024);
	input = pieces_stream(msg, len);
	parser = message_parser_init(pool, input, &pset);
	plain = message_decoder_init(NULL, 0);
	bounceinfo_decoder_begin(dec, FALSE);
	bounceinfo_decoder_get_counts(dec, &fast0, &dec0);
	while ((ret = message_parser_parse_next_block(parser, &block)) > 0) {
		struct message_block in1, in2, out1, out2;
		bool r1, r2, skip_part = FALSE;

		if (block.hdr != NULL && block.hdr->eoh)
			continue;
		if (skip) {
			for (i = 0; i < nseen; i++) {
				if (seen[i] == block.part)
					break;
			}
			if (i == nseen && nseen < N_ELEMENTS(seen)) {
				seen[nseen] = block.part;
				skipped[nseen++] = test_rand() % 4 == 0;
			}
			skip_part = i < nseen && skipped[i];
		}
		if (skip_part)
			continue;
		if (stop_after != 0 && given++ == stop_after)
			break;

		in1 = block;
		in2 = block;
		r1 = message_decoder_decode_next_block(plain, &in1, &out1);
		T_BEGIN {
			const unsigned char *data1 = NULL;
			size_t size1 = out1.size;
			const char *name1 = NULL, *value1 = NULL;

			/* (the second decoder may not touch the first's
			   buffers, but keep a copy all the same) */
			if (r1 && out1.hdr != NULL) {
				name1 = t_strdup(out1.hdr->name);
				value1 = t_strndup(out1.hdr->full_value,
						   out1.hdr->full_value_len);
			} else if (r1 && out1.size > 0) {
				data1 = p_memdup(pool_datastack_create(), out1.data,
						 out1.size);
			}
			r2 = bounceinfo_decoder_next(dec, &in2, &out2);
			assert_int_equal(r1, r2);
			if (r1 && out1.hdr != NULL) {
				assert_non_null(out2.hdr);
				assert_string_equal(name1, out2.hdr->name);
				assert_int_equal(strlen(value1),
						 out2.hdr->full_value_len);
				assert_memory_equal(value1,
						    out2.hdr->full_value,
						    out2.hdr->full_value_len);
			} else if (r1) {
				assert_null(out2.hdr);
				assert_int_equal(size1, out2.size);
				if (size1 > 0) {
					assert_memory_equal(data1, out2.data,
							    size1);
				}
				if (block.size > 0)
					stats->body_blocks++;
			}
		} T_END;
		stats->blocks++;
	}
	message_decoder_deinit(&plain);
	(void)message_parser_deinit(&parser, &parts);
	i_stream_unref(&input);
	pool_unref(&pool);
	bounceinfo_decoder_get_counts(dec, &fast1, &dec1);
	stats->fast += fast1 - fast0;
	stats->decoded += dec1 - dec0;
	stats->messages++;
}

/* Body text: mostly ASCII and UTF-8, with what breaks UTF-8 */
static void random_text(string_t *out, unsigned int len, const char *nl)
{
	static const char ascii[] = "abc XYZ 550 5.1.1 user@example.com.;:-=";
	unsigned int i;

	for (i = 0; i < len; i++) {
		unsigned int r = test_rand() % 100;

		if (r < 50)
			str_append_c(out, ascii[test_rand() % (sizeof(ascii) - 1)]);
		else if (r < 56)
			str_append(out, nl);
		else if (r < 62)
			str_append(out, "\xc3\xa9");		/* é */
		else if (r < 66)
			str_append(out, "\xe2\x82\xac");	/* € */
		else if (r < 68)
			str_append(out, "\xf0\x9f\x98\x80");	/* emoji */
		else if (r < 71)	/* a lead byte alone */
			str_append_c(out, "\xc3\xe2\xf0"[test_rand() % 3]);
		else if (r < 74)	/* a continuation byte alone */
			str_append_c(out, 0x80 + test_rand() % 64);
		else if (r < 76)
			str_append_c(out, '\0');
		else if (r < 78)	/* 5- and 6-byte leads, never valid */
			str_append_c(out, "\xf8\xfc\xfe\xff"[test_rand() % 4]);
		else if (r < 80)
			str_append(out, "\xef\xbf\xbd");	/* U+FFFD */
		else if (r < 82)
			str_append(out, "=C3=A9=\r\n");
		else if (r < 84)	/* Latin-1 */
			str_append(out, "caf\xe9 ");
		else if (r < 86)
			str_append(out, "\r");
		else if (r < 88)
			str_append(out, "\xc3\x00");
		else
			str_append_c(out, test_rand() % 256);
	}
	/* and sometimes the start of a character at the very end */
	if (test_rand() % 3 == 0)
		str_append_c(out, "\xc3\xe2\xf0\xe2\x82"[test_rand() % 5]);
}

/* Content-Type parameters: the charset as the decoder reads it */
static const char *const ct_params[] = {
	"", "; charset=us-ascii", "; charset=utf-8", "; charset=UTF8",
	"; CHARSET=\"UTF-8\"", "; charset=ascii", "; format=flowed",
	"; charset=iso-8859-1", "; charset=iso-2022-jp", "; charset=utf-16",
	"; charset=x-unknown", "; charset=windows-1252",
	"; charset*=utf-8''", "; charset*0=iso-8859; charset*1=-1",
	"; charset*0=utf; charset*1=-8", "; name=\"charset.txt\"",
	"; format=flowed (charset=iso-8859-1)",
	"; charset=windows-1252; charset=utf-8", "; charset=",
	"; CharSet=ISO-8859-1",
};
static const char *const ctes[] = {
	NULL, "7bit", "8bit", "binary", "quoted-printable", "base64",
	"x-uuencode", "7BIT", "8bit (comment)",
};

static void random_part(string_t *msg, unsigned int depth, const char *nl)
{
	const char *params = ct_params[test_rand() % N_ELEMENTS(ct_params)];
	const char *cte = ctes[test_rand() % N_ELEMENTS(ctes)];
	string_t *body = t_str_new(512);

	if (depth < 2 && test_rand() % 4 == 0) {
		const char *b = t_strdup_printf("b%u-%d", depth, test_rand() % 100);
		unsigned int i, n = 1 + test_rand() % 4;

		str_printfa(msg, "Content-Type: multipart/%s; boundary=\"%s\"%s",
			    test_rand() % 2 == 0 ? "mixed" : "report", b, nl);
		if (test_rand() % 3 == 0)
			str_printfa(msg, "Content-Transfer-Encoding: %s%s",
				    test_rand() % 2 == 0 ? "7bit" : "base64", nl);
		str_append(msg, nl);
		if (test_rand() % 2 == 0)
			random_text(msg, test_rand() % 80, nl);
		for (i = 0; i < n; i++) {
			str_printfa(msg, "%s--%s%s", nl, b, nl);
			random_part(msg, depth + 1, nl);
		}
		str_printfa(msg, "%s--%s--%s", nl, b, nl);
		if (test_rand() % 2 == 0)
			random_text(msg, test_rand() % 60, nl);
		return;
	}
	switch (test_rand() % 5) {
	case 0:
		break;
	case 1:
		str_printfa(msg, "Content-Type: message/delivery-status%s", nl);
		break;
	default:
		str_printfa(msg, "Content-Type: text/plain%s%s", params, nl);
		break;
	}
	if (test_rand() % 5 == 0) {
		/* a second one: only the first counts for the charset */
		str_printfa(msg, "Content-Type: text/plain; charset=%s%s",
			    test_rand() % 2 == 0 ? "utf-8" : "iso-8859-1", nl);
	}
	if (cte != NULL)
		str_printfa(msg, "Content-Transfer-Encoding: %s%s", cte, nl);
	if (test_rand() % 5 == 0) {
		/* the last one counts */
		str_printfa(msg, "Content-Transfer-Encoding:%s 8bit%s", nl,
			    nl);
	}
	str_append(msg, nl);
	random_text(body, test_rand() % 400, nl);
	if (cte != NULL && strcmp(cte, "base64") == 0 && test_rand() % 4 != 0) {
		string_t *b64 = t_str_new(str_len(body) * 2);

		base64_encode(str_data(body), str_len(body), b64);
		str_append_str(msg, b64);
	} else {
		str_append_str(msg, body);
	}
}

static void test_decode_random(void **state)
{
	struct bounceinfo_decoder *dec = bounceinfo_decoder_init();
	struct decode_stats stats;
	unsigned int round;

	(void)state;
	i_zero(&stats);
	test_seed = 20261130;
	for (round = 0; round < 3000; round++) T_BEGIN {
		string_t *msg = t_str_new(2048);
		const char *nl = test_rand() % 2 == 0 ? "\n" : "\r\n";

		str_printfa(msg, "From: MAILER-DAEMON@example.org%s", nl);
		str_printfa(msg, "Subject: failure%sMIME-Version: 1.0%s", nl,
			    nl);
		random_part(msg, 0, nl);
		decode_compare(dec, str_c(msg), str_len(msg),
			       test_rand() % 2 == 0,
			       test_rand() % 4 == 0 ? 1 + test_rand() % 12 : 0,
			       &stats);
	} T_END;
	bounceinfo_decoder_deinit(&dec);
	/* the comparison meant something: both ways were taken */
	fprintf(stderr, "# %u messages, %u blocks, %u body blocks: "
		"%u handed over, %u decoded\n", stats.messages, stats.blocks,
		stats.body_blocks, stats.fast, stats.decoded);
	assert_true(stats.body_blocks > 5000);
	/* (1029 with Dovecot 2.3.19, 977 with 2.4.1) */
	assert_true(stats.fast > 500);
	assert_true(stats.decoded > stats.fast);
}

/* One message, its body blocks counted */
static void
decode_one(const char *msg, unsigned int *fast_r, unsigned int *decoded_r)
{
	struct bounceinfo_decoder *dec = bounceinfo_decoder_init();
	struct decode_stats stats;

	i_zero(&stats);
	decode_compare(dec, msg, strlen(msg), FALSE, 0, &stats);
	bounceinfo_decoder_deinit(&dec);
	*fast_r = stats.fast;
	*decoded_r = stats.decoded;
}

#define DSN_HEAD \
	"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n" \
	"To: sender@example.com\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status;\n" \
	"\tboundary=\"BND\"\n" \
	"\n" \
	"This is a MIME-encapsulated message.\n"

#define DSN_STATUS \
	"\n--BND\n" \
	"Content-Type: message/delivery-status\n" \
	"\n" \
	"Reporting-MTA: dns; mx.example.org\n" \
	"\n" \
	"Final-Recipient: rfc822; nobody@example.net\n" \
	"Action: failed\n" \
	"Status: 5.1.1\n" \
	"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: user unknown\n"

#define DSN_TAIL \
	"\n--BND\n" \
	"Content-Type: text/rfc822-headers\n" \
	"\n" \
	"From: sender@example.com\n" \
	"To: nobody@example.net\n" \
	"Subject: hello\n" \
	"Message-ID: <orig.1@example.com>\n" \
	"\n--BND--\n"

static void test_decode_blocks(void **state)
{
	unsigned int fast, decoded;

	(void)state;
	/* plain ASCII text and report: handed over as they are */
	decode_one(DSN_HEAD
		   "\n--BND\n"
		   "Content-Type: text/plain; charset=us-ascii\n"
		   "\n"
		   "I'm sorry to have to inform you that your message could\n"
		   "not be delivered to one or more recipients.\n"
		   DSN_STATUS DSN_TAIL, &fast, &decoded);
	assert_true(fast >= 3);

	/* invalid UTF-8, NUL bytes and Latin-1 text in a US-ASCII part:
	   decoded (U+FFFD), the same bytes either way */
	decode_one(DSN_HEAD
		   "\n--BND\n"
		   "Content-Type: text/plain; charset=us-ascii\n"
		   "\n"
		   "Ihre Nachricht an M\xfcller konnte nicht zugestellt "
		   "werden:\n\xc3\x28 \xa0\xa1 nul\x00here \xed\xa0\x80\n"
		   DSN_STATUS DSN_TAIL, &fast, &decoded);
	assert_true(decoded >= 1);

	/* a character cut by the end of its part, then a quoted-printable
	   part, then 7bit parts again */
	decode_one(DSN_HEAD
		   "\n--BND\n"
		   "Content-Type: text/plain; charset=utf-8\n"
		   "Content-Transfer-Encoding: 8bit\n"
		   "\n"
		   "Zustellung fehlgeschlagen \xe2\x82"
		   "\n--BND\n"
		   "Content-Type: text/plain; charset=utf-8\n"
		   "Content-Transfer-Encoding: quoted-printable\n"
		   "\n"
		   "D=C3=A9livrance impossible =E2=82\n"
		   DSN_STATUS DSN_TAIL, &fast, &decoded);
	assert_true(decoded >= 2);
	assert_true(fast >= 1);
}

/* Every result field, for one message */
static const char *
parse_facts(struct bounceinfo *bi, const char *msg, size_t len)
{
	struct bounceinfo_result *result;
	const char *error, *facts;
	pool_t pool = pool_alloconly_create("facts", 4096);

	assert_int_equal(bounceinfo_parse_data(bi, msg, len, pool, &result,
					       &error), 0);
	facts = result_facts(result);
	pool_unref(&pool);
	return facts;
}

static const char *
facts_both(struct bounceinfo *bi, const char *msg, size_t len)
{
	const char *fast, *plain;

	bi->plain_decode = TRUE;
	plain = parse_facts(bi, msg, len);
	bi->plain_decode = FALSE;
	fast = parse_facts(bi, msg, len);
	if (strcmp(fast, plain) != 0) {
		fprintf(stderr, "fast:  %s\nplain: %s\n", fast, plain);
		fail();
	}
	return fast;
}

/* 8-bit text and a NUL in a US-ASCII text part */
static const char msg_latin1[] = DSN_HEAD
	"\n--BND\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"Delivery to M\xfcller failed.\n"
	"<nobody@example.net>: host mx.example.net said: 550 5.1.1 "
	"M\xfcller\x00 unknown\n"
	DSN_STATUS
	"Diagnostic-Code: smtp; 550 5.1.1 M\xfcller \xc3\x28 unknown\n"
	DSN_TAIL;

/* a plain-text bounce (no MIME) in UTF-8 with a broken character */
static const char msg_plain_utf8[] =
	"From: MAILER-DAEMON@mx.example.org\n"
	"Subject: Mail delivery failed\n"
	"\n"
	"This message was created automatically by mail delivery "
	"software.\n\n"
	"A message that you sent could not be delivered to one or "
	"more of its recipients. This is a permanent error.\n\n"
	"  j\xc3\xbcrgen@example.net\n"
	"    mailbox is full \xe2\x82 quota exceeded\n";

/* mixed parts: quoted-printable UTF-8 text, then the 7bit report */
static const char msg_mixed[] = DSN_HEAD
	"\n--BND\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Die Nachricht konnte nicht zugestellt werden: Postfach "
	"=C3=BCberf=C3=BCllt=E2=82\n"
	DSN_STATUS DSN_TAIL;

static void test_decode_facts(void **state)
{
	struct bounceinfo *bi = *state;
	const char *facts;

	facts = facts_both(bi, msg_latin1, sizeof(msg_latin1) - 1);
	assert_non_null(strstr(facts, "nobody@example.net"));
	assert_non_null(strstr(facts, "5.1.1"));
	assert_non_null(strstr(facts, "<orig.1@example.com>"));
	/* U+FFFD where the decoder put it */
	assert_non_null(strstr(facts, "\xef\xbf\xbd"));

	facts = facts_both(bi, msg_plain_utf8, sizeof(msg_plain_utf8) - 1);
	assert_non_null(strstr(facts, "j\xc3\xbcrgen@example.net"));

	facts = facts_both(bi, msg_mixed, sizeof(msg_mixed) - 1);
	assert_non_null(strstr(facts, "nobody@example.net"));
}

static void
facts_compare_dir(struct bounceinfo *bi, const char *dir,
		  unsigned int *count)
{
	struct dirent *d;
	DIR *dirp = opendir(dir);

	assert_non_null(dirp);
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		T_BEGIN {
			const char *path = t_strconcat(dir, "/", d->d_name,
						       NULL);
			struct istream *input;
			const unsigned char *data;
			size_t size;

			if (d->d_type == DT_DIR) {
				facts_compare_dir(bi, path, count);
			} else if (bi_str_ends_with(d->d_name, ".eml")) {
				input = i_stream_create_file(path, SIZE_MAX);
				assert_true(i_stream_read_more(input, &data,
							       &size) >= 0);
				while (i_stream_read(input) > 0) ;
				data = i_stream_get_data(input, &size);
				(void)facts_both(bi, (const char *)data,
						 size);
				i_stream_unref(&input);
				(*count)++;
			}
		} T_END;
	}
	(void)closedir(dirp);
}

/* The messages of the repository give the same facts both ways */
static void test_decode_samples(void **state)
{
	struct bounceinfo *bi = *state;
	unsigned int count = 0;

	facts_compare_dir(bi, BOUNCEINFO_TEST_DATADIR "/tests/samples",
			  &count);
	facts_compare_dir(bi, BOUNCEINFO_TEST_DATADIR "/tests/data", &count);
	facts_compare_dir(bi, BOUNCEINFO_TEST_DATADIR "/tests/sieve/messages",
			  &count);
	assert_true(count > 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_decode_blocks),
		cmocka_unit_test(test_decode_facts),
		cmocka_unit_test(test_decode_samples),
	};

	return cmocka_run_group_tests(tests, test_group_setup,
				      test_group_teardown);
}
