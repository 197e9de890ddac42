/*
 * warm.c: a function library that shows which process served a call, for the warm mode's
 * tests (hhrf/tests/modes_warm.rs). Compiled per test with `cc -shared -fPIC` and linked with
 * the C SDK (spec/ABI.md, "Building a C function").
 *
 * Every answer is 200 with the body "pid=P calls=N build=B\n": P the serving process as the
 * host sees it (the link /proc/self, since the reference runner's worker is PID 2 of a PID
 * namespace of its own, so getpid() is the same in every instance), N how
 * many calls this process has served (this one included), B the WARM_BUILD macro (so a
 * replaced library is visible). The request path chooses what happens first; the query holds
 * the parameter `n`:
 *
 *   /count             nothing
 *   /sleep?n=MS        sleeps MS milliseconds (at most 60000)
 *   /grow?n=MIB        allocates and touches MIB MiB (at most 512) and keeps it
 *   /stderr            writes "warm stderr N\n" to stderr
 *   /garbage           writes "XXXXXXXX" to every pipe open for writing from fd 3 (the
 *                      runner's protocol descriptor is one), then answers
 *   /fail              writes "warm stderr N\n" to stderr and returns FEZZ_RESULT_FUNCTION_FAILED
 *                      with {warm-failed, failed on purpose}
 *   /segfault          a write through a NULL pointer
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fezz.h"

#ifndef WARM_BUILD
#define WARM_BUILD 1
#endif

static unsigned long calls = 0;

static uint64_t parameter(const FezzRequest *request) {
    FezzStr query = {NULL, 0};
    uint64_t value = 0;
    if (!fezz_request_query(request, &query)) {
        return 0;
    }
    if (query.len < 2 || query.data[0] != 'n' || query.data[1] != '=') {
        return 0;
    }
    for (size_t i = 2; i < query.len && query.data[i] >= '0' && query.data[i] <= '9'; i++) {
        value = value * 10 + (uint64_t)(query.data[i] - '0');
        if (value > 60000) {
            return 60000;
        }
    }
    return value;
}

/* This process's pid in the namespace of the mounted /proc (the host's), else getpid(). */
static long host_pid(void) {
    char link[32];
    ssize_t len = readlink("/proc/self", link, sizeof link - 1);
    if (len <= 0) {
        return (long)getpid();
    }
    link[len] = '\0';
    return strtol(link, NULL, 10);
}

static int path_is(FezzStr path, const char *name) {
    return path.len == strlen(name) && memcmp(path.data, name, path.len) == 0;
}

static void write_all(int fd, const void *bytes, size_t len) {
    const char *at = bytes;
    while (len > 0) {
        ssize_t n = write(fd, at, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        at += n;
        len -= (size_t)n;
    }
}

static FezzResult handle(const FezzRequest *request, FezzBuffer *out) {
    FezzStr path = fezz_request_path(request);
    uint64_t n = parameter(request);
    calls++;
    if (path_is(path, "/sleep")) {
        struct timespec ts = {(time_t)(n / 1000), (long)(n % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    } else if (path_is(path, "/grow")) {
        size_t bytes = (size_t)(n > 512 ? 512 : n) << 20;
        char *kept = malloc(bytes);
        if (kept == NULL) {
            return FEZZ_RESULT_FUNCTION_FAILED;
        }
        memset(kept, 0x5a, bytes);
    } else if (path_is(path, "/stderr")) {
        fprintf(stderr, "warm stderr %lu\n", calls);
        fflush(stderr);
    } else if (path_is(path, "/garbage")) {
        for (int fd = 3; fd <= 64; fd++) {
            struct stat st;
            int flags = fcntl(fd, F_GETFL);
            if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && flags >= 0 &&
                (flags & O_ACCMODE) != O_RDONLY) {
                write_all(fd, "XXXXXXXX", 8);
            }
        }
    } else if (path_is(path, "/fail")) {
        fprintf(stderr, "warm stderr %lu\n", calls);
        fflush(stderr);
        const char *code = "warm-failed";
        const char *message = "failed on purpose";
        fezz_error_encode(code, strlen(code), message, strlen(message), out);
        return FEZZ_RESULT_FUNCTION_FAILED;
    } else if (path_is(path, "/segfault")) {
        volatile int *volatile nowhere = NULL;
        *nowhere = 1;
    }
    char body[128];
    int len = snprintf(body, sizeof body, "pid=%ld calls=%lu build=%d\n", host_pid(), calls,
                       WARM_BUILD);
    FezzResponse *response = NULL;
    FezzResult result;
    if ((result = fezz_response_new(200, &response)) == FEZZ_RESULT_OK &&
        (result = fezz_response_set_body(response, (const uint8_t *)body, (size_t)len)) ==
            FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    return result;
}

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    result = handle(request, out);
    fezz_request_free(request);
    return result;
}

uint32_t fezz_abi_version(void) { return FEZZ_ABI_VERSION; }

void fezz_free_v2(FezzBuffer buffer) { fezz_buffer_free(buffer); }
