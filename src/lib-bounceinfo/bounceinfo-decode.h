#ifndef BOUNCEINFO_DECODE_H
#define BOUNCEINFO_DECODE_H

/* lib-mail's message decoder (transfer encodings and charsets to UTF-8),
   not run on body blocks whose decoded form would be the block itself:
   7bit/8bit/binary parts in UTF-8 or US-ASCII (or no charset) that are
   valid UTF-8. What the decoder would have done is followed from the
   blocks it is given (its part, transfer encoding, charset translation
   and whether it holds the start of a character from an earlier block),
   so that the output is byte for byte the decoder's own. */

#include "message-parser.h"

struct bounceinfo_decoder;

struct bounceinfo_decoder *bounceinfo_decoder_init(void);
void bounceinfo_decoder_deinit(struct bounceinfo_decoder **dec);

/* Before the first block of a message. The lib-mail decoder is kept from
   one message to the next when it holds nothing of the last one; plain:
   give every block to the decoder (tests compare both ways). */
void bounceinfo_decoder_begin(struct bounceinfo_decoder *dec, bool plain);

/* Like message_decoder_decode_next_block(); output points into input,
   the decoder's buffers or dec's own, valid until the next call. */
bool bounceinfo_decoder_next(struct bounceinfo_decoder *dec,
			     struct message_block *input,
			     struct message_block *output);

/* Blocks handed over as they were / given to lib-mail's decoder */
void bounceinfo_decoder_get_counts(const struct bounceinfo_decoder *dec,
				   unsigned int *fast_r, unsigned int *decoded_r);

#endif
