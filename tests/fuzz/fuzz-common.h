#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

struct bounceinfo;
struct bounceinfo_result;

/* libFuzzer entry point, implemented by each harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lib_init() once per process; registered to run lib_deinit() at exit so
   LeakSanitizer sees Dovecot's own memory released. */
void fuzz_lib_init(void);

/* The shipped rules from the source tree (or $BOUNCEINFO_DATADIR), loaded
   once per process. Aborts if they fail to load: that is a bug in the
   rules, not in the input. */
struct bounceinfo *fuzz_bounceinfo_get(void);

/* A pool that malloc()s every allocation separately and frees them all on
   unref, so AddressSanitizer sees exact bounds for each string the library
   hands out (alloconly pools carve many objects from one block, hiding
   overflows between them). */
pool_t fuzz_pool_create(void);

/* Touch every field of a parse result and check the invariants the API
   promises: valid UTF-8, no CR/LF or other control character in any
   field (they can reach addheader), recipients within the cap,
   explanations never NULL.
   Aborts on violation so the fuzzer records it as a crash. */
void fuzz_check_result(struct bounceinfo *bi,
		       const struct bounceinfo_result *result);

#endif
