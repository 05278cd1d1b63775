/* vbus-dump: join a vbus hub and print every frame in candump log format,
 * "(sec.usec) vbus ID#DATA", one line per frame, flushed at once, so tests
 * and people can watch the userspace bus the way they watch can0. */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "vbus-frame.h"

static uint64_t now_usec(clockid_t clk) {
        struct timespec ts;

        (void) clock_gettime(clk, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void help(void) {
        printf("Usage: vbus-dump [OPTIONS] PATH\n"
               "Print every frame on the vbus hub at PATH in candump log format.\n\n"
               "  -n, --count N      exit after N frames (status 1 if the timeout hits first)\n"
               "  -t, --timeout S    exit after S seconds (fractions allowed)\n"
               "  -h, --help         this text\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "count", required_argument, NULL, 'n' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned long long arg_count = 0, seen = 0;
        double arg_timeout = 0;
        uint64_t deadline = 0;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int c;

        while ((c = getopt_long(argc, argv, "n:t:h", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        arg_count = strtoull(optarg, NULL, 10);
                        break;
                case 't':
                        arg_timeout = strtod(optarg, NULL);
                        if (!(arg_timeout > 0)) {
                                fprintf(stderr, "vbus-dump: invalid timeout '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        if (optind + 1 != argc) {
                help();
                return 2;
        }
        if (strlen(argv[optind]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "vbus-dump: path too long\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[optind]);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "vbus-dump: cannot join '%s': %s\n", sa.sun_path, strerror(errno));
                return 1;
        }
        if (arg_timeout > 0)
                deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) (arg_timeout * 1e6);

        while (arg_count == 0 || seen < arg_count) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                struct can_frame f;
                char text[VBUS_FRAME_TEXT_MAX];
                int timeout_ms = -1;
                ssize_t n;
                uint64_t t;

                if (deadline > 0) {
                        t = now_usec(CLOCK_MONOTONIC);
                        if (t >= deadline)
                                return arg_count > 0 ? 1 : 0;
                        timeout_ms = (int) ((deadline - t + 999) / 1000);
                }
                if (poll(&pfd, 1, timeout_ms) < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "vbus-dump: poll: %s\n", strerror(errno));
                        return 1;
                }
                if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;

                n = recv(fd, &f, sizeof(f), MSG_TRUNC);
                if (n == 0) {
                        fprintf(stderr, "vbus-dump: hub closed the connection\n");
                        return arg_count > 0 ? 1 : 0;
                }
                if (n < 0) {
                        fprintf(stderr, "vbus-dump: recv: %s\n", strerror(errno));
                        return 1;
                }
                if (n != (ssize_t) sizeof(f))
                        continue; /* not a vbus frame; the hub never sends those */

                t = now_usec(CLOCK_REALTIME);
                (void) vbus_frame_format(&f, text, sizeof(text));
                printf("(%010llu.%06llu) vbus %s\n", (unsigned long long) (t / USEC_PER_SEC),
                       (unsigned long long) (t % USEC_PER_SEC), text);
                fflush(stdout);
                seen++;
        }
        return 0;
}
