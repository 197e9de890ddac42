/*
 * faulty.c: a function library that misbehaves on request, for hhrf's fault soak
 * (hhrf/tests/soak.rs). It is compiled per test with `cc -shared -fPIC` and linked with the
 * codec's static library (libfezz_abi.a, spec/fezz.h) to read the request; the responses that
 * break the wire rules on purpose are built by hand.
 *
 * The behaviour is chosen by the request path (as the function sees it: /rpc/faulty@1/ok gives
 * /ok); the query holds the parameters, `t=TOKEN` and `ms=N`:
 *
 *   /ok?t=T            200, header x-token: T, body "token=T\n" (a wrong answer is visible)
 *   /sleep?ms=N&t=T    sleeps N ms (at most 60000), then answers like /ok
 *   /panic             returns FEZZ_RESULT_PANIC with the fezz-error {panic, faulty panic}
 *   /abort             abort()
 *   /segfault          a real write through a NULL pointer (not raise)
 *   /hang              sleeps forever (pause), never answers
 *   /forkbomb          forks until fork fails or 64 children exist (children sleep forever),
 *                      then answers like /ok; the children stay in the runner's group
 *   /stdout-flood      writes 100 MiB to fd 1 (which the runner points at stderr), then /ok
 *   /forge             writes a forged but valid response frame (FZ, kind 2) to every pipe
 *                      descriptor 3..64 open for writing (the runner's protocol descriptor is
 *                      one of them), then answers like /ok
 *   /garbage           writes 4 KiB of pseudo-random bytes to those descriptors, then /ok
 *   /grandchild        forks; the child calls setsid() and forks again; the grandchild keeps
 *                      the inherited pipes and sleeps 60 s; answers like /ok at once
 *   /double-fork-closed  the same escape, but the grandchild closes every descriptor first
 *   /hog               mallocs and touches 256 MiB in 1 MiB blocks; a block malloc refuses
 *                      (under limits.memory_bytes) fails the call: FEZZ_RESULT_FUNCTION_FAILED
 *                      with {out-of-memory, ...}; otherwise answers like /ok
 *   /big               returns a 20 MiB body through the ABI (past MAX_MESSAGE_BYTES: the
 *                      runner refuses it as response-invalid)
 *   /overflow          writes a 20 MiB frame straight into the protocol descriptor (past
 *                      hhrf's MAX_STDOUT_BYTES), then exits 0
 *   /eight             answers 200 with an 8 MiB body (MAX_BODY_BYTES: it fits), byte i being
 *                      (i * 31 + 7) mod 256, and the x-token header
 *   /smuggle           returns a response whose header value holds "\r\nX-Injected: 1"
 *   /smuggle-raw       writes that response as a frame straight into the protocol descriptor
 *                      and exits 0 (so hhrf's own check, not the runner's, must refuse it)
 *   /informational     returns a response with status 101, which the wire forbids
 *   /informational-raw writes it as a frame straight into the protocol descriptor, exits 0
 *   /escape            returns a response whose header value holds ESC (a colour sequence)
 *   /escape-raw        writes that response as a frame straight into the protocol descriptor
 *   anything else      404 with body "unknown fault"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fezz.h"

#define MIB ((size_t)1 << 20)

/* ---- a tiny CBOR writer for the responses built by hand ---- */

typedef struct Out {
    uint8_t *data;
    size_t len;
    size_t capacity;
    bool failed;
} Out;

static void out_reserve(Out *out, size_t more) {
    if (out->failed || out->len + more <= out->capacity) {
        return;
    }
    size_t capacity = out->capacity ? out->capacity : 64;
    while (capacity < out->len + more) {
        capacity *= 2;
    }
    uint8_t *data = realloc(out->data, capacity);
    if (data == NULL) {
        out->failed = true;
        return;
    }
    out->data = data;
    out->capacity = capacity;
}

static void out_bytes(Out *out, const void *bytes, size_t len) {
    out_reserve(out, len);
    if (!out->failed) {
        memcpy(out->data + out->len, bytes, len);
        out->len += len;
    }
}

/* A CBOR head: major type (0..7) and argument, in the shortest form. */
static void out_head(Out *out, uint8_t major, uint64_t value) {
    uint8_t head[9];
    size_t len;
    major = (uint8_t)(major << 5);
    if (value < 24) {
        head[0] = major | (uint8_t)value;
        len = 1;
    } else if (value <= 0xff) {
        head[0] = major | 24;
        head[1] = (uint8_t)value;
        len = 2;
    } else if (value <= 0xffff) {
        head[0] = major | 25;
        head[1] = (uint8_t)(value >> 8);
        head[2] = (uint8_t)value;
        len = 3;
    } else if (value <= 0xffffffffu) {
        head[0] = major | 26;
        for (int i = 0; i < 4; i++) {
            head[1 + i] = (uint8_t)(value >> (24 - 8 * i));
        }
        len = 5;
    } else {
        head[0] = major | 27;
        for (int i = 0; i < 8; i++) {
            head[1 + i] = (uint8_t)(value >> (56 - 8 * i));
        }
        len = 9;
    }
    out_bytes(out, head, len);
}

static void out_text(Out *out, const char *text) {
    out_head(out, 3, strlen(text));
    out_bytes(out, text, strlen(text));
}

/* {0: 2, 1: status, 2: [[name, value]], 3: body of body_len bytes (body may be NULL: zeros)}. */
static Out response_by_hand(uint16_t status, const char *name, const char *value,
                            const uint8_t *body, size_t body_len) {
    Out out = {0};
    out_head(&out, 5, 4);
    out_head(&out, 0, 0);
    out_head(&out, 0, 2);
    out_head(&out, 0, 1);
    out_head(&out, 0, status);
    out_head(&out, 0, 2);
    out_head(&out, 4, 1);
    out_head(&out, 4, 2);
    out_text(&out, name);
    out_head(&out, 2, strlen(value));
    out_bytes(&out, value, strlen(value));
    out_head(&out, 0, 3);
    out_head(&out, 2, body_len);
    out_reserve(&out, body_len);
    if (!out.failed) {
        if (body != NULL) {
            memcpy(out.data + out.len, body, body_len);
        } else {
            memset(out.data + out.len, 0, body_len);
        }
        out.len += body_len;
    }
    return out;
}

/* The 8-byte frame header of RUNNER.md, "Framing". */
static void frame_header(uint8_t header[8], uint8_t kind, uint32_t len) {
    header[0] = 'F';
    header[1] = 'Z';
    header[2] = kind;
    header[3] = 0;
    header[4] = (uint8_t)(len >> 24);
    header[5] = (uint8_t)(len >> 16);
    header[6] = (uint8_t)(len >> 8);
    header[7] = (uint8_t)len;
}

/* ---- the process-level helpers ---- */

static void write_all(int fd, const void *bytes, size_t len) {
    const uint8_t *at = bytes;
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

/* Descriptors 3..64 that are pipes open for writing: the runner's protocol descriptor is one. */
static int protocol_candidates(int fds[64]) {
    int count = 0;
    for (int fd = 3; fd <= 64; fd++) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
            continue;
        }
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
            continue;
        }
        fds[count++] = fd;
    }
    return count;
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void close_everything(void) {
    for (int fd = 0; fd < 1024; fd++) {
        close(fd);
    }
}

/* fork; the child calls setsid() and forks again; the grandchild sleeps 60 s (with every
 * descriptor closed first when close_fds) and the child exits at once. */
static void escape(bool close_fds) {
    pid_t child = fork();
    if (child == 0) {
        setsid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            if (close_fds) {
                close_everything();
            }
            sleep_ms(60000);
        }
        _exit(0);
    }
    if (child > 0) {
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}

/* ---- the query ---- */

/* The value of `name` in the query (`a=1&b=2`), or an empty string. */
static FezzStr parameter(const FezzRequest *request, const char *name) {
    FezzStr query = {NULL, 0};
    FezzStr none = {(const char *)"", 0};
    if (!fezz_request_query(request, &query)) {
        return none;
    }
    size_t name_len = strlen(name);
    size_t at = 0;
    while (at < query.len) {
        size_t end = at;
        while (end < query.len && query.data[end] != '&') {
            end++;
        }
        if (end - at > name_len && memcmp(query.data + at, name, name_len) == 0 &&
            query.data[at + name_len] == '=') {
            FezzStr value = {query.data + at + name_len + 1, end - at - name_len - 1};
            return value;
        }
        at = end + 1;
    }
    return none;
}

static bool path_is(FezzStr path, const char *name) {
    return path.len == strlen(name) && memcmp(path.data, name, path.len) == 0;
}

/* ---- the answers ---- */

/* 200 with x-token: T and "token=T\n", plus `body_len` pattern bytes after it when non-zero. */
static FezzResult answer(FezzStr token, uint16_t status, size_t pattern_len, FezzBuffer *out) {
    char text[256];
    int len = snprintf(text, sizeof text, "token=%.*s\n", (int)(token.len < 200 ? token.len : 200),
                       token.data);
    uint8_t *body = NULL;
    size_t body_len = (size_t)len;
    const uint8_t *body_bytes = (const uint8_t *)text;
    if (pattern_len > 0) {
        body = malloc(pattern_len);
        if (body == NULL) {
            return FEZZ_RESULT_FUNCTION_FAILED;
        }
        for (size_t i = 0; i < pattern_len; i++) {
            body[i] = (uint8_t)(i * 31 + 7);
        }
        body_bytes = body;
        body_len = pattern_len;
    }
    FezzResponse *response = NULL;
    FezzResult result;
    if ((result = fezz_response_new(status, &response)) == FEZZ_RESULT_OK &&
        (result = fezz_response_add_header(response, "x-token", 7, (const uint8_t *)token.data,
                                           token.len)) == FEZZ_RESULT_OK &&
        (result = fezz_response_set_body(response, body_bytes, body_len)) == FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    free(body);
    return result;
}

static FezzResult fail(FezzResult result, const char *code, const char *message, FezzBuffer *out) {
    fezz_error_encode(code, strlen(code), message, strlen(message), out);
    return result;
}

/* The buffer handed out by by_hand: fezz_free_v2 releases it with free(), every other one with
 * the codec's fezz_buffer_free (one call per runner process, so one slot is enough). */
static uint8_t *hand_built = NULL;

static FezzResult by_hand(Out built, FezzBuffer *out) {
    if (built.failed) {
        free(built.data);
        return FEZZ_RESULT_FUNCTION_FAILED;
    }
    hand_built = built.data;
    out->data = built.data;
    out->len = built.len;
    out->capacity = built.capacity;
    return FEZZ_RESULT_OK;
}

/* Writes `payload` as one frame of `kind` to every protocol candidate. */
static void write_frame_everywhere(uint8_t kind, const uint8_t *payload, size_t len) {
    int fds[64];
    int count = protocol_candidates(fds);
    uint8_t header[8];
    frame_header(header, kind, (uint32_t)len);
    for (int i = 0; i < count; i++) {
        write_all(fds[i], header, sizeof header);
        write_all(fds[i], payload, len);
    }
}

static FezzResult handle(const FezzRequest *request, FezzBuffer *out) {
    FezzStr path = fezz_request_path(request);
    FezzStr token = parameter(request, "t");

    if (path_is(path, "/ok")) {
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/sleep")) {
        FezzStr ms = parameter(request, "ms");
        uint64_t value = 0;
        for (size_t i = 0; i < ms.len && ms.data[i] >= '0' && ms.data[i] <= '9'; i++) {
            value = value * 10 + (uint64_t)(ms.data[i] - '0');
            if (value > 60000) {
                value = 60000;
            }
        }
        sleep_ms(value);
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/panic")) {
        return fail(FEZZ_RESULT_PANIC, "panic", "faulty panic", out);
    }
    if (path_is(path, "/abort")) {
        abort();
    }
    if (path_is(path, "/segfault")) {
        /* Through a volatile pointer, so the compiler cannot turn the store into a trap. */
        volatile int *volatile nowhere = NULL;
        *nowhere = 1;
        return FEZZ_RESULT_FUNCTION_FAILED;
    }
    if (path_is(path, "/hang")) {
        for (;;) {
            pause();
        }
    }
    if (path_is(path, "/forkbomb")) {
        /* Bounded: this machine is shared. */
        for (int i = 0; i < 64; i++) {
            pid_t child = fork();
            if (child == 0) {
                for (;;) {
                    pause();
                }
            }
            if (child < 0) {
                break;
            }
        }
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/stdout-flood")) {
        static uint8_t chunk[64 * 1024];
        memset(chunk, 'x', sizeof chunk);
        for (size_t written = 0; written < 100 * MIB; written += sizeof chunk) {
            write_all(1, chunk, sizeof chunk);
        }
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/forge")) {
        static const char forged[] = "forged";
        Out built = response_by_hand(200, "x-token", "forged", (const uint8_t *)forged,
                                     sizeof forged - 1);
        if (!built.failed) {
            write_frame_everywhere(2, built.data, built.len);
        }
        free(built.data);
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/garbage")) {
        int fds[64];
        int count = protocol_candidates(fds);
        uint8_t noise[4096];
        uint64_t state = (uint64_t)getpid() * 0x9e3779b97f4a7c15u + (uint64_t)time(NULL);
        for (size_t i = 0; i < sizeof noise; i++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise[i] = (uint8_t)state;
        }
        noise[0] = 0x00; /* never the magic F, so it is a frame error whatever follows */
        for (int i = 0; i < count; i++) {
            write_all(fds[i], noise, sizeof noise);
        }
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/grandchild")) {
        escape(false);
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/double-fork-closed")) {
        escape(true);
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/hog")) {
        enum { BLOCKS = 256 };
        uint8_t *blocks[BLOCKS] = {0};
        bool refused = false;
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = malloc(MIB);
            if (blocks[i] == NULL) {
                refused = true;
                break;
            }
            memset(blocks[i], i, MIB);
        }
        for (int i = 0; i < BLOCKS; i++) {
            free(blocks[i]);
        }
        if (refused) {
            return fail(FEZZ_RESULT_FUNCTION_FAILED, "out-of-memory", "malloc refused a block",
                        out);
        }
        return answer(token, 200, 0, out);
    }
    if (path_is(path, "/big")) {
        return by_hand(response_by_hand(200, "x-token", "big", NULL, 20 * MIB), out);
    }
    if (path_is(path, "/overflow")) {
        Out built = response_by_hand(200, "x-token", "overflow", NULL, 20 * MIB);
        if (!built.failed) {
            /* A frame header saying 16 MiB (the most a frame may say), then 20 MiB. */
            int fds[64];
            int count = protocol_candidates(fds);
            uint8_t header[8];
            frame_header(header, 2, 16 * 1024 * 1024);
            for (int i = 0; i < count; i++) {
                write_all(fds[i], header, sizeof header);
                write_all(fds[i], built.data, built.len);
            }
        }
        _exit(0);
    }
    if (path_is(path, "/eight")) {
        return answer(token, 200, 8 * MIB, out);
    }
    if (path_is(path, "/smuggle")) {
        return by_hand(response_by_hand(200, "x-smuggle", "a\r\nX-Injected: 1", NULL, 0), out);
    }
    if (path_is(path, "/informational") || path_is(path, "/informational-raw") ||
        path_is(path, "/escape") || path_is(path, "/escape-raw")) {
        bool informational = path_is(path, "/informational") || path_is(path, "/informational-raw");
        Out built = informational ? response_by_hand(101, "x-kind", "upgrade", NULL, 0)
                                  : response_by_hand(200, "x-colour", "\x1b[31mred", NULL, 0);
        if (path_is(path, "/informational") || path_is(path, "/escape")) {
            return by_hand(built, out);
        }
        if (!built.failed) {
            write_frame_everywhere(2, built.data, built.len);
        }
        _exit(0);
    }
    if (path_is(path, "/smuggle-raw")) {
        Out built = response_by_hand(200, "x-smuggle", "a\r\nX-Injected: 1", NULL, 0);
        if (!built.failed) {
            write_frame_everywhere(2, built.data, built.len);
        }
        _exit(0);
    }
    return answer(token, 404, 0, out);
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

/* Buffers come from the codec or, for the responses built by hand, from malloc: each goes back
 * to its own allocator. */
void fezz_free_v2(FezzBuffer buffer) {
    if (buffer.data != NULL && buffer.data == hand_built) {
        hand_built = NULL;
        free(buffer.data);
        return;
    }
    fezz_buffer_free(buffer);
}
