/* hello.c: the smallest useful fezz function in C, on the helpers of the codec C API.
 *
 * GET /...?name=NAME answers "hello NAME from C at <path>" (NAME percent-decoded; repeat it
 * for more names, "world" without one; ?greeting=WORD replaces "hello") as text/plain, with
 * x-accept-count: the number of Accept header fields. Any other method gets 405 with Allow: GET. Build and test with ./build.sh
 * (see README.md); hello_test.c is its unit test. */
#include <stdio.h>
#include <string.h>

#include "fezz.h"

/* Appends the `len` bytes at `data` to the text being built, cutting it short if it is full. */
static void append(char *text, size_t size, size_t *len, const void *data, size_t data_len) {
    size_t room = size - 1 - *len;
    size_t n = data_len < room ? data_len : room;
    memcpy(text + *len, data, n);
    *len += n;
    text[*len] = '\0';
}

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    bool is_get = fezz_str_equals(fezz_request_method(request), "GET");
    FezzStr path = fezz_request_path(request);

    /* Every value of the query parameter `name`, decoded, and every Accept header. */
    char text[512] = "";
    size_t len = 0, cursor = 0, accepts = 0, names = 0;
    FezzBytes value;
    /* ?greeting=WORD replaces "hello" (the first one, if repeated). */
    if (fezz_request_query_param_find(request, "greeting", 8, &value)) {
        append(text, sizeof text, &len, value.data, value.len);
    } else {
        append(text, sizeof text, &len, "hello", 5);
    }
    while (fezz_request_query_param_next(request, "name", 4, &cursor, &value)) {
        const char *separator = names++ == 0 ? " " : ", ";
        append(text, sizeof text, &len, separator, strlen(separator));
        append(text, sizeof text, &len, value.data, value.len);
    }
    if (names == 0) {
        append(text, sizeof text, &len, " world", 6);
    }
    append(text, sizeof text, &len, " from C at ", 11);
    append(text, sizeof text, &len, path.data, path.len);
    append(text, sizeof text, &len, "\n", 1);
    cursor = 0;
    while (fezz_request_header_next(request, "accept", 6, &cursor, &value)) {
        accepts++;
    }
    char count[32];
    snprintf(count, sizeof count, "%zu", accepts);

    /* The response is created first; the status is decided afterwards. */
    FezzResponse *response = NULL;
    if ((result = fezz_response_new(200, &response)) == FEZZ_RESULT_OK &&
        (result = fezz_response_add_header_cstr(response, "content-type",
                                                "text/plain; charset=utf-8")) == FEZZ_RESULT_OK &&
        (result = fezz_response_add_header_cstr(response, "x-accept-count", count)) ==
            FEZZ_RESULT_OK) {
        if (is_get) {
            result = fezz_response_set_body(response, (const uint8_t *)text, len);
        } else if ((result = fezz_response_set_status(response, 405)) == FEZZ_RESULT_OK &&
                   (result = fezz_response_add_header_cstr(response, "allow", "GET")) ==
                       FEZZ_RESULT_OK) {
            result = fezz_response_set_body_cstr(response, "only GET here\n");
        }
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    fezz_request_free(request);
    return result;
}

uint32_t fezz_abi_version(void) { return FEZZ_ABI_VERSION; }

void fezz_free_v2(FezzBuffer buffer) { fezz_buffer_free(buffer); }
