/*
 * A function library for hhrf's resource-limit tests, one behaviour per build
 * (-DMODE_<NAME>), compiled by hhrf/tests/limits.rs with `cc -shared -fPIC`:
 *
 * - MODE_HOG: asks malloc for 1 GiB; when that fails (as it must under a lower
 *   limits.memory_bytes) it fails the call with the fezz-error
 *   {code: "out-of-memory", message: "malloc failed"}; when it succeeds it answers 200.
 * - MODE_SPIN: burns CPU forever (limits.cpu_seconds ends it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct FezzBuffer {
    uint8_t *data;
    size_t len;
    size_t capacity;
} FezzBuffer;

static FezzBuffer owned(const void *bytes, size_t len) {
    FezzBuffer buffer = {malloc(len), len, len};
    if (buffer.data == NULL) {
        FezzBuffer none = {NULL, 0, 0};
        return none;
    }
    memcpy(buffer.data, bytes, len);
    return buffer;
}

/* {0: 2, 1: 200}: an empty 200 response. */
static const uint8_t OK_RESPONSE[] = {0xa2, 0x00, 0x02, 0x01, 0x18, 0xc8};
/* {0: "out-of-memory", 1: "malloc failed"} (unused by MODE_SPIN) */
__attribute__((unused)) static const uint8_t OUT_OF_MEMORY[] = {0xa2, 0x00, 0x6d, 'o', 'u', 't', '-', 'o', 'f', '-', 'm',
                                        'e', 'm', 'o', 'r', 'y', 0x01, 0x6d, 'm', 'a', 'l', 'l',
                                        'o', 'c', ' ', 'f', 'a', 'i', 'l', 'e', 'd'};

uint32_t fezz_abi_version(void) { return 2; }

int32_t fezz_handle_v2(const uint8_t *request, size_t request_len, FezzBuffer *response) {
    (void)request;
    (void)request_len;
#if defined(MODE_HOG)
    volatile uint8_t *block = malloc((size_t)1 << 30);
    if (block == NULL) {
        *response = owned(OUT_OF_MEMORY, sizeof OUT_OF_MEMORY);
        return 3; /* FEZZ_RESULT_FUNCTION_FAILED */
    }
    block[0] = 1;
    free((void *)block);
#elif defined(MODE_SPIN)
    volatile uint64_t counter = 0; /* then never answers */
    for (;;) {
        counter++;
    }
#endif
    *response = owned(OK_RESPONSE, sizeof OK_RESPONSE);
    return 0;
}

void fezz_free_v2(FezzBuffer response) { free(response.data); }
