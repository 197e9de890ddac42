/*
 * errors.c: the failure paths of the codec C API, as spec/ABI.md states them: NULL arguments,
 * FEZZ_RESULT_OUT_OF_RANGE, invalid values, limits, out-parameters left alone on failure,
 * empty views that are never NULL, *_free of NULL and of an all-zero buffer, and
 * fezz_result_name. Also encodes a fezz-error for abi/tests/c_api.rs to decode.
 *
 * Usage: errors REQUEST-FILE ERROR-FILE
 *   REQUEST-FILE: a valid request with exactly one header, `x-only: 1`, no query, an empty
 *   body, an empty function id and no optional context field.
 *   ERROR-FILE: receives fezz_error_encode("c-error", "from C").
 * Prints each failed check on stderr; exits 0 if all pass, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fezz.h"

static int failures;

#define CHECK(condition)                                                                      \
    do {                                                                                      \
        if (!(condition)) {                                                                   \
            fprintf(stderr, "errors.c:%d: check failed: %s\n", __LINE__, #condition);         \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

#define CHECK_RESULT(call, expected)                                                          \
    do {                                                                                      \
        FezzResult result_ = (call);                                                          \
        if (result_ != (expected)) {                                                          \
            fprintf(stderr, "errors.c:%d: %s returned %s (%d), expected %s\n", __LINE__,      \
                    #call, fezz_result_name(result_), (int)result_, #expected);               \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    unsigned char *data = malloc(1024 * 1024);
    if (file == NULL || data == NULL) {
        perror(path);
        exit(1);
    }
    *len = fread(data, 1, 1024 * 1024, file);
    fclose(file);
    return data;
}

static void check_decode(const unsigned char *data, size_t len) {
    FezzRequest *request = (FezzRequest *)&failures; /* a sentinel that must stay untouched */
    FezzRequest *const sentinel = request;
    CHECK_RESULT(fezz_request_decode(data, len, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_request_decode(NULL, len, &request), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_request_decode(NULL, 0, &request), FEZZ_RESULT_REQUEST_INVALID);
    CHECK_RESULT(fezz_request_decode(data, len - 1, &request), FEZZ_RESULT_REQUEST_INVALID);
    CHECK(request == sentinel);
}

static void check_empty_str(FezzStr text) {
    CHECK(text.data != NULL);
    CHECK(text.len == 0);
}

static void check_request(const FezzRequest *request) {
    FezzStr name = {"untouched", 9};
    FezzBytes value = {(const uint8_t *)"untouched", 9};
    FezzStr text = {"untouched", 9};
    uint64_t deadline = 42;

    CHECK(fezz_request_header_count(request) == 1);
    CHECK_RESULT(fezz_request_header_at(request, 1, &name, &value), FEZZ_RESULT_OUT_OF_RANGE);
    CHECK_RESULT(fezz_request_header_at(request, (size_t)-1, &name, &value),
                 FEZZ_RESULT_OUT_OF_RANGE);
    CHECK_RESULT(fezz_request_header_at(NULL, 0, &name, &value), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_request_header_at(request, 0, NULL, &value), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_request_header_at(request, 0, &name, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(name.len == 9 && value.len == 9);
    CHECK_RESULT(fezz_request_header_at(request, 0, &name, &value), FEZZ_RESULT_OK);
    CHECK(name.len == 6 && memcmp(name.data, "x-only", 6) == 0);

    /* Absent optional fields: false, and the out-parameter is left alone. */
    CHECK(!fezz_request_query(request, &text));
    CHECK(!fezz_request_client_address(request, &text));
    CHECK(!fezz_request_scheme(request, &text));
    CHECK(!fezz_request_host(request, &text));
    CHECK(!fezz_request_deadline_unix_ms(request, &deadline));
    CHECK(!fezz_request_header_find(request, "x-missing", 9, &value));
    CHECK(text.len == 9 && deadline == 42 && value.len == 1);
    /* NULL out-parameters: false, nothing written. */
    CHECK(!fezz_request_query(request, NULL));
    CHECK(!fezz_request_header_find(request, "x-only", 6, NULL));
    CHECK(!fezz_request_header_find(request, NULL, 6, &value));

    /* Empty fields are views of length 0 whose data is still a valid pointer. */
    check_empty_str(fezz_request_function_id(request));
    CHECK(fezz_request_body(request).data != NULL && fezz_request_body(request).len == 0);
}

static void check_null_request(void) {
    FezzStr text = {"untouched", 9};
    check_empty_str(fezz_request_method(NULL));
    check_empty_str(fezz_request_path(NULL));
    check_empty_str(fezz_request_function_id(NULL));
    check_empty_str(fezz_request_function_version(NULL));
    check_empty_str(fezz_request_id(NULL));
    CHECK(fezz_request_body(NULL).data != NULL && fezz_request_body(NULL).len == 0);
    CHECK(fezz_request_header_count(NULL) == 0);
    CHECK(!fezz_request_query(NULL, &text));
    CHECK(!fezz_request_host(NULL, &text));
    CHECK(text.len == 9);
    fezz_request_free(NULL);
}

static void check_response(void) {
    static char big[8 * 1024 * 1024 + 1];
    FezzResponse *response = NULL;
    FezzResponse *const sentinel = (FezzResponse *)&failures;
    FezzBuffer buffer = {NULL, 0, 0};
    FezzBuffer zero = {NULL, 0, 0};
    size_t i;

    response = sentinel;
    CHECK_RESULT(fezz_response_new(99, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_new(600, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_new(0, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK(response == sentinel);
    CHECK_RESULT(fezz_response_new(200, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    /* Informational statuses are not final responses: 200 is the lowest. */
    CHECK_RESULT(fezz_response_new(100, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_new(101, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_new(199, &response), FEZZ_RESULT_INVALID_VALUE);
    CHECK(response == sentinel);
    CHECK_RESULT(fezz_response_new(200, &response), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_set_status(response, 101), FEZZ_RESULT_INVALID_VALUE);
    CHECK(fezz_response_status(response) == 200);
    fezz_response_free(response);
    CHECK_RESULT(fezz_response_new(599, &response), FEZZ_RESULT_OK);

    /* Header names: an HTTP token of 1 to 256 bytes. Values: no control byte but HTAB; 16 KiB. */
    CHECK_RESULT(fezz_response_add_header(NULL, "a", 1, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_add_header(response, NULL, 1, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, NULL, 1), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_add_header(response, "", 0, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header(response, "a b", 3, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header(response, "a:", 2, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header(response, "\xff", 1, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)"b\r\nc", 4),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)"b\0c", 3),
                 FEZZ_RESULT_INVALID_VALUE);
    for (i = 0; i < 0x20; i++) {
        uint8_t value[2] = {'b', (uint8_t)i};
        CHECK_RESULT(fezz_response_add_header(response, "a", 1, value, 2),
                     i == '\t' ? FEZZ_RESULT_OK : FEZZ_RESULT_INVALID_VALUE);
    }
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)"b\x7f", 2),
                 FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header_cstr(response, "a", "\x1b[31mred\x1b[0m"),
                 FEZZ_RESULT_INVALID_VALUE);
    /* HTAB, SP, visible ASCII and obs-text (0x80-0xff) are what a value may hold. */
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)"\t a~\x80\xff", 6),
                 FEZZ_RESULT_OK);
    memset(big, 'a', sizeof big);
    CHECK_RESULT(fezz_response_add_header(response, big, 256, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_add_header(response, big, 257, (const uint8_t *)"b", 1),
                 FEZZ_RESULT_TOO_LARGE);
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)big, 16 * 1024),
                 FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_add_header(response, "a", 1, (const uint8_t *)big, 16 * 1024 + 1),
                 FEZZ_RESULT_TOO_LARGE);
    /* Four fields so far (two of them the tab and the edges above); 252 more fill the list of
     * 256. */
    for (i = 4; i < 256; i++) {
        CHECK_RESULT(fezz_response_add_header(response, "x", 1, NULL, 0), FEZZ_RESULT_OK);
    }
    CHECK_RESULT(fezz_response_add_header(response, "x", 1, NULL, 0), FEZZ_RESULT_TOO_LARGE);

    /* Bodies up to 8 MiB. */
    CHECK_RESULT(fezz_response_set_body(NULL, NULL, 0), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_body(response, NULL, 1), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_body(response, (const uint8_t *)big, sizeof big),
                 FEZZ_RESULT_TOO_LARGE);
    CHECK_RESULT(fezz_response_set_body(response, (const uint8_t *)big, sizeof big - 1),
                 FEZZ_RESULT_OK);

    /* Errors: UTF-8, each text at most 16 KiB. */
    CHECK_RESULT(fezz_response_set_error(NULL, "c", 1, "m", 1), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_error(response, NULL, 1, "m", 1), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_error(response, "c", 1, "\xc3", 1), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_set_error(response, big, 16 * 1024 + 1, "m", 1),
                 FEZZ_RESULT_TOO_LARGE);

    CHECK_RESULT(fezz_response_encode(NULL, &buffer), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_encode(response, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(buffer.data == NULL);
    /* 256 headers of up to 16 KiB plus an 8 MiB body still fit in 16 MiB. */
    CHECK_RESULT(fezz_response_encode(response, &buffer), FEZZ_RESULT_OK);
    CHECK(buffer.data != NULL && buffer.len > sizeof big);
    fezz_buffer_free(buffer);
    fezz_buffer_free(zero);
    fezz_response_free(response);
    fezz_response_free(NULL);
}

static void check_result_names(void) {
    CHECK(strcmp(fezz_result_name(FEZZ_RESULT_OK), "FEZZ_RESULT_OK") == 0);
    CHECK(strcmp(fezz_result_name(FEZZ_RESULT_OUT_OF_RANGE), "FEZZ_RESULT_OUT_OF_RANGE") == 0);
    CHECK(strcmp(fezz_result_name(9), "FEZZ_RESULT_UNKNOWN") == 0);
    CHECK(strcmp(fezz_result_name(-1), "FEZZ_RESULT_UNKNOWN") == 0);
}

static void check_error_encode(const char *path) {
    FezzBuffer buffer = {NULL, 0, 0};
    FILE *out;
    CHECK_RESULT(fezz_error_encode(NULL, 1, "m", 1, &buffer), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_error_encode("c", 1, "m", 1, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_error_encode("\xff", 1, "m", 1, &buffer), FEZZ_RESULT_INVALID_VALUE);
    CHECK(buffer.data == NULL);
    CHECK_RESULT(fezz_error_encode("c-error", 7, "from C", 6, &buffer), FEZZ_RESULT_OK);
    out = fopen(path, "wb");
    if (out == NULL || fwrite(buffer.data, 1, buffer.len, out) != buffer.len || fclose(out) != 0) {
        perror(path);
        failures++;
    }
    fezz_buffer_free(buffer);
}

int main(int argc, char **argv) {
    FezzRequest *request = NULL;
    unsigned char *data;
    size_t len;

    if (argc != 3) {
        fprintf(stderr, "usage: errors REQUEST-FILE ERROR-FILE\n");
        return 1;
    }
    data = read_file(argv[1], &len);
    check_decode(data, len);
    CHECK_RESULT(fezz_request_decode(data, len, &request), FEZZ_RESULT_OK);
    free(data);
    if (request != NULL) {
        check_request(request);
    }
    fezz_request_free(request);
    check_null_request();
    check_response();
    check_result_names();
    check_error_encode(argv[2]);
    if (failures != 0) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    return 0;
}
