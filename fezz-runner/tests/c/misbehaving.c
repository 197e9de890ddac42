/*
 * A function library that misbehaves in one way, chosen at compile time with -DMODE_<NAME>.
 * fezz-runner's tests compile it with `cc -shared -fPIC` into a temporary directory.
 *
 * Every variant counts its fezz_free_v2 calls and, at exit (atexit, or dlclose), writes
 * "fezz_free_v2 calls: N" on stderr, so a test can check that the runner releases every
 * buffer exactly once. The buffers it hands out come from malloc and are freed there.
 */
#if defined(MODE_ESCAPE) || defined(MODE_RAISE_BUS)
#define _GNU_SOURCE /* fork, setsid, kill */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef MODE_REPORT_LIMITS
#include <sys/resource.h>
#endif
#ifdef MODE_ESCAPE
#include <sys/wait.h>
#endif
#include <signal.h>
#ifdef MODE_SANDBOX_PROBE
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#endif

typedef struct FezzBuffer {
    uint8_t *data;
    size_t len;
    size_t capacity;
} FezzBuffer;

static unsigned free_calls = 0;

static void report_frees(void) {
    fprintf(stderr, "fezz_free_v2 calls: %u\n", free_calls);
    fflush(stderr);
}

__attribute__((constructor)) static void on_load(void) {
    atexit(report_frees);
#ifdef MODE_REPORT_LIMITS
    /* The limits in force while the library loads: the runner applies them before. */
    static const struct {
        int resource;
        const char *name;
    } limits[] = {{RLIMIT_AS, "RLIMIT_AS"},
                  {RLIMIT_CPU, "RLIMIT_CPU"},
                  {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
                  {RLIMIT_NPROC, "RLIMIT_NPROC"}};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit value;
        if (getrlimit(limits[i].resource, &value) == 0) {
            if (value.rlim_cur == RLIM_INFINITY) {
                fprintf(stderr, "limit %s soft=unlimited", limits[i].name);
            } else {
                fprintf(stderr, "limit %s soft=%llu", limits[i].name, (unsigned long long)value.rlim_cur);
            }
            if (value.rlim_max == RLIM_INFINITY) {
                fprintf(stderr, " hard=unlimited\n");
            } else {
                fprintf(stderr, " hard=%llu\n", (unsigned long long)value.rlim_max);
            }
        }
    }
    fflush(stderr);
#endif
#ifdef MODE_SANDBOX_PROBE
    /* What the library's initialiser may do: the runner applies its sandbox before. */
    int fd = open("/etc/passwd", O_RDONLY);
    fprintf(stderr, "probe open /etc/passwd errno=%d\n", fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    fprintf(stderr, "probe socket AF_INET errno=%d\n", sock < 0 ? errno : 0);
    if (sock >= 0) close(sock);
    struct rlimit core, fsize;
    getrlimit(RLIMIT_CORE, &core);
    getrlimit(RLIMIT_FSIZE, &fsize);
    fprintf(stderr, "probe RLIMIT_CORE=%llu RLIMIT_FSIZE=%lld\n", (unsigned long long)core.rlim_cur,
            fsize.rlim_cur == RLIM_INFINITY ? -1LL : (long long)fsize.rlim_cur);
    fflush(stderr);
#endif
#ifdef MODE_NOISY
    /* A library that greets on stdout while being loaded: must land on stderr. */
    printf("constructor noise\n");
    fflush(stdout);
#endif
}

/* A malloc'd copy of `len` bytes, as a buffer this library owns. */
/* Some modes use none of the helpers below. */
#define UNUSED_OK __attribute__((unused))

UNUSED_OK static FezzBuffer owned(const void *bytes, size_t len) {
    FezzBuffer buffer = {malloc(len ? len : 1), len, len ? len : 1};
    memcpy(buffer.data, bytes, len);
    return buffer;
}

/* {0: 2, 1: 200, 9: 0}: a valid response with an unknown key, which a runner that re-encoded
 * the response would drop. */
UNUSED_OK static const uint8_t VALID_RESPONSE[] = {0xa3, 0x00, 0x02, 0x01, 0x18, 0xc8, 0x09, 0x00};
/* {0: "db", 1: "down"}: a fezz-error. */
UNUSED_OK static const uint8_t ERROR_DB_DOWN[] = {0xa2, 0x00, 0x62, 'd', 'b', 0x01, 0x64, 'd', 'o', 'w', 'n'};
UNUSED_OK static const char GARBAGE[] = "this is not CBOR";
/* {0: 2, 1: 101}: well-formed, but 1xx is not a final status. */
UNUSED_OK static const uint8_t INFORMATIONAL_RESPONSE[] = {0xa2, 0x00, 0x02, 0x01, 0x18, 0x65};
/* {0: 2, 1: 200, 2: [["x", h'1b']]}: a header value with ESC, which HTTP cannot carry. */
UNUSED_OK static const uint8_t CONTROL_HEADER_RESPONSE[] = {0xa3, 0x00, 0x02, 0x01, 0x18, 0xc8, 0x02,
                                                            0x81, 0x82, 0x61, 'x',  0x41, 0x1b};

#ifndef MODE_NO_VERSION
uint32_t fezz_abi_version(void) {
#if defined(MODE_VERSION_1)
    return 1;
#elif defined(MODE_VERSION_3)
    return 3;
#else
    return 2;
#endif
}
#endif

#ifndef MODE_NO_HANDLE
int32_t fezz_handle_v2(const uint8_t *request, size_t request_len, FezzBuffer *response) {
    (void)request;
    (void)request_len;
    (void)response;
#if defined(MODE_VERSION_1)
    abort(); /* a runner must not call a version-1 library */
#elif defined(MODE_GARBAGE_OK)
    *response = owned(GARBAGE, sizeof GARBAGE - 1);
    return 0;
#elif defined(MODE_INFORMATIONAL_OK)
    *response = owned(INFORMATIONAL_RESPONSE, sizeof INFORMATIONAL_RESPONSE);
    return 0;
#elif defined(MODE_CONTROL_HEADER_OK)
    *response = owned(CONTROL_HEADER_RESPONSE, sizeof CONTROL_HEADER_RESPONSE);
    return 0;
#elif defined(MODE_LONG_ERROR)
    /* {0: 16000 x "c", 1: 5000 x "\u20ac"}: a fezz-error whose "code: message" (31002 bytes)
     * is longer than MAX_TEXT_BYTES, so the runner has to cut its error frame's message. */
    enum { CODE_LEN = 16000, EUROS = 5000 };
    size_t len = 4 + CODE_LEN + 1 + 3 + 3 * EUROS + 1;
    uint8_t *bytes = malloc(len);
    size_t at = 0;
    bytes[at++] = 0xa2;
    bytes[at++] = 0x00;
    bytes[at++] = 0x79; /* text, two-byte length */
    bytes[at++] = CODE_LEN >> 8;
    bytes[at++] = CODE_LEN & 0xff;
    memset(bytes + at, 'c', CODE_LEN);
    at += CODE_LEN;
    bytes[at++] = 0x01;
    bytes[at++] = 0x79;
    bytes[at++] = (3 * EUROS) >> 8;
    bytes[at++] = (3 * EUROS) & 0xff;
    for (int i = 0; i < EUROS; i++) {
        bytes[at++] = 0xe2;
        bytes[at++] = 0x82;
        bytes[at++] = 0xac;
    }
    response->data = bytes;
    response->len = at;
    response->capacity = len;
    return 3; /* FEZZ_RESULT_FUNCTION_FAILED */
#elif defined(MODE_NULL_OK)
    return 0;
#elif defined(MODE_EMPTY_OK)
    *response = owned("", 0);
    return 0;
#elif defined(MODE_ERROR_WITH_MESSAGE)
    *response = owned(ERROR_DB_DOWN, sizeof ERROR_DB_DOWN);
    return 3; /* FEZZ_RESULT_FUNCTION_FAILED */
#elif defined(MODE_PANIC_CODE)
    return 4; /* FEZZ_RESULT_PANIC, nothing written */
#elif defined(MODE_UNKNOWN_CODE)
    *response = owned(GARBAGE, sizeof GARBAGE - 1);
    return 42;
#elif defined(MODE_RAISE_SEGV)
    raise(SIGSEGV); /* a function that signals itself: the runner must not swallow it */
    *response = owned(VALID_RESPONSE, sizeof VALID_RESPONSE);
    return 0;
#elif defined(MODE_RAISE_BUS)
    kill(getpid(), SIGBUS);
    *response = owned(VALID_RESPONSE, sizeof VALID_RESPONSE);
    return 0;
#elif defined(MODE_ESCAPE)
    /* Reports its pid, then leaves a grandchild in a session of its own that keeps every
     * inherited descriptor (the protocol's included) and reports its pid too. */
    fprintf(stderr, "function pid %ld\n", (long)getpid());
    fflush(stderr);
    int ready[2];
    if (pipe(ready) != 0) {
        abort();
    }
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() == 0) {
            fprintf(stderr, "escapee pid %ld\n", (long)getpid());
            fflush(stderr);
            if (write(ready[1], "x", 1) != 1) {
                _exit(1);
            }
            sleep(60);
        }
        _exit(0);
    }
    waitpid(child, NULL, 0);
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1) { /* the escapee is running once it has written */
        abort();
    }
    close(ready[0]);
    *response = owned(VALID_RESPONSE, sizeof VALID_RESPONSE);
    return 0;
#elif defined(MODE_READ_STDIN)
    /* A function that reads stdin must see end of input, not the next request frame. */
    char byte;
    if (read(0, &byte, 1) != 0) {
        *response = owned(GARBAGE, sizeof GARBAGE - 1);
        return 0;
    }
    *response = owned(VALID_RESPONSE, sizeof VALID_RESPONSE);
    return 0;
#else /* MODE_VALID, MODE_NOISY, MODE_VERSION_3, MODE_NO_FREE, MODE_REPORT_LIMITS, MODE_SANDBOX_PROBE */
#ifdef MODE_NOISY
    printf("handler noise\n");
    fflush(stdout);
#endif
    *response = owned(VALID_RESPONSE, sizeof VALID_RESPONSE);
    return 0;
#endif
}
#endif

#ifndef MODE_NO_FREE
void fezz_free_v2(FezzBuffer response) {
    free_calls++;
    free(response.data);
}
#endif
