/* hello.c: the smallest useful fezz function in C. GET answers "hello from C at <path>";
 * any other method gets 405. Build with ./build.sh (see README.md). */
#include <stdio.h>
#include <string.h>

#include "fezz.h"

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    FezzStr method = fezz_request_method(request);
    FezzStr path = fezz_request_path(request);
    bool is_get = method.len == 3 && memcmp(method.data, "GET", 3) == 0;

    char text[512];
    int len = is_get ? snprintf(text, sizeof text, "hello from C at %.*s\n", (int)path.len, path.data)
                     : snprintf(text, sizeof text, "only GET here\n");
    if (len < 0 || (size_t)len >= sizeof text) {
        len = (int)sizeof text - 1; /* a very long path is cut short */
    }

    FezzResponse *response = NULL;
    static const char content_type[] = "text/plain; charset=utf-8";
    if ((result = fezz_response_new(is_get ? 200 : 405, &response)) == FEZZ_RESULT_OK &&
        (result = fezz_response_add_header(response, "content-type", strlen("content-type"),
                                           (const uint8_t *)content_type,
                                           strlen(content_type))) == FEZZ_RESULT_OK &&
        (is_get || (result = fezz_response_add_header(response, "allow", 5, (const uint8_t *)"GET",
                                                      3)) == FEZZ_RESULT_OK) &&
        (result = fezz_response_set_body(response, (const uint8_t *)text, (size_t)len)) ==
            FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    fezz_request_free(request);
    return result;
}

uint32_t fezz_abi_version(void) { return FEZZ_ABI_VERSION; }

void fezz_free_v2(FezzBuffer buffer) { fezz_buffer_free(buffer); }
