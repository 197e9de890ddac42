/* hello_test.c: the unit test of hello.c, in-process: it builds requests with the codec C API,
 * calls hello.c's own fezz_handle_v2 through fezz_invoke_v2 (as a runner would: encoded request,
 * zeroed buffer, fezz_free_v2 exactly once) and checks the responses. No runner, no server.
 * build.sh compiles and runs it (also under AddressSanitizer) before building the library:
 *   cc -std=c11 -o hello_test hello_test.c hello.c $(pkg-config --cflags --libs fezz) */
#include <stdio.h>
#include <string.h>

#include "fezz.h"

static int failures;

#define CHECK(condition)                                                                      \
    do {                                                                                      \
        if (!(condition)) {                                                                   \
            fprintf(stderr, "hello_test.c:%d: check failed: %s\n", __LINE__, #condition);     \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static bool body_is(const FezzResponse *response, const char *expected) {
    FezzBytes body = fezz_response_body(response);
    return fezz_bytes_equals(body, expected);
}

/* Calls hello.c on METHOD PATH with QUERY (NULL for none) and NUM_ACCEPT Accept headers. */
static FezzResponse *call(const char *method, const char *path, const char *query,
                          int num_accept) {
    FezzRequest *request = NULL;
    FezzResponse *response = NULL;
    FezzResult result =
        fezz_request_new(method, strlen(method), path, strlen(path), &request);
    /* The context hhrf would send (hello.c does not read it, but a function may). */
    if (result == FEZZ_RESULT_OK) {
        result = fezz_request_set_function(request, "hello-c", 7, "1", 1);
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_request_set_id(request, "test-1", 6);
    }
    if (result == FEZZ_RESULT_OK && query != NULL) {
        result = fezz_request_set_query(request, query, strlen(query));
    }
    for (int i = 0; result == FEZZ_RESULT_OK && i < num_accept; i++) {
        result = fezz_request_add_header(request, "accept", 6, (const uint8_t *)"*/*", 3);
    }
    if (result == FEZZ_RESULT_OK) {
        result = fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response);
    }
    if (result != FEZZ_RESULT_OK) {
        fprintf(stderr, "hello_test.c: %s %s: %s\n", method, path, fezz_result_name(result));
        failures++;
    }
    fezz_request_free(request);
    return response;
}

int main(void) {
    FezzResponse *response = call("GET", "/world", NULL, 0);
    FezzBytes value;
    CHECK(fezz_response_status(response) == 200);
    CHECK(body_is(response, "hello world from C at /world\n"));
    CHECK(fezz_response_header_find(response, "Content-Type", 12, &value));
    CHECK(fezz_bytes_equals(value, "text/plain; charset=utf-8"));
    fezz_response_free(response);

    response = call("GET", "/x", "name=Ada%20Lovelace&lang=c&name=B%C3%A9a+Z", 2);
    CHECK(body_is(response, "hello Ada Lovelace, B\xc3\xa9" "a Z from C at /x\n"));
    CHECK(fezz_response_header_find(response, "x-accept-count", 14, &value));
    CHECK(fezz_bytes_equals(value, "2"));
    fezz_response_free(response);

    response = call("GET", "/y", "greeting=bonjour&greeting=salut&name=%E2%9C%93", 0);
    CHECK(body_is(response, "bonjour \xe2\x9c\x93 from C at /y\n"));
    /* Headers in order: content-type, then x-accept-count. */
    FezzStr name;
    CHECK(fezz_response_header_count(response) == 2);
    CHECK(fezz_response_header_at(response, 1, &name, &value) == FEZZ_RESULT_OK);
    CHECK(fezz_str_equals(name, "x-accept-count") && fezz_bytes_equals(value, "0"));
    fezz_response_free(response);

    response = call("POST", "/x", NULL, 0);
    CHECK(fezz_response_status(response) == 405);
    CHECK(fezz_response_header_find(response, "allow", 5, &value));
    CHECK(fezz_bytes_equals(value, "GET"));
    CHECK(body_is(response, "only GET here\n"));
    fezz_response_free(response);

    if (failures != 0) {
        fprintf(stderr, "hello_test: %d checks failed\n", failures);
        return 1;
    }
    printf("hello_test: all checks passed\n");
    return 0;
}
