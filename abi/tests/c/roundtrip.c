/*
 * roundtrip.c: reads every field of a request through the codec C API and answers with a
 * response that reports each of them, so that abi/tests/c_api.rs can check them all.
 *
 * Usage: roundtrip REQUEST-FILE RESPONSE-FILE
 *
 * The response: status 201; then the headers
 *   x-method, x-path, x-query (or x-no-query: 1), x-function-id, x-function-version,
 *   x-request-id, x-deadline (or x-no-deadline: 1), x-client-address, x-scheme and x-host
 *   (each only when present), x-header-count, every request header in order (name and value
 *   as received), x-found (the value of the first header named "X-Custom", found
 *   case-insensitively, or x-not-found: 1);
 * the request body as its body; and the error {code: "c-roundtrip", message: "done"}.
 * Exits 0 on success, 1 on a usage or I/O error, 2 if a fezz call fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fezz.h"

static FezzResponse *response;

static void fail(const char *what, FezzResult result) {
    fprintf(stderr, "roundtrip: %s returned %s (%d)\n", what, fezz_result_name(result), (int)result);
    exit(2);
}

static void add(const char *name, const void *value, size_t value_len) {
    FezzResult result = fezz_response_add_header(response, name, strlen(name), value, value_len);
    if (result != FEZZ_RESULT_OK) {
        fail(name, result);
    }
}

static void add_str(const char *name, FezzStr value) {
    add(name, value.data, value.len);
}

static void add_optional(const char *name, bool present, FezzStr value) {
    if (present) {
        add_str(name, value);
    }
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    unsigned char *data = malloc(16 * 1024 * 1024 + 1);
    if (file == NULL || data == NULL) {
        perror(path);
        exit(1);
    }
    *len = fread(data, 1, 16 * 1024 * 1024 + 1, file);
    fclose(file);
    return data;
}

int main(int argc, char **argv) {
    FezzRequest *request = NULL;
    FezzBuffer encoded = {NULL, 0, 0};
    FezzStr text, name;
    FezzBytes bytes;
    uint64_t deadline;
    char number[32];
    size_t len, count, i;
    unsigned char *data;
    FezzResult result;
    FILE *out;

    if (argc != 3) {
        fprintf(stderr, "usage: roundtrip REQUEST-FILE RESPONSE-FILE\n");
        return 1;
    }
    data = read_file(argv[1], &len);
    result = fezz_request_decode(data, len, &request);
    free(data); /* the request owns copies; the input bytes may go */
    if (result != FEZZ_RESULT_OK) {
        fail("fezz_request_decode", result);
    }
    result = fezz_response_new(201, &response);
    if (result != FEZZ_RESULT_OK) {
        fail("fezz_response_new", result);
    }

    add_str("x-method", fezz_request_method(request));
    add_str("x-path", fezz_request_path(request));
    if (fezz_request_query(request, &text)) {
        add_str("x-query", text);
    } else {
        add("x-no-query", "1", 1);
    }
    add_str("x-function-id", fezz_request_function_id(request));
    add_str("x-function-version", fezz_request_function_version(request));
    add_str("x-request-id", fezz_request_id(request));
    if (fezz_request_deadline_unix_ms(request, &deadline)) {
        snprintf(number, sizeof number, "%" PRIu64, deadline);
        add("x-deadline", number, strlen(number));
    } else {
        add("x-no-deadline", "1", 1);
    }
    add_optional("x-client-address", fezz_request_client_address(request, &text), text);
    add_optional("x-scheme", fezz_request_scheme(request, &text), text);
    add_optional("x-host", fezz_request_host(request, &text), text);

    count = fezz_request_header_count(request);
    snprintf(number, sizeof number, "%lu", (unsigned long)count);
    add("x-header-count", number, strlen(number));
    for (i = 0; i < count; i++) {
        result = fezz_request_header_at(request, i, &name, &bytes);
        if (result != FEZZ_RESULT_OK) {
            fail("fezz_request_header_at", result);
        }
        /* The name is not NUL-terminated: add it with its length. */
        result = fezz_response_add_header(response, name.data, name.len, bytes.data, bytes.len);
        if (result != FEZZ_RESULT_OK) {
            fail("fezz_response_add_header (echo)", result);
        }
    }
    if (fezz_request_header_find(request, "X-Custom", strlen("X-Custom"), &bytes)) {
        add("x-found", bytes.data, bytes.len);
    } else {
        add("x-not-found", "1", 1);
    }

    bytes = fezz_request_body(request);
    result = fezz_response_set_body(response, bytes.data, bytes.len);
    if (result != FEZZ_RESULT_OK) {
        fail("fezz_response_set_body", result);
    }
    result = fezz_response_set_error(response, "c-roundtrip", strlen("c-roundtrip"), "done", 4);
    if (result != FEZZ_RESULT_OK) {
        fail("fezz_response_set_error", result);
    }
    result = fezz_response_encode(response, &encoded);
    if (result != FEZZ_RESULT_OK) {
        fail("fezz_response_encode", result);
    }
    fezz_response_free(response);
    fezz_request_free(request);

    out = fopen(argv[2], "wb");
    if (out == NULL || fwrite(encoded.data, 1, encoded.len, out) != encoded.len || fclose(out) != 0) {
        perror(argv[2]);
        return 1;
    }
    fezz_buffer_free(encoded);
    return 0;
}
