/* Logging: to the journal (with structured fields) when started by
 * systemd, to stderr otherwise.  Errors are logged once, at the edge that
 * decides what happens next; helpers return the (negative) error so that
 * "return log_error_errno(r, ...)" works.  "%m" expands to the errno given. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

/* Process-wide logging setup.  This is the one piece of global state in
 * vescd: every module logs, and threading a logger through pure code would
 * only add noise.  It holds configuration, never model state. */
void log_setup(void);                     /* journal if JOURNAL_STREAM / INVOCATION_ID */
int log_set_journal_socket(const char *path); /* tests: journal records go there (and the journal is the target) */
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s); /* "debug", "info", ..., or -EINVAL */
const char *log_level_to_string(int level);

/* Returns -abs(error) (or 0 if error is 0), so it can be returned directly.
 * uuid may be NULL; can_id < 0 means none. */
_printf_(6, 7) int log_internal(int level, int error, const char *uuid, int can_id, const char *func,
                                const char *fmt, ...);

/* Rate limits for messages a peer can trigger (a CAN frame, a client
 * connecting): at most LOG_RATELIMIT_BURST messages per call site in each
 * LOG_RATELIMIT_INTERVAL_USEC; the rest are counted, and the first message
 * after the interval is preceded by "suppressed K messages", like
 * journald's RateLimitBurst/RateLimitIntervalSec.  One LogRatelimit per
 * call site (the log_rl_*() macros keep it in a static). */
#define LOG_RATELIMIT_INTERVAL_USEC (10 * USEC_PER_SEC)
#define LOG_RATELIMIT_BURST 10

typedef struct LogRatelimit {
        uint64_t begin_usec;   /* start of the current interval; 0: none yet */
        unsigned n;            /* messages let through in it */
        unsigned suppressed;   /* messages dropped in it */
} LogRatelimit;

/* Pure: may a message go out at now_usec?  Returns 1 (log it; if
 * *ret_suppressed > 0 first say that many were dropped) or 0 (drop it). */
int log_ratelimit_test(LogRatelimit *rl, uint64_t now_usec, uint64_t interval_usec, unsigned burst,
                       unsigned *ret_suppressed);

_printf_(7, 8) int log_internal_ratelimit(LogRatelimit *rl, int level, int error, const char *uuid, int can_id,
                                          const char *func, const char *fmt, ...);

#define log_rl_full_errno(level, error, uuid, can_id, ...)                                              \
        ({                                                                                             \
                static LogRatelimit _log_rl;                                                           \
                log_internal_ratelimit(&_log_rl, level, error, uuid, can_id, __func__, __VA_ARGS__);   \
        })
#define log_rl_debug(...)   log_rl_full_errno(LOG_DEBUG, 0, NULL, -1, __VA_ARGS__)
#define log_rl_info(...)    log_rl_full_errno(LOG_INFO, 0, NULL, -1, __VA_ARGS__)
#define log_rl_notice(...)  log_rl_full_errno(LOG_NOTICE, 0, NULL, -1, __VA_ARGS__)
#define log_rl_warning(...) log_rl_full_errno(LOG_WARNING, 0, NULL, -1, __VA_ARGS__)
#define log_rl_warning_errno(e, ...) log_rl_full_errno(LOG_WARNING, e, NULL, -1, __VA_ARGS__)
#define log_rl_ctl_info(c, ...)                                                                        \
        log_rl_full_errno(LOG_INFO, 0, (c)->uuid_str[0] ? (c)->uuid_str : NULL, (c)->id, __VA_ARGS__)
#define log_rl_ctl_warning(c, ...)                                                                     \
        log_rl_full_errno(LOG_WARNING, 0, (c)->uuid_str[0] ? (c)->uuid_str : NULL, (c)->id, __VA_ARGS__)

#define log_full_errno(level, error, ...) log_internal(level, error, NULL, -1, __func__, __VA_ARGS__)
#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* Per-controller helpers: prefix "controller <uuid> (id N): " and add the
 * journal fields VESC_UUID= and VESC_CAN_ID=.  c is a Controller *. */
#define log_ctl_full_errno(c, level, error, ...)                                                      \
        log_internal(level, error, (c)->uuid_str[0] ? (c)->uuid_str : NULL, (c)->id, __func__, __VA_ARGS__)
#define log_ctl_debug(c, ...)   log_ctl_full_errno(c, LOG_DEBUG, 0, __VA_ARGS__)
#define log_ctl_info(c, ...)    log_ctl_full_errno(c, LOG_INFO, 0, __VA_ARGS__)
#define log_ctl_notice(c, ...)  log_ctl_full_errno(c, LOG_NOTICE, 0, __VA_ARGS__)
#define log_ctl_warning(c, ...) log_ctl_full_errno(c, LOG_WARNING, 0, __VA_ARGS__)
#define log_ctl_error(c, ...)   log_ctl_full_errno(c, LOG_ERR, 0, __VA_ARGS__)
#define log_ctl_warning_errno(c, e, ...) log_ctl_full_errno(c, LOG_WARNING, e, __VA_ARGS__)
#define log_ctl_error_errno(c, e, ...)   log_ctl_full_errno(c, LOG_ERR, e, __VA_ARGS__)
#define log_ctl_debug_errno(c, e, ...)   log_ctl_full_errno(c, LOG_DEBUG, e, __VA_ARGS__)
