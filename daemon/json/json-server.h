/* The JSON socket adapter's I/O part: listeners (Unix socket, socket activation,
 * optional read-only TCP), clients with bounded input and output, telemetry watches
 * and coalesced notifications.  It knows the daemon only through JsonServerOps, a seam
 * that json-daemon.c fills from the Daemon context and tests fill with a fake board. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "json/json-proto.h"

struct event_base;
typedef struct JsonServer JsonServer;
typedef struct JsonCall JsonCall;
/* The server's state of one controller (its latest reading, rendered once for
 * all watchers): created by json_server_controller_added(), kept by the caller
 * with its own record of the controller (the daemon: an adapter slot of the
 * core's controller, daemon_adapter_data()), passed to every event about it,
 * freed by json_server_controller_removed().  The server keeps no list of
 * controllers of its own. */
typedef struct JsonCtl JsonCtl;

#define JSON_SERVER_MAX_CLIENTS_DEFAULT 32U
#define JSON_SERVER_OUTPUT_SOFT_DEFAULT (64U * 1024U)   /* above: coalesce, stop reading */
#define JSON_SERVER_OUTPUT_HARD_DEFAULT (1024U * 1024U) /* above: disconnect */
#define JSON_SERVER_STALL_TIMEOUT_DEFAULT_USEC (30U * 1000000U)
#define JSON_SERVER_IN_FLIGHT_DEFAULT 8U
#define JSON_SERVER_PER_UID_DEFAULT 8U
#define JSON_SERVER_LINE_TIMEOUT_DEFAULT_USEC (10U * 1000000U)

typedef struct JsonServerConfig {
        const char *socket_path;     /* bound unless socket activation passed one; NULL: none */
        const char *tcp_listen;      /* "127.0.0.1:7878", "[::1]:7878"; NULL or "": off */
        const char *admin_group;     /* members may call privileged methods; NULL: root only */
        const char *version;         /* daemon version for the hello notification */
        unsigned max_clients;        /* 0: default */
        size_t output_soft_limit;    /* 0: default */
        size_t output_hard_limit;    /* 0: default */
        uint64_t stall_timeout_usec; /* 0: default */
        unsigned max_in_flight;      /* 0: default */
        unsigned max_clients_per_uid; /* Unix socket clients per non-root uid; 0: default */
        uint64_t line_timeout_usec;  /* a partial line older than this closes; 0: default */
        bool socket_activation;      /* look for a listening socket from sd_listen_fds() */
} JsonServerConfig;

/* What the server needs from the daemon.  Snapshot getters return a new reference
 * (the shared render functions); errors are -errno (-ENODEV: no such controller).
 * ctl is the caller's controller given to json_server_controller_added(). */
typedef struct JsonServerOps {
        /* array of controller snapshots */
        int (*list_controllers)(void *userdata, json_t **ret);
        int (*get_controller)(void *userdata, const char *uuid, json_t **ret);
        /* the same snapshot of a known controller (notifications) */
        int (*snapshot_controller)(void *userdata, void *ctl, json_t **ret);
        /* the server's state of the controller with this UUID (what
         * json_server_controller_added() returned for it), NULL if none */
        JsonCtl *(*find_controller)(void *userdata, const char *uuid);
        /* board snapshot: mismatch, mismatch_reasons, ... */
        int (*get_board)(void *userdata, json_t **ret);
        /* latest telemetry values object of one controller; ret_id: current CAN id */
        int (*get_telemetry)(void *userdata, void *ctl, json_t **ret, int *ret_id);
        /* job snapshot for job.changed */
        int (*get_job)(void *userdata, uint32_t job, json_t **ret);
        /* Every other method (privileged or engine-backed).  Returns -errno, 0 with
         * *ret_result set (answered now), or 1 when pending: the daemon then calls
         * json_call_complete() exactly once, possibly after the client left.
         * -EOPNOTSUPP answers "not supported yet". */
        int (*call)(void *userdata, JsonMethod method, json_t *params, JsonCall *call, json_t **ret_result);
        /* Whether a Unix-socket peer may call privileged methods: 1 yes, 0 no.  Unset:
         * root or a member of JsonServerConfig.admin_group. */
        int (*check_admin)(void *userdata, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);
        /* Called first thing in json_server_free() (unhook from the daemon). */
        void (*detach)(void *userdata);
} JsonServerOps;

/* Bind and listen on a numeric "ADDR:PORT" or "[V6ADDR]:PORT" (no DNS lookup):
 * a non-blocking, close-on-exec TCP socket with SO_REUSEADDR.  option names the
 * setting in the error messages ("tcp-listen").  Returns 0 and *ret_fd, or a
 * logged -errno.  Also used by the HTTP listener (daemon/http). */
int json_tcp_listen(const char *spec, const char *option, int *ret_fd);

int json_server_new_with_ops(struct event_base *base, const JsonServerConfig *cfg, const JsonServerOps *ops,
                             void *userdata, JsonServer **ret);
JsonServer *json_server_free(JsonServer *s);
static inline void json_server_freep(JsonServer **s) {
        if (*s)
                json_server_free(*s);
}

void json_call_complete(JsonCall *call, int error, json_t *result);
/* The reason for people of the error the daemon answers for this call (the
 * error's data.detail): set before JsonServerOps.call() returns -errno, or
 * through json_call_fail() for a pending call.  Copied. */
void json_call_set_detail(JsonCall *call, const char *detail);
/* The caller is root (root-only options such as allow_mismatch). */
bool json_call_is_root(const JsonCall *call);
/* json_call_complete() of an error, with its reason (may be NULL). */
void json_call_fail(JsonCall *call, int error, const char *detail);

/* Events from the daemon.  Cheap: they mark work and send what each client can take.
 * A controller became known: returns the server's state of it (NULL: out of
 * memory or not a valid UUID; the controller is then not served). */
JsonCtl *json_server_controller_added(JsonServer *s, const char *uuid, void *ctl);
/* The highest rate (Hz) any client watches this controller at; 0 if none. */
double json_server_watch_rate_hz(JsonServer *s, const JsonCtl *h);
/* It went away: every client gets controller.removed; h is freed. */
void json_server_controller_removed(JsonServer *s, JsonCtl *h);
void json_server_controller_changed(JsonServer *s, JsonCtl *h);
/* A fresh reading (time_usec: its receive time, CLOCK_MONOTONIC; 0 for now). */
void json_server_telemetry(JsonServer *s, JsonCtl *h, uint64_t time_usec, uint64_t wall_usec);
/* Frees the state of a controller without telling anyone (the caller's
 * controllers left when the server goes: after ops.detach, or after
 * json_server_free()).  Returns NULL. */
JsonCtl *json_ctl_free(JsonCtl *h);
void json_server_board_changed(JsonServer *s);
/* An image set was pruned: firmware.set_removed {id, reason} to everyone. */
void json_server_set_removed(JsonServer *s, const char *id, const char *reason);
void json_server_job_changed(JsonServer *s, uint32_t job);

unsigned json_server_n_clients(const JsonServer *s);

/* The daemon's JSON socket (json-daemon.c): json_server_new_with_ops() with ops that
 * read the Daemon's model through render.h and run operations.h. */
typedef struct Daemon Daemon;
typedef struct FwManager FwManager;
int json_server_new(Daemon *d, FwManager *fw, const JsonServerConfig *cfg, JsonServer **ret);

/* The daemon's objects as the socket serves them, also served by daemon/http
 * under /api/ (json-daemon.c; NULL on -ENOMEM): the controllers' snapshots
 * (an array), the board's, {"jobs"}, {"history"}, {"sets"}. */
json_t *json_daemon_controllers(Daemon *d);
json_t *json_daemon_board(Daemon *d);
json_t *json_daemon_jobs(FwManager *fw);
json_t *json_daemon_history(FwManager *fw);
json_t *json_daemon_sets(FwManager *fw);
