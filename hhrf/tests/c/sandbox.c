/*
 * A function library for hhrf's sandbox tests (hhrf/tests/sandbox.rs), compiled once with
 * `cc -shared -fPIC -pthread`. What it tries is chosen by the manifest's env:
 *
 *   SANDBOX_OP   = read | write | tmpdir | write_big | connect | bind | ptrace | mount | unshare |
 *                  clone_ns | keyring | clone3 | signal_host | abstract_unix | whoami |
 *                  kill_all | forkbomb
 *   SANDBOX_PATH = the file for read and write; the abstract socket name for abstract_unix
 *   SANDBOX_PORT = the TCP port on 127.0.0.1 for connect
 *
 * (whoami, kill_all and forkbomb are for hhrf/tests/privileges.rs.)
 *
 * When the operation succeeds, the answer is 200 with the body "<op>: ok" (tmpdir: the path
 * of TMPDIR; clone3: "clone3 errno=N fork=ok thread=ok"). When it fails, the call fails
 * (FEZZ_RESULT_FUNCTION_FAILED) with the fezz-error {code: "refused", message:
 * "<op>: <strerror> (errno N)"}, which hhrf answers with 500 and logs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct FezzBuffer {
    uint8_t *data;
    size_t len;
    size_t capacity;
} FezzBuffer;

/* A CBOR head: major type `major` with argument `value` (< 65536). */
static size_t head(uint8_t *out, uint8_t major, size_t value) {
    if (value < 24) {
        out[0] = (uint8_t)(major << 5 | value);
        return 1;
    }
    if (value < 256) {
        out[0] = (uint8_t)(major << 5 | 24);
        out[1] = (uint8_t)value;
        return 2;
    }
    out[0] = (uint8_t)(major << 5 | 25);
    out[1] = (uint8_t)(value >> 8);
    out[2] = (uint8_t)value;
    return 3;
}

static FezzBuffer buffer_of(const uint8_t *bytes, size_t len) {
    FezzBuffer buffer = {malloc(len), len, len};
    if (buffer.data == NULL) {
        FezzBuffer none = {NULL, 0, 0};
        return none;
    }
    memcpy(buffer.data, bytes, len);
    return buffer;
}

/* {0: 2, 1: 200, 2: [], 3: body} */
static int32_t answer(FezzBuffer *response, const char *body) {
    uint8_t out[4200];
    size_t len = strlen(body);
    if (len > 4096) len = 4096;
    size_t at = 0;
    out[at++] = 0xa4;
    out[at++] = 0x00;
    out[at++] = 0x02;
    out[at++] = 0x01;
    out[at++] = 0x18;
    out[at++] = 200;
    out[at++] = 0x02;
    out[at++] = 0x80;
    out[at++] = 0x03;
    at += head(out + at, 2, len);
    memcpy(out + at, body, len);
    at += len;
    *response = buffer_of(out, at);
    return 0;
}

/* {0: "refused", 1: message}, result FEZZ_RESULT_FUNCTION_FAILED (3). */
static int32_t refuse(FezzBuffer *response, const char *op, int error) {
    char message[512];
    snprintf(message, sizeof message, "%s: %s (errno %d)", op, strerror(error), error);
    uint8_t out[600];
    size_t len = strlen(message);
    size_t at = 0;
    out[at++] = 0xa2;
    out[at++] = 0x00;
    at += head(out + at, 3, 7);
    memcpy(out + at, "refused", 7);
    at += 7;
    out[at++] = 0x01;
    at += head(out + at, 3, len);
    memcpy(out + at, message, len);
    at += len;
    *response = buffer_of(out, at);
    return 3;
}

static void *thread_main(void *arg) { return arg; }

/* 0, or the errno of the first step that failed. */
static int run(const char *op, char *detail, size_t detail_len) {
    const char *path = getenv("SANDBOX_PATH");
    if (strcmp(op, "read") == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) return errno;
        char byte;
        if (read(fd, &byte, 1) < 0) return errno;
        close(fd);
        return 0;
    }
    if (strcmp(op, "write") == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return errno;
        if (write(fd, "written", 7) != 7) return errno;
        close(fd);
        return 0;
    }
    if (strcmp(op, "tmpdir") == 0) {
        const char *tmpdir = getenv("TMPDIR");
        if (tmpdir == NULL) return ENOENT;
        char file[4096];
        snprintf(file, sizeof file, "%s/probe", tmpdir);
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return errno;
        if (write(fd, "scratch", 7) != 7) return errno;
        close(fd);
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/locked", tmpdir);
        if (mkdir(sub, 0700) != 0) return errno;
        /* A folder the function makes unreadable: hhrf must still remove it. */
        if (chmod(sub, 0) != 0) return errno;
        snprintf(detail, detail_len, "%s", tmpdir);
        return 0;
    }
    if (strcmp(op, "write_big") == 0) {
        /* 128 KiB into TMPDIR/big, one 4 KiB write at a time. */
        char file[4096];
        snprintf(file, sizeof file, "%s/big", getenv("TMPDIR"));
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return errno;
        static char block[4096];
        for (int i = 0; i < 32; i++) {
            if (write(fd, block, sizeof block) != (ssize_t)sizeof block) {
                int error = errno;
                close(fd);
                return error;
            }
        }
        close(fd);
        return 0;
    }
    if (strcmp(op, "connect") == 0 || strcmp(op, "bind") == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return errno;
        struct sockaddr_in address;
        memset(&address, 0, sizeof address);
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int result;
        if (op[0] == 'c') {
            const char *port = getenv("SANDBOX_PORT");
            address.sin_port = htons((uint16_t)atoi(port ? port : "1"));
            result = connect(fd, (struct sockaddr *)&address, sizeof address);
        } else {
            address.sin_port = htons(0);
            result = bind(fd, (struct sockaddr *)&address, sizeof address);
        }
        int error = errno;
        close(fd);
        return result == 0 ? 0 : error;
    }
    if (strcmp(op, "ptrace") == 0) {
        pid_t child = fork();
        if (child < 0) return errno;
        if (child == 0) {
            pause();
            _exit(0);
        }
        long result = ptrace(PTRACE_ATTACH, child, NULL, NULL);
        int error = errno;
        if (result == 0) {
            waitpid(child, NULL, __WALL);
            ptrace(PTRACE_DETACH, child, NULL, NULL);
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, __WALL);
        return result == 0 ? 0 : error;
    }
    if (strcmp(op, "mount") == 0) {
        /* In a private mount namespace when allowed, so the host's mounts never change. */
        if (unshare(CLONE_NEWNS) == 0) {
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        }
        const char *tmpdir = getenv("TMPDIR");
        if (mount("fezz-test", tmpdir, "tmpfs", 0, "size=1m") != 0) return errno;
        umount2(tmpdir, MNT_DETACH);
        return 0;
    }
    if (strcmp(op, "unshare") == 0) {
        return unshare(CLONE_NEWUTS) == 0 ? 0 : errno;
    }
    if (strcmp(op, "clone_ns") == 0) {
        long child = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
        if (child < 0) return errno;
        if (child == 0) _exit(0);
        waitpid((pid_t)child, NULL, 0);
        return 0;
    }
    if (strcmp(op, "keyring") == 0) {
        /* add_key("user", "fezz-test", "x", 1, KEY_SPEC_PROCESS_KEYRING) */
        long key = syscall(SYS_add_key, "user", "fezz-test", "x", (size_t)1, -2);
        return key >= 0 ? 0 : errno;
    }
    if (strcmp(op, "clone3") == 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.exit_signal = SIGCHLD;
        long child = syscall(SYS_clone3, &args, sizeof args);
        if (child == 0) _exit(0);
        int clone3_errno = child < 0 ? errno : 0;
        if (child > 0) waitpid((pid_t)child, NULL, 0);
        pid_t forked = fork();
        if (forked < 0) return errno;
        if (forked == 0) _exit(7);
        int status = 0;
        if (waitpid(forked, &status, 0) != forked || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 7)
            return ECHILD;
        pthread_t thread;
        int error = pthread_create(&thread, NULL, thread_main, NULL);
        if (error != 0) return error;
        pthread_join(thread, NULL);
        snprintf(detail, detail_len, "clone3 errno=%d fork=ok thread=ok", clone3_errno);
        return 0;
    }
    if (strcmp(op, "signal_host") == 0) {
        /* Signal 0 (only the permission check) to a process outside the call: the runner's
         * parent, or, when the runner contains the call in a PID namespace (the parent is
         * outside it and reads as 0), the namespace's init, PID 1, which runs unconfined. */
        pid_t target = getppid();
        if (target == 0) {
            target = 1;
        }
        return kill(target, 0) == 0 ? 0 : errno;
    }
    if (strcmp(op, "abstract_unix") == 0) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) return errno;
        struct sockaddr_un address;
        memset(&address, 0, sizeof address);
        address.sun_family = AF_UNIX;
        size_t len = strlen(path);
        if (len + 1 > sizeof address.sun_path) return ENAMETOOLONG;
        memcpy(address.sun_path + 1, path, len); /* sun_path[0] == 0: the abstract namespace */
        int result =
            connect(fd, (struct sockaddr *)&address, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
        int error = errno;
        close(fd);
        return result == 0 ? 0 : error;
    }
    if (strcmp(op, "whoami") == 0) {
        char file[4096];
        snprintf(file, sizeof file, "%s/mine", getenv("TMPDIR"));
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) return errno;
        close(fd);
        snprintf(detail, detail_len, "uid=%u euid=%u gid=%u groups=%d tmpdir=ok", (unsigned)getuid(),
                 (unsigned)geteuid(), (unsigned)getgid(), getgroups(0, NULL));
        return 0;
    }
    if (strcmp(op, "kill_all") == 0) {
        /* Never as root: that would signal every process of the machine. */
        if (getuid() == 0 || geteuid() == 0) return EPERM;
        int result = kill(-1, SIGKILL);
        snprintf(detail, detail_len, "kill(-1, SIGKILL)=%d errno=%d", result, result == 0 ? 0 : errno);
        return 0;
    }
    if (strcmp(op, "forkbomb") == 0) {
        /* Forks (children wait) until fork fails, at most 200 times; then ends them all. */
        static pid_t children[200];
        int count = 0, error = 0;
        while (count < 200) {
            pid_t child = fork();
            if (child < 0) {
                error = errno;
                break;
            }
            if (child == 0) {
                pause();
                _exit(0);
            }
            children[count++] = child;
        }
        for (int i = 0; i < count; i++) kill(children[i], SIGKILL);
        for (int i = 0; i < count; i++) waitpid(children[i], NULL, 0);
        snprintf(detail, detail_len, "forked=%d errno=%d", count, error);
        return 0;
    }
    return EINVAL;
}

uint32_t fezz_abi_version(void) { return 2; }

int32_t fezz_handle_v2(const uint8_t *request, size_t request_len, FezzBuffer *response) {
    (void)request;
    (void)request_len;
    const char *op = getenv("SANDBOX_OP");
    if (op == NULL) op = "none";
    char detail[4096] = "";
    int error = run(op, detail, sizeof detail);
    if (error != 0) {
        return refuse(response, op, error);
    }
    char body[4200];
    if (detail[0] != '\0') {
        snprintf(body, sizeof body, "%s", detail);
    } else {
        snprintf(body, sizeof body, "%s: ok", op);
    }
    return answer(response, body);
}

void fezz_free_v2(FezzBuffer buffer) { free(buffer.data); }
