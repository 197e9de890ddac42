/*
 * helpers.c: the C author's helpers of the codec C API (spec/ABI.md, "Helpers", "Building
 * requests and reading responses"), tested the way a C author tests a function: this program
 * defines its own fezz_handle_v2 and fezz_free_v2, builds requests with fezz_request_new and
 * its setters, calls the handler in-process with fezz_invoke_v2 and reads what came back. It
 * also checks the NULL rules and that out-parameters are left alone on failure.
 *
 * Usage: helpers
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
            fprintf(stderr, "helpers.c:%d: check failed: %s\n", __LINE__, #condition);        \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

#define CHECK_RESULT(call, expected)                                                          \
    do {                                                                                      \
        FezzResult result_ = (call);                                                          \
        if (result_ != (expected)) {                                                          \
            fprintf(stderr, "helpers.c:%d: %s returned %s (%d), expected %s\n", __LINE__,     \
                    #call, fezz_result_name(result_), (int)result_, #expected);               \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

/* A view equals a C string (the helper under test is checked separately, by hand). */
static int bytes_are(FezzBytes bytes, const char *text) {
    return bytes.len == strlen(text) && memcmp(bytes.data, text, bytes.len) == 0;
}

/* ---- the function under test ---------------------------------------------------------- */

/*
 * GET /hello?name=NAME[&name=...]: 200 "hello NAME, NAME2" (names percent-decoded), with
 * x-accept-count: the number of accept headers, and content-type text/plain.
 * Anything else: 405 with allow: GET. The status is set after the response is created.
 * POST /fail: FEZZ_RESULT_FUNCTION_FAILED with a fezz-error. POST /garbage: FEZZ_RESULT_OK
 * with bytes that are not a response.
 */
static int free_calls;

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResponse *response = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    char body[256] = "hello";
    size_t len = strlen(body), cursor = 0, accepts = 0;
    FezzBytes value;
    char count[16];
    FezzStr method, path;
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    method = fezz_request_method(request);
    path = fezz_request_path(request);
    if (fezz_str_equals(method, "POST") && fezz_str_equals(path, "/fail")) {
        fezz_request_free(request);
        result = fezz_error_encode("c-failed", 8, "failed on purpose", 17, out);
        return result == FEZZ_RESULT_OK ? FEZZ_RESULT_FUNCTION_FAILED : result;
    }
    if (fezz_str_equals(method, "POST") && fezz_str_equals(path, "/garbage")) {
        fezz_request_free(request);
        return fezz_error_encode("not", 3, "a response", 10, out);
    }
    result = fezz_response_new(200, &response);
    if (result == FEZZ_RESULT_OK && !fezz_str_equals(method, "GET")) {
        result = fezz_response_set_status(response, 405);
        if (result == FEZZ_RESULT_OK) {
            result = fezz_response_add_header_cstr(response, "allow", "GET");
        }
    }
    while (fezz_request_query_param_next(request, "name", 4, &cursor, &value)) {
        const char *separator = len == strlen("hello") ? " " : ", ";
        size_t separator_len = strlen(separator);
        if (len + separator_len + value.len < sizeof body) {
            memcpy(body + len, separator, separator_len);
            memcpy(body + len + separator_len, value.data, value.len);
            len += separator_len + value.len;
        }
    }
    cursor = 0;
    while (fezz_request_header_next(request, "Accept", 6, &cursor, &value)) {
        accepts++;
    }
    snprintf(count, sizeof count, "%u", (unsigned)accepts);
    if (result == FEZZ_RESULT_OK) {
        result = fezz_response_add_header_cstr(response, "content-type", "text/plain");
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_response_add_header_cstr(response, "x-accept-count", count);
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_response_set_body(response, (const uint8_t *)body, len);
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    fezz_request_free(request);
    return result;
}

void fezz_free_v2(FezzBuffer buffer) {
    free_calls++;
    fezz_buffer_free(buffer);
}

uint32_t fezz_abi_version(void) {
    return FEZZ_ABI_VERSION;
}

/* ---- the tests ------------------------------------------------------------------------- */

static FezzRequest *new_request(const char *method, const char *path) {
    FezzRequest *request = NULL;
    CHECK_RESULT(fezz_request_new(method, strlen(method), path, strlen(path), &request),
                 FEZZ_RESULT_OK);
    return request;
}

static void check_invoke(void) {
    FezzRequest *request = new_request("GET", "/hello");
    FezzResponse *response = NULL;
    FezzResponse *const sentinel = (FezzResponse *)&failures;
    FezzBytes value;
    FezzStr name;
    const char *query = "name=Ada%20L&x=1&name=B%C3%A9a+Z";

    CHECK_RESULT(fezz_request_set_query(request, query, strlen(query)), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_add_header(request, "accept", 6, (const uint8_t *)"a/b", 3),
                 FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_add_header(request, "x-other", 7, (const uint8_t *)"1", 1),
                 FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_add_header(request, "ACCEPT", 6, (const uint8_t *)"c/d", 3),
                 FEZZ_RESULT_OK);

    free_calls = 0;
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response),
                 FEZZ_RESULT_OK);
    CHECK(free_calls == 1);
    CHECK(fezz_response_status(response) == 200);
    CHECK(bytes_are(fezz_response_body(response), "hello Ada L, B\xc3\xa9" "a Z"));
    CHECK(fezz_response_header_count(response) == 2);
    CHECK(fezz_response_header_find(response, "X-Accept-Count", 14, &value));
    CHECK(bytes_are(value, "2"));
    CHECK_RESULT(fezz_response_header_at(response, 0, &name, &value), FEZZ_RESULT_OK);
    CHECK(fezz_str_equals(name, "content-type") && bytes_are(value, "text/plain"));
    CHECK_RESULT(fezz_response_header_at(response, 2, &name, &value), FEZZ_RESULT_OUT_OF_RANGE);
    CHECK(!fezz_response_error(response, &name, &name));
    fezz_response_free(response);
    fezz_request_free(request);

    /* The status set after the response was created. */
    request = new_request("DELETE", "/hello");
    response = NULL;
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response),
                 FEZZ_RESULT_OK);
    CHECK(fezz_response_status(response) == 405);
    CHECK(fezz_response_header_find(response, "allow", 5, &value) && bytes_are(value, "GET"));
    CHECK(bytes_are(fezz_response_body(response), "hello"));
    fezz_response_free(response);
    fezz_request_free(request);

    /* A failed call: the handler's result, out left alone, the buffer released once. */
    request = new_request("POST", "/fail");
    response = sentinel;
    free_calls = 0;
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response),
                 FEZZ_RESULT_FUNCTION_FAILED);
    CHECK(response == sentinel && free_calls == 1);
    fezz_request_free(request);

    /* The same call made by hand, to read the handler's fezz-error. */
    request = new_request("POST", "/fail");
    {
        FezzBuffer encoded = {NULL, 0, 0};
        FezzBuffer written = {NULL, 0, 0};
        FezzError *error = NULL;
        FezzError *const error_sentinel = (FezzError *)&failures;
        FezzError *untouched = error_sentinel;
        CHECK_RESULT(fezz_request_encode(request, &encoded), FEZZ_RESULT_OK);
        CHECK_RESULT(fezz_handle_v2(encoded.data, encoded.len, &written),
                     FEZZ_RESULT_FUNCTION_FAILED);
        fezz_buffer_free(encoded);
        CHECK_RESULT(fezz_error_decode(written.data, written.len, &error), FEZZ_RESULT_OK);
        CHECK(fezz_str_equals(fezz_error_code(error), "c-failed"));
        CHECK(fezz_str_equals(fezz_error_message(error), "failed on purpose"));
        CHECK_RESULT(fezz_error_decode(written.data, written.len - 1, &untouched),
                     FEZZ_RESULT_RESPONSE_INVALID);
        CHECK_RESULT(fezz_error_decode(NULL, 1, &untouched), FEZZ_RESULT_NULL_ARGUMENT);
        CHECK_RESULT(fezz_error_decode(written.data, written.len, NULL),
                     FEZZ_RESULT_NULL_ARGUMENT);
        CHECK(untouched == error_sentinel);
        fezz_free_v2(written);
        fezz_error_free(error);
        fezz_error_free(NULL);
        CHECK(fezz_error_code(NULL).len == 0 && fezz_error_code(NULL).data != NULL);
        CHECK(fezz_error_message(NULL).len == 0);
    }
    fezz_request_free(request);

    /* FEZZ_RESULT_OK with bytes that are not a response. */
    request = new_request("POST", "/garbage");
    free_calls = 0;
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response),
                 FEZZ_RESULT_RESPONSE_INVALID);
    CHECK(response == sentinel && free_calls == 1);

    /* NULL arguments: the handler is not called. */
    free_calls = 0;
    CHECK_RESULT(fezz_invoke_v2(NULL, fezz_handle_v2, fezz_free_v2, &response),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_invoke_v2(request, NULL, fezz_free_v2, &response),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, NULL, &response),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, NULL),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(response == sentinel && free_calls == 0);
    fezz_request_free(request);
}

static void check_builder_roundtrip(void) {
    FezzRequest *request = new_request("PATCH", "/todos/4%2F2");
    FezzRequest *decoded = NULL;
    FezzRequest *const sentinel = (FezzRequest *)&failures;
    FezzRequest *untouched = sentinel;
    FezzBuffer encoded = {NULL, 0, 0};
    FezzStr text;
    FezzBytes name, value;
    uint64_t deadline = 0;
    static const uint8_t body[] = {0, 1, 2, 0xff};

    CHECK_RESULT(fezz_request_set_query(request, "a=1&b=%zz&&c", 12), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_body(request, body, sizeof body), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_function(request, "todos", 5, "1.2.3", 5), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_id(request, "req-9", 5), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_deadline_unix_ms(request, 1800000000123u), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_client_address(request, "[::1]:5555", 10), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_scheme(request, "https", 5), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_set_host(request, "example.test", 12), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_add_header(request, "x-a", 3, (const uint8_t *)"1", 1),
                 FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_encode(request, &encoded), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_request_decode(encoded.data, encoded.len, &decoded), FEZZ_RESULT_OK);
    fezz_buffer_free(encoded);
    fezz_request_free(request);
    if (decoded == NULL) {
        return;
    }
    CHECK(fezz_str_equals(fezz_request_method(decoded), "PATCH"));
    CHECK(fezz_str_equals(fezz_request_path(decoded), "/todos/4%2F2"));
    CHECK(fezz_request_query(decoded, &text) && fezz_str_equals(text, "a=1&b=%zz&&c"));
    CHECK(fezz_request_body(decoded).len == sizeof body);
    CHECK(memcmp(fezz_request_body(decoded).data, body, sizeof body) == 0);
    CHECK(fezz_str_equals(fezz_request_function_id(decoded), "todos"));
    CHECK(fezz_str_equals(fezz_request_function_version(decoded), "1.2.3"));
    CHECK(fezz_str_equals(fezz_request_id(decoded), "req-9"));
    CHECK(fezz_request_deadline_unix_ms(decoded, &deadline) && deadline == 1800000000123u);
    CHECK(fezz_request_client_address(decoded, &text) && fezz_str_equals(text, "[::1]:5555"));
    CHECK(fezz_request_scheme(decoded, &text) && fezz_str_equals(text, "https"));
    CHECK(fezz_request_host(decoded, &text) && fezz_str_equals(text, "example.test"));
    CHECK(fezz_request_header_find_cstr(decoded, "X-A", &value) && bytes_are(value, "1"));

    /* Query parameters: empty pieces skipped, a malformed escape kept, a bare name empty. */
    CHECK(fezz_request_query_param_count(decoded) == 3);
    CHECK_RESULT(fezz_request_query_param_at(decoded, 1, &name, &value), FEZZ_RESULT_OK);
    CHECK(bytes_are(name, "b") && bytes_are(value, "%zz"));
    CHECK_RESULT(fezz_request_query_param_at(decoded, 2, &name, &value), FEZZ_RESULT_OK);
    CHECK(bytes_are(name, "c") && value.len == 0 && value.data != NULL);
    CHECK_RESULT(fezz_request_query_param_at(decoded, 3, &name, &value),
                 FEZZ_RESULT_OUT_OF_RANGE);
    CHECK(bytes_are(name, "c"));
    CHECK(fezz_request_query_param_find(decoded, "a", 1, &value) && bytes_are(value, "1"));
    CHECK(!fezz_request_query_param_find(decoded, "A", 1, &value)); /* names are exact */
    CHECK(bytes_are(value, "1"));
    fezz_request_free(decoded);

    /* Rules are enforced as values go in, with the limits of the header's macros. */
    CHECK_RESULT(fezz_request_new("G T", 3, "/", 1, &untouched), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_request_new("", 0, "/", 1, &untouched), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_request_new("GET", 3, "x", 1, &untouched), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_request_new(NULL, 3, "/", 1, &untouched), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_request_new("GET", 3, "/", 1, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(untouched == sentinel);
    request = new_request("GET", "*");
    {
        static char big[FEZZ_MAX_BODY_BYTES + 1];
        CHECK_RESULT(fezz_request_set_body(request, (const uint8_t *)big, sizeof big),
                     FEZZ_RESULT_TOO_LARGE);
        CHECK_RESULT(fezz_request_set_query(request, big, FEZZ_MAX_TEXT_BYTES + 1),
                     FEZZ_RESULT_TOO_LARGE);
        CHECK_RESULT(fezz_request_set_id(request, "\xff", 1), FEZZ_RESULT_INVALID_VALUE);
        CHECK_RESULT(fezz_request_set_function(request, "f", 1, NULL, 1),
                     FEZZ_RESULT_NULL_ARGUMENT);
        CHECK_RESULT(fezz_request_set_function(request, "f", 1, "\xff", 1),
                     FEZZ_RESULT_INVALID_VALUE);
        CHECK(fezz_request_function_id(request).len == 0); /* unchanged */
        CHECK_RESULT(fezz_request_add_header(request, "a\n", 2, (const uint8_t *)"b", 1),
                     FEZZ_RESULT_INVALID_VALUE);
        CHECK(fezz_request_header_count(request) == 0);
        CHECK_RESULT(fezz_request_set_query(NULL, "a", 1), FEZZ_RESULT_NULL_ARGUMENT);
        CHECK_RESULT(fezz_request_set_deadline_unix_ms(NULL, 1), FEZZ_RESULT_NULL_ARGUMENT);
        CHECK_RESULT(fezz_request_encode(request, NULL), FEZZ_RESULT_NULL_ARGUMENT);
        CHECK_RESULT(fezz_request_encode(NULL, &encoded), FEZZ_RESULT_NULL_ARGUMENT);
    }
    /* An empty query is present and has no parameters. */
    CHECK(!fezz_request_query(request, &text));
    CHECK_RESULT(fezz_request_set_query(request, NULL, 0), FEZZ_RESULT_OK);
    CHECK(fezz_request_query(request, &text) && text.len == 0);
    CHECK(fezz_request_query_param_count(request) == 0);
    fezz_request_free(request);
}

static void check_response_reader(void) {
    FezzResponse *response = NULL;
    FezzResponse *decoded = NULL;
    FezzResponse *const sentinel = (FezzResponse *)&failures;
    FezzResponse *untouched = sentinel;
    FezzBuffer encoded = {NULL, 0, 0};
    FezzStr code = {"untouched", 9}, message = {"untouched", 9};
    FezzBytes value = {(const uint8_t *)"untouched", 9};

    CHECK_RESULT(fezz_response_new(200, &response), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_set_status(response, 99), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_set_status(response, 600), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_set_status(NULL, 200), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(fezz_response_status(response) == 200);
    CHECK_RESULT(fezz_response_set_status(response, 201), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_add_header_cstr(response, "x-a", "1"), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_add_header_cstr(response, "x a", "1"), FEZZ_RESULT_INVALID_VALUE);
    CHECK_RESULT(fezz_response_add_header_cstr(response, NULL, "1"), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_add_header_cstr(response, "x-a", NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_add_header_cstr(NULL, "x-a", "1"), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_body_cstr(response, "body\n"), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_set_body_cstr(response, NULL), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_set_error(response, "c", 1, "m", 1), FEZZ_RESULT_OK);
    CHECK_RESULT(fezz_response_encode(response, &encoded), FEZZ_RESULT_OK);
    fezz_response_free(response);

    CHECK_RESULT(fezz_response_decode(encoded.data, encoded.len - 1, &untouched),
                 FEZZ_RESULT_RESPONSE_INVALID);
    CHECK_RESULT(fezz_response_decode(NULL, 1, &untouched), FEZZ_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(fezz_response_decode(encoded.data, encoded.len, NULL),
                 FEZZ_RESULT_NULL_ARGUMENT);
    CHECK(untouched == sentinel);
    CHECK_RESULT(fezz_response_decode(encoded.data, encoded.len, &decoded), FEZZ_RESULT_OK);
    fezz_buffer_free(encoded);
    CHECK(fezz_response_status(decoded) == 201);
    CHECK(fezz_response_header_count(decoded) == 1);
    CHECK(bytes_are(fezz_response_body(decoded), "body\n"));
    CHECK(fezz_response_error(decoded, &code, &message));
    CHECK(fezz_str_equals(code, "c") && fezz_str_equals(message, "m"));
    CHECK(!fezz_response_header_find(decoded, "x-b", 3, &value));
    CHECK(!fezz_response_header_find(decoded, "x-a", 3, NULL));
    CHECK(bytes_are(value, "untouched"));
    fezz_response_free(decoded);

    /* NULL responses: 0, empty views, false. */
    CHECK(fezz_response_status(NULL) == 0);
    CHECK(fezz_response_header_count(NULL) == 0);
    CHECK(fezz_response_body(NULL).data != NULL && fezz_response_body(NULL).len == 0);
    CHECK(!fezz_response_error(NULL, &code, &message));
    CHECK_RESULT(fezz_response_header_at(NULL, 0, &code, &value), FEZZ_RESULT_NULL_ARGUMENT);
}

static void check_strings(void) {
    FezzStr get = {"GET", 3};
    FezzStr name = {"Content-Type", 12};
    FezzStr empty = {"", 0};
    FezzStr broken = {NULL, 3};
    FezzBytes json = {(const uint8_t *)"application/json", 16};

    CHECK(fezz_str_equals(get, "GET"));
    CHECK(!fezz_str_equals(get, "get"));
    CHECK(!fezz_str_equals(get, "GETS"));
    CHECK(!fezz_str_equals(get, "GE"));
    CHECK(!fezz_str_equals(get, NULL));
    CHECK(!fezz_str_equals(broken, "GET"));
    CHECK(fezz_str_equals(empty, ""));
    CHECK(fezz_str_equals_ignore_case(name, "content-type"));
    CHECK(!fezz_str_equals_ignore_case(name, "content-typ"));
    CHECK(!fezz_str_equals_ignore_case(name, NULL));
    CHECK(fezz_bytes_equals(json, "application/json"));
    CHECK(!fezz_bytes_equals(json, "application/JSON"));
    CHECK(!fezz_bytes_equals(json, NULL));
}

static void check_header_iteration(void) {
    FezzRequest *request = new_request("GET", "/");
    FezzBytes value = {(const uint8_t *)"untouched", 9};
    size_t cursor = 0;
    const char *seen[3];
    size_t count = 0;

    fezz_request_add_header(request, "x-v", 3, (const uint8_t *)"1", 1);
    fezz_request_add_header(request, "other", 5, (const uint8_t *)"2", 1);
    fezz_request_add_header(request, "X-V", 3, (const uint8_t *)"3", 1);
    while (count < 3 && fezz_request_header_next(request, "x-V", 3, &cursor, &value)) {
        seen[count++] = (const char *)value.data;
    }
    CHECK(count == 2 && seen[0][0] == '1' && seen[1][0] == '3');
    CHECK(cursor == 3); /* past the last match; left there when nothing more is found */
    cursor = 1;
    CHECK(fezz_request_header_next(request, "x-v", 3, &cursor, &value) && cursor == 3);
    cursor = 99;
    CHECK(!fezz_request_header_next(request, "x-v", 3, &cursor, &value) && cursor == 99);
    cursor = 0;
    CHECK(!fezz_request_header_next(request, "x-v", 3, NULL, &value));
    CHECK(!fezz_request_header_next(request, "x-v", 3, &cursor, NULL));
    CHECK(!fezz_request_header_next(NULL, "x-v", 3, &cursor, &value));
    CHECK(cursor == 0);
    CHECK(!fezz_request_header_find_cstr(request, NULL, &value));
    CHECK(!fezz_request_header_find_cstr(NULL, "x-v", &value));
    CHECK(!fezz_request_query_param_next(request, "a", 1, &cursor, &value));
    CHECK(fezz_request_query_param_count(NULL) == 0);
    fezz_request_free(request);
}

int main(void) {
    check_strings();
    check_header_iteration();
    check_builder_roundtrip();
    check_response_reader();
    check_invoke();
    CHECK(strcmp(fezz_result_name(FEZZ_RESULT_RESPONSE_INVALID),
                 "FEZZ_RESULT_RESPONSE_INVALID") == 0);
    if (failures != 0) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    return 0;
}
