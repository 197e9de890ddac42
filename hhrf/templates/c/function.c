/* A fezz function in C: GET answers "hello from C at <path>"; any other method gets 405.
 * ./build.sh builds the library hhrf loads, ./test.sh calls it through `hhrf invoke`,
 * ./deploy.sh installs it (see README.md). The C API is spec/fezz.h (spec/ABI.md). */
#include <stdio.h>
#include <string.h>

#include "fezz.h"

static FezzResult add_header(FezzResponse *response, const char *name, const char *value) {
    return fezz_response_add_header(response, name, strlen(name), (const uint8_t *)value,
                                    strlen(value));
}

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    FezzStr method = fezz_request_method(request);
    FezzStr path = fezz_request_path(request);
    bool is_get = method.len == 3 && memcmp(method.data, "GET", 3) == 0;
    /* What a function writes to stderr goes to hhrf's log; `hhrf invoke` shows it. */
    fprintf(stderr, "handling %.*s %.*s\n", (int)method.len, method.data, (int)path.len,
            path.data);

    char text[512];
    int len = is_get ? snprintf(text, sizeof text, "hello from C at %.*s\n", (int)path.len,
                                path.data)
                     : snprintf(text, sizeof text, "only GET here\n");
    if (len < 0 || (size_t)len >= sizeof text) {
        len = (int)sizeof text - 1; /* a very long path is cut short */
    }

    FezzResponse *response = NULL;
    if ((result = fezz_response_new(is_get ? 200 : 405, &response)) == FEZZ_RESULT_OK &&
        (result = add_header(response, "content-type", "text/plain; charset=utf-8")) ==
            FEZZ_RESULT_OK &&
        (is_get || (result = add_header(response, "allow", "GET")) == FEZZ_RESULT_OK) &&
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
