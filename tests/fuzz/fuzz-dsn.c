/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* DSN field parser: the input becomes the message/delivery-status part of
   an otherwise well-formed multipart/report, so every mutation lands in
   the per-message and per-recipient field parsing (RFC 3464) instead of
   being rejected early by kind detection. The first input byte picks the
   wrapper variant. */

#include "lib.h"
#include "str.h"
#include "bounceinfo.h"
#include "fuzz-common.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const dsn_content_types[] = {
	"message/delivery-status",
	"message/global-delivery-status",
	"message/delivery-status; charset=utf-8",
	"text/plain",
};
static const char *const dsn_transfer_encodings[] = {
	NULL, "7bit", "8bit", "base64", "quoted-printable", "binary",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounceinfo *bi = fuzz_bounceinfo_get();
	struct bounceinfo_result *result;
	const char *error, *cte;
	unsigned char variant = 0;
	pool_t pool;
	string_t *msg;

	if (size > 0) {
		variant = data[0];
		data++;
		size--;
	}
	cte = dsn_transfer_encodings[(variant >> 2) %
				     N_ELEMENTS(dsn_transfer_encodings)];

	msg = str_new(default_pool, size + 1024);
	str_append(msg,
		"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
		"To: sender@example.com\r\n"
		"Subject: Undelivered Mail Returned to Sender\r\n"
		"Message-ID: <fuzz.dsn@mx.example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status;\r\n"
		"\tboundary=\"=_fuzz_boundary_=\"\r\n"
		"\r\n"
		"--=_fuzz_boundary_=\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n"
		"This is the mail system at host mx.example.org.\r\n"
		"\r\n"
		"--=_fuzz_boundary_=\r\n");
	str_printfa(msg, "Content-Type: %s\r\n",
		    dsn_content_types[variant % N_ELEMENTS(dsn_content_types)]);
	if (cte != NULL)
		str_printfa(msg, "Content-Transfer-Encoding: %s\r\n", cte);
	str_append(msg, "\r\n");
	str_append_data(msg, data, size);
	str_append(msg,
		"\r\n--=_fuzz_boundary_=\r\n"
		"Content-Type: text/rfc822-headers\r\n"
		"\r\n"
		"Message-ID: <original@example.com>\r\n"
		"Subject: hello\r\n"
		"\r\n"
		"--=_fuzz_boundary_=--\r\n");

	pool = fuzz_pool_create();
	T_BEGIN {
		if (bounceinfo_parse_data(bi, str_data(msg), str_len(msg),
					  pool, &result, &error) < 0) {
			fprintf(stderr, "fuzz: parse_data failed: %s\n", error);
			abort();
		}
		fuzz_check_result(bi, result);
	} T_END;
	pool_unref(&pool);
	str_free(&msg);
	return 0;
}
