/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* lib-mail's message decoder, skipped where its output would be its input.

   For a body block of a 7bit/8bit/binary part whose charset is UTF-8 or
   US-ASCII (or absent), the decoder hands the bytes to lib-charset's
   UTF-8 "translation": it keeps an incomplete character at the block's
   end for the next block (CHARSET_MAX_PENDING_BUF_SIZE), replaces
   invalid sequences with U+FFFD and copies the rest. A block that is
   valid UTF-8 while the decoder holds nothing comes out as it went in;
   that block is not given to the decoder (one validation pass instead of
   three, no copy). Every other block is, so the output is the decoder's
   own byte for byte.

   The decoder's state is not visible, so it is followed here from the
   blocks it is given, as lib-mail's message-decoder.c keeps it (the same
   in Dovecot 2.3 and 2.4): a new part resets the transfer encoding to
   7bit and forgets the charset; Content-Type (the first one of a part)
   gives the charset and Content-Transfer-Encoding the encoding; the empty
   block at the end of a part's header selects the charset translation.
   Whether the decoder holds part of a character is known after a block
   it validated from the start; after a block of another kind (base64,
   quoted-printable, another charset) it is not, until a block of ASCII
   bytes shows it cannot (resync()). */

#include "lib.h"
#include "buffer.h"
#include "str.h"
#include "unichar.h"
#include "charset-utf8.h"
#include "rfc822-parser.h"
#include "rfc2231-parser.h"
#include "message-parser.h"
#include "message-decoder.h"
#include "bounceinfo-decode.h"

/* A character held from one block is completed with up to this many
   bytes of the next block in one go (message-decoder.c) */
#define DECODER_TRANSLATION_BYTES (CHARSET_MAX_PENDING_BUF_SIZE + 1)
/* ASCII bytes in a row after which no character, counted by its lead byte
   (at most 6 bytes), can still be open */
#define ASCII_RUN_CLOSES 5
/* a joined block buffer that grew past this is freed before the next
   message */
#define DECODER_JOINED_KEEP (64 * 1024)

struct bounceinfo_decoder {
	struct message_decoder_context *decoder;
	/* a block given to the decoder in two pieces, joined again */
	buffer_t *joined;

	/* the decoder's state, as followed from the blocks it was given */
	struct message_part *part;
	enum message_cte cte;
	bool content_type_seen;
	/* the part's charset is UTF-8 or US-ASCII, or it has none */
	bool charset_utf8;
	/* the translation selected last is UTF-8 validation */
	bool trans_utf8;
	/* the decoder holds no incomplete character */
	bool nothing_pending;

	bool plain;
	unsigned int fast_count, decoded_count;
};

struct bounceinfo_decoder *bounceinfo_decoder_init(void)
{
	return i_new(struct bounceinfo_decoder, 1);
}

void bounceinfo_decoder_deinit(struct bounceinfo_decoder **_dec)
{
	struct bounceinfo_decoder *dec = *_dec;

	*_dec = NULL;
	if (dec->decoder != NULL)
		message_decoder_deinit(&dec->decoder);
	if (dec->joined != NULL)
		buffer_free(&dec->joined);
	i_free(dec);
}

void bounceinfo_decoder_begin(struct bounceinfo_decoder *dec, bool plain)
{
	if (dec->decoder != NULL && !dec->nothing_pending) {
		/* the last message may have left part of a character in
		   it, and lib-mail has no call that drops it */
		message_decoder_deinit(&dec->decoder);
	}
	if (dec->joined != NULL &&
	    buffer_get_size(dec->joined) > DECODER_JOINED_KEEP) {
		/* (a block can be most of a large message) */
		buffer_free(&dec->joined);
	}
	if (dec->decoder == NULL) {
		dec->decoder = message_decoder_init(NULL, 0);
	} else {
		/* what a new part does; its part pointer may equal the
		   last message's */
		message_decoder_decode_reset(dec->decoder);
	}
	dec->part = NULL;
	dec->cte = MESSAGE_CTE_78BIT;
	dec->content_type_seen = FALSE;
	dec->charset_utf8 = TRUE;
	dec->trans_utf8 = FALSE;
	dec->nothing_pending = TRUE;
	dec->plain = plain;
}

void bounceinfo_decoder_get_counts(const struct bounceinfo_decoder *dec,
				   unsigned int *fast_r, unsigned int *decoded_r)
{
	*fast_r = dec->fast_count;
	*decoded_r = dec->decoded_count;
}

static void follow_part(struct bounceinfo_decoder *dec,
			struct message_part *part)
{
	if (part == dec->part)
		return;
	/* message_decoder_decode_reset() */
	dec->part = part;
	dec->cte = MESSAGE_CTE_78BIT;
	dec->content_type_seen = FALSE;
	dec->charset_utf8 = TRUE;
}

/* Does the value hold the word "charset" anywhere? A parameter of that
   name (also continued or extended: "charset*0", "charset*") cannot be
   written without it. */
static bool value_has_charset(const unsigned char *value, size_t len)
{
	size_t i;

	for (i = 0; i + 7 <= len; i++) {
		if ((value[i] | 0x20) == 'c' &&
		    strncasecmp((const char *)value + i, "charset", 7) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool content_type_charset_utf8(const struct message_header_line *hdr)
{
	struct rfc822_parser_context parser;
	const char *const *results;
	string_t *str;
	bool utf8 = TRUE;

	/* (multipart/... and message/... types mostly have none) */
	if (!value_has_charset(hdr->full_value, hdr->full_value_len))
		return TRUE;
	/* the decoder's reading of it: the first charset parameter */
	str = t_str_new(64);
	rfc822_parser_init(&parser, hdr->full_value, hdr->full_value_len,
			   NULL);
	rfc822_skip_lwsp(&parser);
	if (rfc822_parse_content_type(&parser, str) >= 0) {
		rfc2231_parse(&parser, &results);
		for (; *results != NULL; results += 2) {
			if (strcasecmp(results[0], "charset") == 0) {
				utf8 = charset_is_utf8(results[1]);
				break;
			}
		}
	}
	rfc822_parser_deinit(&parser);
	return utf8;
}

static void follow_header(struct bounceinfo_decoder *dec,
			  const struct message_header_line *hdr)
{
	/* the decoder waits for the whole header too */
	if (hdr->continues)
		return;
	if (hdr->name_len == 12 && strcasecmp(hdr->name, "Content-Type") == 0) {
		if (!dec->content_type_seen) {
			dec->content_type_seen = TRUE;
			T_BEGIN {
				dec->charset_utf8 =
					content_type_charset_utf8(hdr);
			} T_END;
		}
	} else if (hdr->name_len == 25 &&
		   strcasecmp(hdr->name, "Content-Transfer-Encoding") == 0) {
		T_BEGIN {
			dec->cte = message_decoder_parse_cte(hdr);
		} T_END;
	}
}

static bool decode(struct bounceinfo_decoder *dec,
		   struct message_block *input, struct message_block *output)
{
	dec->decoded_count++;
	return message_decoder_decode_next_block(dec->decoder, input, output);
}

/* The decoder validated data as UTF-8: does it hold an incomplete
   character now? */
static void follow_pending(struct bounceinfo_decoder *dec,
			   const unsigned char *data, size_t size)
{
	size_t pos, i;

	if (dec->nothing_pending) {
		/* it held nothing: it keeps what does not make up a whole
		   character at the end (counted by lead bytes) */
		(void)uni_utf8_partial_strlen_n(data, size, &pos);
		dec->nothing_pending = pos == size;
		return;
	}
	/* what it held was completed (or given up) within the first
	   DECODER_TRANSLATION_BYTES; a run of ASCII at the end closes any
	   character */
	if (size < DECODER_TRANSLATION_BYTES || size < ASCII_RUN_CLOSES)
		return;
	for (i = size - ASCII_RUN_CLOSES; i < size; i++) {
		if (data[i] >= 0x80)
			return;
	}
	dec->nothing_pending = TRUE;
}

/* The decoder may hold part of a character: give it the block only up to
   where that cannot matter any more (the held bytes are joined with at
   most DECODER_TRANSLATION_BYTES of the block, and after a run of ASCII
   bytes no character is open, so that the decoder's validation restarts
   there as it would have in one piece), and the rest as usual */
static bool resync(struct bounceinfo_decoder *dec,
		   struct message_block *input, struct message_block *output)
{
	struct message_block first, rest, out;
	unsigned int run = 0;
	size_t i, split = 0;

	for (i = 0; i < input->size; i++) {
		run = input->data[i] < 0x80 ? run + 1 : 0;
		if (run >= ASCII_RUN_CLOSES &&
		    i + 1 >= DECODER_TRANSLATION_BYTES) {
			split = i + 1;
			break;
		}
	}
	if (split == 0 || split == input->size) {
		bool ret = decode(dec, input, output);

		follow_pending(dec, input->data, input->size);
		return ret;
	}

	first = *input;
	first.size = split;
	if (!decode(dec, &first, &out))
		i_unreached();
	dec->nothing_pending = TRUE;
	if (dec->joined == NULL)
		dec->joined = buffer_create_dynamic(default_pool, 1024);
	buffer_set_used_size(dec->joined, 0);
	buffer_append(dec->joined, out.data, out.size);

	rest = *input;
	rest.data += split;
	rest.size -= split;
	if (uni_utf8_data_is_valid(rest.data, rest.size)) {
		buffer_append(dec->joined, rest.data, rest.size);
		dec->fast_count++;
	} else {
		if (!decode(dec, &rest, &out))
			i_unreached();
		follow_pending(dec, rest.data, rest.size);
		buffer_append(dec->joined, out.data, out.size);
	}
	*output = *input;
	output->hdr = NULL;
	output->data = dec->joined->data;
	output->size = dec->joined->used;
	return TRUE;
}

bool bounceinfo_decoder_next(struct bounceinfo_decoder *dec,
			     struct message_block *input,
			     struct message_block *output)
{
	bool same_part = input->part == dec->part;
	bool ret;

	follow_part(dec, input->part);
	if (input->hdr != NULL) {
		follow_header(dec, input->hdr);
		return decode(dec, input, output);
	}
	if (input->size == 0) {
		/* the end of the header: the translation is chosen (another
		   charset lib-charset does not know falls back to UTF-8 as
		   well; followed as "not UTF-8", it is simply decoded) */
		dec->trans_utf8 = dec->charset_utf8;
		return decode(dec, input, output);
	}

	if ((dec->cte != MESSAGE_CTE_78BIT && dec->cte != MESSAGE_CTE_BINARY) ||
	    !dec->trans_utf8) {
		/* base64, quoted-printable or another charset: what it
		   leaves held is not followed (an unknown encoding is not
		   decoded at all) */
		if (dec->cte != MESSAGE_CTE_UNKNOWN)
			dec->nothing_pending = FALSE;
		return decode(dec, input, output);
	}
	if (dec->plain || !same_part) {
		/* (a part the decoder has not seen yet: it resets itself) */
		ret = decode(dec, input, output);
		follow_pending(dec, input->data, input->size);
		return ret;
	}
	if (!dec->nothing_pending)
		return resync(dec, input, output);
	if (uni_utf8_data_is_valid(input->data, input->size)) {
		/* valid UTF-8 holds no incomplete character at its end
		   either: the decoder would give the block as it is */
		*output = *input;
		output->hdr = NULL;
		dec->fast_count++;
		return TRUE;
	}
	ret = decode(dec, input, output);
	follow_pending(dec, input->data, input->size);
	return ret;
}
