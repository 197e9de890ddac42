/*
 * A function library for hhrf's jail tests (hhrf/tests/jail.rs), built with the codec's C API
 * (spec/fezz.h, libfezz_abi.a). The request path picks what it does, the query is its argument,
 * and the 200 answer's body says what happened, so that the same library shows the difference
 * between running with and without the jail:
 *
 * - /hello: "hello from the jail".
 * - /read?PATH: opens PATH and reads it: "read-ok:<the first bytes>", or
 *   "read-failed:errno=<n>" (the path of a secret file outside the function folder).
 * - /write?PATH: creates PATH and writes to it: "write-ok" or "write-failed:errno=<n>".
 * - /connect?PORT: a TCP socket connected to 127.0.0.1:PORT: "connect-ok", or
 *   "socket-failed:errno=<n>" or "connect-failed:errno=<n>".
 * - /tty: opens /dev/tty, the controlling terminal: "tty-ok" or "tty-failed:errno=<n>".
 * - /env?NAME: "env:<value>" or "env-unset".
 * - /escape: starts a process that leaves the runner's process group and session (fork,
 *   setsid, fork), closes every descriptor and sleeps 20 s; answers "escaped".
 * - /hang: never answers.
 * - /segfault: writes through a NULL pointer (SIGSEGV).
 * - anything else: 404.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fezz.h"

/* The query as a NUL-terminated string (empty when absent or too long). */
static void query_text(const FezzRequest *request, char *out, size_t size) {
    FezzStr query;
    out[0] = '\0';
    if (fezz_request_query(request, &query) && query.len < size) {
        memcpy(out, query.data, query.len);
        out[query.len] = '\0';
    }
}

static int is_path(FezzStr path, const char *expected) {
    return path.len == strlen(expected) && memcmp(path.data, expected, path.len) == 0;
}

static void read_file(const char *path, char *body, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(body, size, "read-failed:errno=%d", errno);
        return;
    }
    char bytes[128];
    ssize_t got = read(fd, bytes, sizeof bytes - 1);
    int error = errno;
    close(fd);
    if (got < 0) {
        snprintf(body, size, "read-failed:errno=%d", error);
        return;
    }
    bytes[got] = '\0';
    snprintf(body, size, "read-ok:%s", bytes);
}

static void write_file(const char *path, char *body, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(body, size, "write-failed:errno=%d", errno);
        return;
    }
    ssize_t wrote = write(fd, "written by the function\n", 24);
    int error = errno;
    close(fd);
    if (wrote != 24) {
        snprintf(body, size, "write-failed:errno=%d", error);
        return;
    }
    snprintf(body, size, "write-ok");
}

static void escape(char *body, size_t size) {
    pid_t child = fork();
    if (child == 0) {
        if (setsid() < 0 || fork() != 0) {
            _exit(0);
        }
        for (int fd = 0; fd < 1024; fd++) {
            close(fd);
        }
        sleep(20);
        _exit(0);
    }
    if (child < 0) {
        snprintf(body, size, "fork-failed:errno=%d", errno);
        return;
    }
    waitpid(child, NULL, 0);
    snprintf(body, size, "escaped");
}

static void connect_port(const char *port, char *body, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(body, size, "socket-failed:errno=%d", errno);
        return;
    }
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)atoi(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (const struct sockaddr *)&address, sizeof address) != 0) {
        snprintf(body, size, "connect-failed:errno=%d", errno);
    } else {
        snprintf(body, size, "connect-ok");
    }
    close(fd);
}

FezzResult fezz_handle_v2(const uint8_t *request_bytes, size_t request_len, FezzBuffer *out) {
    FezzRequest *request = NULL;
    FezzResult result = fezz_request_decode(request_bytes, request_len, &request);
    if (result != FEZZ_RESULT_OK) {
        return result;
    }
    FezzStr path = fezz_request_path(request);
    char argument[1024];
    query_text(request, argument, sizeof argument);
    char body[512];
    uint16_t status = 200;
    if (is_path(path, "/hello")) {
        snprintf(body, sizeof body, "hello from the jail");
    } else if (is_path(path, "/read")) {
        read_file(argument, body, sizeof body);
    } else if (is_path(path, "/write")) {
        write_file(argument, body, sizeof body);
    } else if (is_path(path, "/connect")) {
        connect_port(argument, body, sizeof body);
    } else if (is_path(path, "/env")) {
        const char *value = getenv(argument);
        if (value == NULL) {
            snprintf(body, sizeof body, "env-unset");
        } else {
            snprintf(body, sizeof body, "env:%s", value);
        }
    } else if (is_path(path, "/tty")) {
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
        if (fd < 0) {
            snprintf(body, sizeof body, "tty-failed:errno=%d", errno);
        } else {
            close(fd);
            snprintf(body, sizeof body, "tty-ok");
        }
    } else if (is_path(path, "/escape")) {
        escape(body, sizeof body);
    } else if (is_path(path, "/hang")) {
        for (;;) {
            pause();
        }
    } else if (is_path(path, "/segfault")) {
        /* A real fault: a raised SIGSEGV returns from the Rust runtime's handler. */
        int *volatile nowhere = NULL;
        *nowhere = 1;
        snprintf(body, sizeof body, "the fault did not kill the function");
    } else {
        status = 404;
        snprintf(body, sizeof body, "no such mode");
    }

    FezzResponse *response = NULL;
    if ((result = fezz_response_new(status, &response)) == FEZZ_RESULT_OK &&
        (result = fezz_response_set_body(response, (const uint8_t *)body, strlen(body))) ==
            FEZZ_RESULT_OK) {
        result = fezz_response_encode(response, out);
    }
    fezz_response_free(response);
    fezz_request_free(request);
    return result;
}

uint32_t fezz_abi_version(void) { return FEZZ_ABI_VERSION; }

void fezz_free_v2(FezzBuffer buffer) { fezz_buffer_free(buffer); }
