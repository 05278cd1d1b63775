/* Logging to the journal or stderr.  See log.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* See log.h for why this is global: configuration only. */
static struct {
        int max_level;
        bool journal;
        /* the journal's native socket, written without blocking (below) */
        int journal_fd;
        struct sockaddr_un journal_addr;
        unsigned journal_dropped; /* records the full socket refused since the last one it took */
} log_config = {
        .max_level = LOG_INFO,
        .journal_fd = -1,
        .journal_addr = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" },
};

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/**
 * log_setup() - choose the log target
 *
 * The journal when systemd started us (JOURNAL_STREAM or INVOCATION_ID set),
 * stderr otherwise.
 */
void log_setup(void) {
        log_config.journal = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
}

/**
 * log_set_journal_socket() - where journal records go (tests)
 * @path: a datagram socket speaking journald's native protocol
 *
 * Also makes the journal the target, as under systemd.
 *
 * Returns: 0, or -ENAMETOOLONG.
 */
int log_set_journal_socket(const char *path) {
        if (strlen(path) >= sizeof log_config.journal_addr.sun_path)
                return -ENAMETOOLONG;
        strcpy(log_config.journal_addr.sun_path, path);
        log_config.journal = true;
        log_config.journal_dropped = 0;
        return 0;
}

/**
 * log_set_max_level() - set the most verbose level that is logged
 * @level: LOG_ERR ... LOG_DEBUG
 */
void log_set_max_level(int level) {
        log_config.max_level = level;
}

/**
 * log_get_max_level() - current maximum level
 *
 * Returns: the level.
 */
int log_get_max_level(void) {
        return log_config.max_level;
}

/**
 * log_level_from_string() - parse a level name
 * @s: "debug", "info", "notice", "warning", "err"/"error", "crit", ... or a digit
 *
 * Returns: the level, or -EINVAL.
 */
int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int) i;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

/**
 * log_level_to_string() - name of a level
 * @level: the level
 *
 * Returns: a static string, or NULL if out of range.
 */
const char *log_level_to_string(int level) {
        return level >= 0 && (size_t) level < ELEMENTSOF(level_names) ? level_names[level] : NULL;
}

/* One field of journald's native protocol: NAME=value and a newline, or,
 * when the value holds a newline, NAME, a newline, the value's length as
 * 64-bit little endian, the value and a newline.  Returns the new end of
 * buf, NULL if it does not fit. */
static char *journal_field(char *p, const char *end, const char *name, const char *value) {
        size_t nl = strlen(name), vl = strlen(value);

        if ((size_t) (end - p) < nl + vl + 10)
                return NULL;
        memcpy(p, name, nl);
        p += nl;
        if (!strchr(value, '\n'))
                *p++ = '=';
        else {
                *p++ = '\n';
                for (int i = 0; i < 8; i++)
                        *p++ = (char) (((uint64_t) vl >> (8 * i)) & 0xff);
        }
        memcpy(p, value, vl);
        p += vl;
        *p++ = '\n';
        return p;
}

/* Sends one record, never blocking: sd_journal_sendv() writes to a blocking
 * socket, so a journald that cannot keep up (its socket's queue full) would
 * stall the event loop, every client with it.  A record the socket does not
 * take now is dropped and counted; the next one that goes through is
 * preceded by "dropped K log messages". */
static void journal_send(const char *message, int level, const char *func, const char *uuid, int can_id,
                         int error) {
        char buf[4096], num[24], *p = buf, *end = buf + sizeof buf;

        if (log_config.journal_fd < 0) {
                log_config.journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (log_config.journal_fd < 0) {
                        log_config.journal_dropped++;
                        return;
                }
        }
        if (log_config.journal_dropped > 0) {
                unsigned dropped = log_config.journal_dropped;
                char notice[96];

                log_config.journal_dropped = 0;
                snprintf(notice, sizeof notice, "dropped %u log messages: the journal's socket was full", dropped);
                journal_send(notice, LOG_WARNING, __func__, NULL, -1, 0);
                if (log_config.journal_dropped > 0) {
                        /* still full: this one is dropped as well */
                        log_config.journal_dropped = dropped + 1;
                        return;
                }
        }

        p = journal_field(p, end, "MESSAGE", message);
        snprintf(num, sizeof num, "%d", level);
        p = p ? journal_field(p, end, "PRIORITY", num) : NULL;
        p = p ? journal_field(p, end, "CODE_FUNC", func) : NULL;
        if (p && uuid)
                p = journal_field(p, end, "VESC_UUID", uuid);
        if (p && can_id >= 0) {
                snprintf(num, sizeof num, "%d", can_id);
                p = journal_field(p, end, "VESC_CAN_ID", num);
        }
        if (p && error) {
                snprintf(num, sizeof num, "%d", error);
                p = journal_field(p, end, "ERRNO", num);
        }
        if (!p || sendto(log_config.journal_fd, buf, (size_t) (p - buf), MSG_DONTWAIT | MSG_NOSIGNAL,
                         (const struct sockaddr *) &log_config.journal_addr, sizeof log_config.journal_addr) < 0)
                log_config.journal_dropped++;
}

/* The message itself: level already checked. */
static void log_emit(int level, int error, const char *uuid, int can_id, const char *func, const char *msg) {
        char prefix[80] = "";

        if (uuid)
                snprintf(prefix, sizeof prefix, "controller %s (id %d): ", uuid, can_id);
        else if (can_id >= 0)
                snprintf(prefix, sizeof prefix, "controller id %d: ", can_id);

        if (log_config.journal) {
                char message[1200];

                snprintf(message, sizeof message, "%s%s", prefix, msg);
                journal_send(message, level, func, uuid, can_id, error);
        } else
                fprintf(stderr, "vescd[%s]: %s%s\n", level_names[level & 7], prefix, msg);
}

static int log_internalv(int level, int error, const char *uuid, int can_id, const char *func, const char *fmt,
                         va_list ap) {
        char msg[1024];
        int saved = errno;

        errno = error;
        vsnprintf(msg, sizeof msg, fmt, ap);
        errno = saved;
        log_emit(level, error, uuid, can_id, func, msg);
        errno = saved;
        return -error;
}

/**
 * log_internal() - log one message
 * @level: syslog level
 * @error: errno for "%m" (sign ignored), 0 for none
 * @uuid: controller UUID for the VESC_UUID= field and prefix, or NULL
 * @can_id: controller CAN id for VESC_CAN_ID=, or < 0
 * @func: calling function (CODE_FUNC=)
 * @fmt: printf format
 *
 * Returns: -abs(@error).
 */
int log_internal(int level, int error, const char *uuid, int can_id, const char *func, const char *fmt, ...) {
        va_list ap;
        int r;

        error = abs(error);
        if (level > log_config.max_level)
                return -error;
        va_start(ap, fmt);
        r = log_internalv(level, error, uuid, can_id, func, fmt, ap);
        va_end(ap);
        return r;
}

/**
 * log_ratelimit_test() - does a rate-limited message go out
 * @rl: the call site's state
 * @now_usec: a monotonic time
 * @interval_usec: length of one interval
 * @burst: messages allowed per interval
 * @ret_suppressed: receives the number dropped in the previous interval
 *   when this message opens a new one (0 otherwise)
 *
 * Returns: 1 to log, 0 to drop (counted).
 */
int log_ratelimit_test(LogRatelimit *rl, uint64_t now_usec, uint64_t interval_usec, unsigned burst,
                       unsigned *ret_suppressed) {
        *ret_suppressed = 0;
        if (rl->begin_usec == 0 || now_usec < rl->begin_usec || now_usec - rl->begin_usec >= interval_usec) {
                *ret_suppressed = rl->suppressed;
                rl->begin_usec = now_usec ? now_usec : 1;
                rl->n = 0;
                rl->suppressed = 0;
        }
        if (rl->n < burst) {
                rl->n++;
                return 1;
        }
        rl->suppressed++;
        return 0;
}

/**
 * log_internal_ratelimit() - log_internal() under a call site's rate limit
 * @rl: the call site's state (static)
 *
 * Other parameters and return value as log_internal().  Dropped messages
 * are counted; the next one that goes out is preceded by
 * "suppressed K messages".
 */
int log_internal_ratelimit(LogRatelimit *rl, int level, int error, const char *uuid, int can_id, const char *func,
                           const char *fmt, ...) {
        struct timespec ts;
        unsigned suppressed;
        va_list ap;
        int r;

        error = abs(error);
        if (level > log_config.max_level)
                return -error;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (!log_ratelimit_test(rl, (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000,
                                LOG_RATELIMIT_INTERVAL_USEC, LOG_RATELIMIT_BURST, &suppressed))
                return -error;
        if (suppressed > 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "%s: suppressed %u messages", func, suppressed);
                log_emit(level, 0, NULL, -1, func, msg);
        }
        va_start(ap, fmt);
        r = log_internalv(level, error, uuid, can_id, func, fmt, ap);
        va_end(ap);
        return r;
}
