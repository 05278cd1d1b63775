/* JSON socket adapter, the I/O half: listening sockets, one bufferevent per client,
 * request dispatch, telemetry watches and notifications.
 *
 * Memory per client is bounded and slow readers never delay anyone else:
 *  - input: a line longer than JSON_PROTO_LINE_MAX is answered with an error and
 *    discarded up to its newline; input is not even read while the client's output is
 *    above the soft limit, so requests cannot pile up responses;
 *  - output: notifications are never queued as messages.  An event only marks the
 *    object dirty for each client ("pending"); what is pending is rendered and written
 *    when the client can take it (output below the soft limit), so a slow reader gets
 *    the latest state of each object and loses intermediate telemetry samples, never
 *    the other way round;
 *  - a client that stays above the soft limit for the stall timeout, or whose output
 *    exceeds the hard limit (a huge response), is disconnected.
 * Writes are non-blocking (bufferevents), so no client can delay another.
 *
 * Clients are never freed from inside their own callbacks: client_kill() disables
 * the client and a deferred "reaper" event frees it at the next loop iteration. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "core/errors.h"
#include "json/accept-limit.h"
#include "json/json-server.h"
#include "json/watch-limit.h"
#include "core/log.h"
#include "macro.h"

#define UUID_STR_MAX 24
#define new0(t, n) ((t *) calloc((n), sizeof(t)))
#define CLIENT_CTLS_MAX 256U /* more than a CAN bus can hold */
#define CLIENT_JOBS_PENDING_MAX 64U
#define PEER_GROUPS_MAX 4096U

typedef struct JsonClient JsonClient;

/* The server's state of one controller (json-server.h), kept by the caller with its
 * own record of the controller: the latest reading, counted so that each client can
 * tell whether it has seen it, and rendered once for all watchers. */
struct JsonCtl {
        char uuid[UUID_STR_MAX + 1];
        void *ctl;              /* the caller's controller (JsonServerOps) */
        uint64_t seq;           /* readings so far */
        uint64_t time_usec;     /* the latest reading's receive time (CLOCK_MONOTONIC), 0: none */
        uint64_t wall_usec;     /* the same moment, CLOCK_REALTIME */
        json_t *values;         /* its rendering, or NULL (not yet) */
        int id;
};

/* A controller notification not yet sent to a client; later events fold into it. */
typedef enum PendingChange {
        PENDING_NONE,
        PENDING_CHANGED,
        PENDING_ADDED,
        PENDING_REMOVED,
} PendingChange;

/* What one client knows about one controller, keyed by the server's state of it. */
typedef struct ClientCtl {
        JsonCtl *ctl;  /* NULL: the controller went away (its uuid stays for the notice
                        * and for a watch of it, which resumes when it comes back) */
        char uuid[UUID_STR_MAX + 1];
        bool watched;
        bool initial; /* a new watch: send the latest sample even if it is not new */
        PendingChange pending;
        uint64_t sent_seq;
        WatchLimit limit;
} ClientCtl;

struct JsonCall {
        JsonClient *client; /* NULL once the client is gone */
        json_t *id;         /* NULL: the request was a notification, send nothing */
        JsonMethod method;
        char *detail;       /* the error's reason for people, or NULL */
        JsonCall *prev, *next;
};

struct JsonClient {
        JsonServer *server;
        JsonClient *prev, *next;
        struct bufferevent *bev;
        uint64_t serial;
        uid_t uid;
        pid_t pid;
        bool admin, read_only;
        bool dead;
        bool discarding; /* dropping the remainder of an over-long line */
        bool reading;    /* input enabled (not held back by a full output) */
        bool eof;        /* the client shut down its sending side */

        bool watching, watch_all;
        uint64_t period_usec;
        json_t *fields; /* NULL: every field */
        ClientCtl *ctls;
        size_t n_ctls;

        bool board_pending;
        uint32_t jobs_pending[CLIENT_JOBS_PENDING_MAX];
        size_t n_jobs_pending;

        unsigned in_flight;
        JsonCall *calls;

        struct event *watch_timer;
        uint64_t watch_timer_usec; /* when it is armed for (CLOCK_MONOTONIC), 0: not armed */
        struct event *stall_timer;
        struct event *line_timer; /* a partial line is pending: its age limit */
};

struct JsonServer {
        struct event_base *base;
        JsonServerOps ops;
        void *userdata;

        char *version;
        unsigned max_clients;
        size_t soft_limit, hard_limit;
        uint64_t stall_timeout_usec;
        unsigned max_in_flight;
        unsigned max_per_uid;
        uint64_t line_timeout_usec;
        char *admin_group;
        gid_t admin_gid;
        bool have_admin_gid;

        struct evconnlistener *unix_listener, *tcp_listener;
        AcceptLimit accept_limit;    /* both listeners' connections per loop iteration */
        char *bound_path; /* we bound it (not socket activation): unlink at exit */

        JsonClient *clients;
        unsigned n_clients;
        uint64_t next_serial;

        struct event *reaper;
        JsonClient *dead_clients;
        bool attached; /* returned to the caller: ops.detach runs at free */
};

static uint64_t now_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                abort(); /* CLOCK_MONOTONIC cannot fail on Linux */
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* The CLOCK_REALTIME µs of a recent CLOCK_MONOTONIC time. */
static uint64_t wall_of(uint64_t mono_usec) {
        struct timespec ts;
        uint64_t now = now_usec(), wall;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        wall = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        return mono_usec <= now ? wall - (now - mono_usec) : wall + (mono_usec - now);
}

static struct timeval usec_to_timeval(uint64_t usec) {
        return (struct timeval) {
                .tv_sec = (time_t) (usec / USEC_PER_SEC),
                .tv_usec = (suseconds_t) (usec % USEC_PER_SEC),
        };
}

/* ---------------------------------------------------------------- per-client state */

static ClientCtl *client_find_ctl(JsonClient *c, const JsonCtl *h) {
        for (size_t i = 0; i < c->n_ctls; i++)
                if (c->ctls[i].ctl == h)
                        return &c->ctls[i];
        return NULL;
}

/* A request names a controller by UUID (also one that went away). */
static ClientCtl *client_find_uuid(JsonClient *c, const char *uuid) {
        for (size_t i = 0; i < c->n_ctls; i++)
                if (strcmp(c->ctls[i].uuid, uuid) == 0)
                        return &c->ctls[i];
        return NULL;
}

static ClientCtl *client_get_ctl(JsonClient *c, JsonCtl *h) {
        ClientCtl *e, *n;

        e = client_find_ctl(c, h);
        if (e)
                return e;
        /* it came back: the client's state of it under its UUID resumes */
        e = client_find_uuid(c, h->uuid);
        if (e && !e->ctl) {
                e->ctl = h;
                e->sent_seq = 0;
                return e;
        }
        if (c->n_ctls >= CLIENT_CTLS_MAX)
                return NULL;
        n = realloc(c->ctls, (c->n_ctls + 1) * sizeof(*n));
        if (!n)
                return NULL;
        c->ctls = n;
        e = &c->ctls[c->n_ctls++];
        *e = (ClientCtl) { .ctl = h };
        memcpy(e->uuid, h->uuid, sizeof e->uuid);
        return e;
}

/* Forget what is left of controllers that went away, once the client was told
 * and watches none of them. */
static void client_compact_ctls(JsonClient *c) {
        for (size_t i = 0; i < c->n_ctls;) {
                ClientCtl *e = &c->ctls[i];

                if (!e->ctl && e->pending == PENDING_NONE && !e->watched)
                        *e = c->ctls[--c->n_ctls];
                else
                        i++;
        }
}

/* ---------------------------------------------------------------- clients: lifetime */

static void call_detach(JsonCall *call) {
        JsonClient *c = call->client;

        if (!c)
                return;
        if (call->prev)
                call->prev->next = call->next;
        else
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
        call->client = NULL;
        c->in_flight--;
}

static void call_free(JsonCall *call) {
        call_detach(call);
        json_decref(call->id);
        free(call->detail);
        free(call);
}

static void client_unlink(JsonClient **head, JsonClient *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                *head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
}

static void client_push(JsonClient **head, JsonClient *c) {
        c->prev = NULL;
        c->next = *head;
        if (*head)
                (*head)->prev = c;
        *head = c;
}

static void client_check_eof(JsonClient *c);

static JsonClient *client_free(JsonClient *c) {
        if (!c)
                return NULL;
        /* In-flight calls stay alive until the daemon completes them; they just no
         * longer have anyone to answer. */
        while (c->calls)
                call_detach(c->calls);
        if (c->bev)
                bufferevent_free(c->bev); /* closes the fd (BEV_OPT_CLOSE_ON_FREE) */
        if (c->watch_timer)
                event_free(c->watch_timer);
        if (c->stall_timer)
                event_free(c->stall_timer);
        if (c->line_timer)
                event_free(c->line_timer);
        json_decref(c->fields);
        free(c->ctls);
        free(c);
        return NULL;
}

/* Stop serving a client now; it is freed from the reaper event, never from inside
 * one of its own callbacks. */
static void client_kill(JsonClient *c, const char *why) {
        JsonServer *s = c->server;

        if (c->dead)
                return;
        log_rl_debug("JSON client %" PRIu64 " (uid %u): disconnecting: %s", c->serial, (unsigned) c->uid, why);
        c->dead = true;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
        if (c->watch_timer)
                event_del(c->watch_timer);
        if (c->stall_timer)
                event_del(c->stall_timer);
        client_unlink(&s->clients, c);
        s->n_clients--;
        client_push(&s->dead_clients, c);
        event_active(s->reaper, EV_TIMEOUT, 0);
}

static void reaper_cb(evutil_socket_t fd, short what, void *userdata) {
        JsonServer *s = userdata;

        while (s->dead_clients) {
                JsonClient *c = s->dead_clients;

                client_unlink(&s->dead_clients, c);
                client_free(c);
        }
}

/* ---------------------------------------------------------------- clients: output */

static size_t client_output_size(JsonClient *c) {
        return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static bool client_congested(JsonClient *c) {
        return c->dead || client_output_size(c) > c->server->soft_limit;
}

static void client_check_output(JsonClient *c) {
        size_t n;

        if (c->dead)
                return;
        n = client_output_size(c);
        if (n > c->server->hard_limit) {
                client_kill(c, "output above the hard limit");
                return;
        }
        if (n > c->server->soft_limit && !evtimer_pending(c->stall_timer, NULL)) {
                struct timeval tv = usec_to_timeval(c->server->stall_timeout_usec);

                (void) evtimer_add(c->stall_timer, &tv);
        }
}

/* Queue one message (reference stolen).  Failures disconnect the client: a client
 * that cannot be told what happened cannot be served correctly either. */
static void client_send(JsonClient *c, json_t *msg) {
        _cleanup_free_ char *line = NULL;
        struct evbuffer *out;
        size_t n, done = 0;

        if (c->dead) {
                json_decref(msg);
                return;
        }
        if (!msg) {
                client_kill(c, "out of memory");
                return;
        }
        if (json_proto_encode(msg, &line, &n) < 0) {
                json_decref(msg);
                client_kill(c, "cannot queue output");
                return;
        }
        out = bufferevent_get_output(c->bev);
        /* Nothing queued: write now.  The bufferevent would only write on the next
         * loop iteration, after an epoll round for EPOLLOUT (latency), and would keep
         * an output chain per client meanwhile (memory).  What the socket does not
         * take, and any error, goes through the buffer as before. */
        if (evbuffer_get_length(out) == 0) {
                ssize_t k = send(bufferevent_getfd(c->bev), line, n, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k > 0)
                        done = (size_t) k;
        }
        if (done < n && evbuffer_add(out, line + done, n - done) < 0) {
                json_decref(msg);
                client_kill(c, "cannot queue output");
                return;
        }
        json_decref(msg);
        client_check_output(c);
}

static void client_send_error(JsonClient *c, json_t *id, int code, const char *detail) {
        client_send(c, json_proto_error_response(id, code, NULL, NULL, detail));
}

static void client_send_errno(JsonClient *c, json_t *id, int error, const char *detail) {
        const VescdError *e = vescd_error_from_errno(error);

        client_send(c, json_proto_error_response(id, e->json_code, e->description, e->name, detail));
}

/* ---------------------------------------------------------------- notifications */

/* The latest reading's values, rendered once per reading for every watcher. */
static int ctl_values(JsonServer *s, JsonCtl *h, json_t **ret) {
        int r;

        if (!h->values) {
                if (!s->ops.get_telemetry)
                        return -EOPNOTSUPP;
                r = s->ops.get_telemetry(s->userdata, h->ctl, &h->values, &h->id);
                if (r < 0)
                        return r;
        }
        *ret = json_incref(h->values);
        return 0;
}

/* A sample: time_usec is the reading's receive time (CLOCK_MONOTONIC),
 * wall_time_usec the same moment in CLOCK_REALTIME; no reading yet: now. */
static json_t *telemetry_sample(const json_t *fields, const JsonCtl *h, json_t *values) {
        json_t *filtered = json_proto_filter_fields(values, fields);
        uint64_t t = h->time_usec ? h->time_usec : now_usec();
        uint64_t wall = h->time_usec ? h->wall_usec : wall_of(t);

        if (!filtered)
                return NULL;
        return json_pack("{s:s, s:i, s:I, s:I, s:o}", "uuid", h->uuid, "id", h->id, "time_usec", (json_int_t) t,
                         "wall_time_usec", (json_int_t) wall, "values", filtered);
}

/* Arm the watch timer for at (CLOCK_MONOTONIC µs) unless it fires earlier already. */
static void client_arm_watch_timer(JsonClient *c, uint64_t at, uint64_t now) {
        struct timeval tv;

        if (c->watch_timer_usec != 0 && c->watch_timer_usec <= at && evtimer_pending(c->watch_timer, NULL))
                return;
        tv = usec_to_timeval(at > now ? at - now : 0);
        c->watch_timer_usec = at;
        (void) evtimer_add(c->watch_timer, &tv);
}

/* One watched controller: send its latest reading if the client has not seen it
 * and the watch's rate limit (watch-limit.h, on the readings' receive times)
 * lets it go now; else note when it may (*next).  Returns false when the client
 * can take nothing more now (congested or gone). */
static bool client_watch_one(JsonClient *c, ClientCtl *e, uint64_t now, uint64_t *next) {
        JsonCtl *h = e->ctl;
        json_t *values = NULL;
        uint64_t t, release;

        if (!e->watched || !h || (h->seq == e->sent_seq && !e->initial))
                return true;
        t = h->time_usec ? h->time_usec : now;
        release = watch_limit_release(&e->limit, c->period_usec, t);
        if (release > now && release > t) {
                *next = MIN(*next, release);
                return true;
        }
        if (client_congested(c))
                return false; /* flushed again once the client drained its output */

        e->initial = false;
        e->sent_seq = h->seq;
        if (ctl_values(c->server, h, &values) < 0 || json_object_size(values) == 0) {
                json_decref(values);
                return true; /* nothing to send for this reading */
        }
        /* the schedule counts from the release (the reading's time, or the slot
         * it waited for), never from when this ran */
        watch_limit_sent(&e->limit, c->period_usec, release);
        client_send(c, json_proto_notification(JSON_NOTIFY_TELEMETRY, telemetry_sample(c->fields, h, values)));
        json_decref(values);
        return !c->dead;
}

/* Send every watched controller's reading that is due; those not yet due arm the
 * watch timer, and readings that arrive meanwhile replace them. */
static void client_flush_telemetry(JsonClient *c) {
        uint64_t now, next = UINT64_MAX;

        if (!c->watching || c->dead)
                return;
        now = now_usec();
        for (size_t i = 0; i < c->n_ctls; i++)
                if (!client_watch_one(c, &c->ctls[i], now, &next))
                        return;
        if (next != UINT64_MAX)
                client_arm_watch_timer(c, next, now);
}

static void client_flush(JsonClient *c) {
        JsonServer *s = c->server;
        json_t *snap;
        int r;

        if (c->dead)
                return;

        if (c->board_pending && !client_congested(c) && s->ops.get_board) {
                c->board_pending = false;
                if (s->ops.get_board(s->userdata, &snap) >= 0)
                        client_send(c, json_proto_notification(JSON_NOTIFY_BOARD_CHANGED, snap));
        }

        for (size_t i = 0; i < c->n_ctls && !client_congested(c); i++) {
                ClientCtl *e = &c->ctls[i];
                PendingChange p = e->pending;

                if (p == PENDING_NONE)
                        continue;
                e->pending = PENDING_NONE;
                r = p == PENDING_REMOVED || !e->ctl || !s->ops.snapshot_controller
                            ? -ENODEV
                            : s->ops.snapshot_controller(s->userdata, e->ctl->ctl, &snap);
                if (r == -ENODEV)
                        client_send(c, json_proto_notification(JSON_NOTIFY_CONTROLLER_REMOVED,
                                                               json_pack("{s:s}", "uuid", e->uuid)));
                else if (r >= 0)
                        client_send(c, json_proto_notification(p == PENDING_ADDED ? JSON_NOTIFY_CONTROLLER_ADDED
                                                                                  : JSON_NOTIFY_CONTROLLER_CHANGED,
                                                               snap));
        }
        if (!c->dead)
                client_compact_ctls(c);

        while (c->n_jobs_pending > 0 && !client_congested(c) && s->ops.get_job) {
                uint32_t job = c->jobs_pending[0];

                memmove(c->jobs_pending, c->jobs_pending + 1, (--c->n_jobs_pending) * sizeof(uint32_t));
                if (s->ops.get_job(s->userdata, job, &snap) >= 0)
                        client_send(c, json_proto_notification(JSON_NOTIFY_JOB_CHANGED, snap));
        }

        client_flush_telemetry(c);
}

/* ---------------------------------------------------------------- methods */

static json_t *param(const JsonRequest *req, const char *name) {
        return json_object_get(req->params, name);
}

static bool watch_includes(JsonClient *c, const JsonCtl *h) {
        ClientCtl *e;

        if (!c->watching)
                return false;
        if (c->watch_all)
                return true;
        e = client_find_ctl(c, h);
        return e && e->watched;
}

/* The server's state of a controller a request names (the daemon's lookup). */
static JsonCtl *server_find(JsonServer *s, const char *uuid) {
        return s->ops.find_controller && uuid ? s->ops.find_controller(s->userdata, uuid) : NULL;
}

static int check_controllers_exist(JsonServer *s, json_t *uuids, const char **ret_missing) {
        size_t i;
        json_t *u;

        if (!s->ops.find_controller)
                return -EOPNOTSUPP;
        json_array_foreach(uuids, i, u)
                if (!server_find(s, json_string_value(u))) {
                        *ret_missing = json_string_value(u);
                        return -ENODEV;
                }
        return 0;
}

/* The uuids of every controller the daemon lists, for "all controllers". */
static int all_controller_uuids(JsonServer *s, json_t **ret) {
        json_auto_t *list = NULL, *out = NULL;
        size_t i;
        json_t *ctl;
        int r;

        if (!s->ops.list_controllers)
                return -EOPNOTSUPP;
        r = s->ops.list_controllers(s->userdata, &list);
        if (r < 0)
                return r;
        out = json_array();
        if (!out)
                return -ENOMEM;
        json_array_foreach(list, i, ctl) {
                json_t *u = json_object_get(ctl, "uuid");

                if (json_proto_uuid_valid(json_string_value(u)) && json_array_append(out, u) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int method_telemetry_watch(JsonClient *c, const JsonRequest *req, json_t **ret) {
        JsonServer *s = c->server;
        json_t *uuids = param(req, "controllers"), *fields = param(req, "fields"), *rate = param(req, "rate_hz");
        json_auto_t *all = NULL;
        double rate_hz = rate ? json_real_value(rate) : JSON_PROTO_RATE_DEFAULT_HZ;
        const char *missing = "";
        char detail[64];
        size_t i;
        json_t *u;
        int r;

        if (uuids) {
                r = check_controllers_exist(s, uuids, &missing);
                if (r < 0) {
                        (void) snprintf(detail, sizeof(detail), "no controller %s", missing);
                        client_send_errno(c, req->id, r, detail);
                        return 0; /* answered */
                }
        }

        /* A new watch replaces the previous one. */
        for (size_t k = 0; k < c->n_ctls; k++)
                c->ctls[k].watched = false;
        json_decref(c->fields);
        c->fields = json_incref(fields);
        c->period_usec = json_proto_rate_to_period_usec(rate_hz);
        c->watching = true;
        c->watch_all = !uuids;

        if (!uuids) {
                r = all_controller_uuids(s, &all);
                if (r < 0)
                        return r;
        }
        json_array_foreach(uuids ?: all, i, u) {
                JsonCtl *h = server_find(s, json_string_value(u));
                ClientCtl *e;

                if (!h)
                        continue; /* went away meanwhile */
                e = client_get_ctl(c, h);
                if (!e)
                        return -ENOMEM;
                e->watched = e->initial = true;
        }

        *ret = json_pack("{s:O?, s:O?, s:f}", "controllers", uuids, "fields", fields, "rate_hz", rate_hz);
        return *ret ? 1 : -ENOMEM;
}

static int method_telemetry_unwatch(JsonClient *c, const JsonRequest *req, json_t **ret) {
        json_t *uuids = param(req, "controllers"), *u;
        size_t i;

        if (!uuids) {
                c->watching = false;
                for (size_t k = 0; k < c->n_ctls; k++)
                        c->ctls[k].watched = false;
                event_del(c->watch_timer);
        } else {
                /* Watching "all" turns into watching the others explicitly. */
                c->watch_all = false;
                json_array_foreach(uuids, i, u) {
                        ClientCtl *e = client_find_uuid(c, json_string_value(u) ?: "");

                        if (e)
                                e->watched = false;
                }
        }
        *ret = json_object();
        return *ret ? 1 : -ENOMEM;
}

static int method_telemetry_poll(JsonClient *c, const JsonRequest *req, json_t **ret) {
        JsonServer *s = c->server;
        json_auto_t *uuids = NULL, *samples = NULL;
        json_t *u;
        size_t i;
        const char *missing = "";
        char detail[64];
        int r;

        if (param(req, "controllers")) {
                uuids = json_incref(param(req, "controllers"));
                r = check_controllers_exist(s, uuids, &missing);
                if (r < 0) {
                        (void) snprintf(detail, sizeof(detail), "no controller %s", missing);
                        client_send_errno(c, req->id, r, detail);
                        return 0;
                }
        } else {
                r = all_controller_uuids(s, &uuids);
                if (r < 0)
                        return r;
        }

        samples = json_array();
        if (!samples)
                return -ENOMEM;
        json_array_foreach(uuids, i, u) {
                JsonCtl *h = server_find(s, json_string_value(u));
                json_t *values = NULL;

                if (!h)
                        continue; /* went away meanwhile */
                r = ctl_values(s, h, &values);
                if (r < 0)
                        return r;
                r = json_array_append_new(samples, telemetry_sample(param(req, "fields"), h, values));
                json_decref(values);
                if (r < 0)
                        return -ENOMEM;
        }
        *ret = json_pack("{s:O}", "samples", samples);
        return *ret ? 1 : -ENOMEM;
}

/* Returns 1 with *ret set, 0 if already answered, 2 if pending, or -errno. */
static int client_dispatch(JsonClient *c, JsonRequest *req, json_t **ret) {
        JsonServer *s = c->server;
        const char *name = json_method_to_string(req->method);
        char detail[160];
        json_t *snap = NULL;
        JsonCall *call;
        int r;

        switch (req->method) {
        case JSON_METHOD_CONTROLLERS_LIST:
                if (!s->ops.list_controllers)
                        return -EOPNOTSUPP;
                r = s->ops.list_controllers(s->userdata, &snap);
                if (r < 0)
                        return r;
                *ret = json_pack("{s:o}", "controllers", snap);
                return *ret ? 1 : -ENOMEM;

        case JSON_METHOD_CONTROLLER_GET:
                if (!s->ops.get_controller)
                        return -EOPNOTSUPP;
                r = s->ops.get_controller(s->userdata, json_string_value(param(req, "uuid")), ret);
                if (r == -ENODEV) {
                        (void) snprintf(detail, sizeof(detail), "no controller %s",
                                        json_string_value(param(req, "uuid")));
                        client_send_errno(c, req->id, r, detail);
                        return 0;
                }
                return r < 0 ? r : 1;

        case JSON_METHOD_BOARD_GET:
                if (!s->ops.get_board)
                        return -EOPNOTSUPP;
                r = s->ops.get_board(s->userdata, ret);
                return r < 0 ? r : 1;

        case JSON_METHOD_TELEMETRY_WATCH:
                return method_telemetry_watch(c, req, ret);

        case JSON_METHOD_TELEMETRY_UNWATCH:
                return method_telemetry_unwatch(c, req, ret);

        case JSON_METHOD_TELEMETRY_POLL:
                return method_telemetry_poll(c, req, ret);

        default:
                break;
        }

        /* Everything else goes to the daemon, after the caller's rights are checked. */
        if (json_method_is_privileged(req->method)) {
                if (c->read_only) {
                        (void) snprintf(detail, sizeof(detail), "%s: the TCP listener is read-only", name);
                        client_send_errno(c, req->id, -EPERM, detail);
                        return 0;
                }
                if (!c->admin) {
                        (void) snprintf(detail, sizeof(detail), "%s needs root or membership of group '%s'",
                                        name, s->admin_group ?: "(none)");
                        client_send_errno(c, req->id, -EPERM, detail);
                        return 0;
                }
                if (json_method_spec(req->method)->privilege == METHOD_ROOT && c->uid != 0) {
                        (void) snprintf(detail, sizeof(detail), "%s is allowed for root only", name);
                        client_send_errno(c, req->id, -EPERM, detail);
                        return 0;
                }
        }
        if (c->in_flight >= s->max_in_flight) {
                (void) snprintf(detail, sizeof(detail), "at most %u requests may be in flight", s->max_in_flight);
                client_send_errno(c, req->id, -ENOBUFS, detail);
                return 0;
        }
        if (!s->ops.call) {
                r = -EOPNOTSUPP;
                goto not_supported;
        }

        call = new0(JsonCall, 1);
        if (!call)
                return -ENOMEM;
        call->method = req->method;
        call->id = json_incref(req->id);
        call->client = c;
        call->next = c->calls;
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        c->in_flight++;

        r = s->ops.call(s->userdata, req->method, req->params, call, ret);
        if (r == 1)
                return 2; /* json_call_complete() answers later */
        if (r < 0 && call->detail) {
                /* the daemon said exactly why */
                if (req->id)
                        client_send_errno(c, req->id, r, call->detail);
                call_free(call);
                return 0;
        }
        call_free(call);
        if (r >= 0)
                return 1;

not_supported:
        if (r == -EOPNOTSUPP) {
                (void) snprintf(detail, sizeof(detail), "%s is not supported by this vescd yet", name);
                client_send_errno(c, req->id, r, detail);
                return 0;
        }
        return r;
}

static void client_handle_line(JsonClient *c, const char *line, size_t n) {
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;
        json_t *result = NULL;
        int r;

        /* Tolerate CRLF and blank lines from interactive tools (socat, nc). */
        if (n > 0 && line[n - 1] == '\r')
                n--;
        if (strspn(line, " \t") >= n)
                return;

        r = json_proto_parse_request(line, n, &req, &err);
        if (r < 0) {
                if (r == -ENOMEM)
                        client_send_error(c, NULL, JSON_RPC_INTERNAL_ERROR, "out of memory");
                else if (!err.notification)
                        client_send_error(c, err.id, err.code, err.detail);
                json_proto_error_done(&err);
                return;
        }

        r = client_dispatch(c, &req, &result);
        if (r < 0) {
                if (req.id)
                        client_send_errno(c, req.id, r, NULL);
        } else if (r == 1) {
                if (req.id)
                        client_send(c, json_proto_response(req.id, result));
                else
                        json_decref(result);
                /* A new watch sends the latest samples right away. */
                if (req.method == JSON_METHOD_TELEMETRY_WATCH)
                        client_flush_telemetry(c);
        }
        json_request_done(&req);
}

/**
 * json_call_complete() - answer a request the daemon accepted as pending
 * @call: the handle passed to JsonServerOps.call(); freed here
 * @error: 0 or -errno
 * @result: the result on success (reference stolen; NULL: empty object)
 *
 * Safe when the client has gone meanwhile: nothing is sent then.
 */
void json_call_complete(JsonCall *call, int error, json_t *result) {
        JsonClient *c;

        assert(call);
        c = call->client;
        if (c && !c->dead && call->id) {
                if (error < 0) {
                        json_decref(result);
                        client_send_errno(c, call->id, error, call->detail);
                } else
                        client_send(c, json_proto_response(call->id, result));
        } else
                json_decref(result);
        call_free(call);
        if (c)
                client_check_eof(c);
}

/**
 * json_call_is_root() - whether the caller is root (for root-only options)
 * @call: the call
 *
 * Returns: true for a Unix-socket client with uid 0 that is still there.
 */
bool json_call_is_root(const JsonCall *call) {
        return call && call->client && !call->client->read_only && call->client->uid == 0;
}

/**
 * json_call_set_detail() - say why a call fails
 * @call: the handle passed to JsonServerOps.call()
 * @detail: the reason for people (copied), or NULL
 *
 * Sent as the error's data.detail when the call is answered with an error:
 * by JsonServerOps.call() returning -errno, or by json_call_complete().
 */
void json_call_set_detail(JsonCall *call, const char *detail) {
        assert(call);
        free(call->detail);
        call->detail = detail ? strdup(detail) : NULL;
}

/**
 * json_call_fail() - answer a pending request with an error and its reason
 * @call: the handle passed to JsonServerOps.call(); freed here
 * @error: -errno
 * @detail: the reason for people (data.detail), or NULL
 */
void json_call_fail(JsonCall *call, int error, const char *detail) {
        json_call_set_detail(call, detail);
        json_call_complete(call, error, NULL);
}

/* ---------------------------------------------------------------- clients: input */

/* Slowloris: a partial line may not sit longer than the line timeout.  The
 * clock starts when bytes of an unfinished line arrive after the last
 * complete line; idle clients (watchers) have no partial line. */
static void client_update_line_timer(JsonClient *c, bool line_done) {
        size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));

        if (line_done || left == 0)
                event_del(c->line_timer);
        if (left > 0 && !evtimer_pending(c->line_timer, NULL)) {
                struct timeval tv = usec_to_timeval(c->server->line_timeout_usec);
                evtimer_add(c->line_timer, &tv);
        }
}

static void client_process_input(JsonClient *c) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        bool line_done = false;

        while (!c->dead) {
                struct evbuffer_ptr eol;
                size_t eol_len = 0, n;
                const char *line;

                /* Backpressure: read no more requests while the client does not read
                 * its answers. */
                if (client_congested(c)) {
                        if (c->reading) {
                                bufferevent_disable(c->bev, EV_READ);
                                c->reading = false;
                        }
                        return;
                }

                eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
                if (eol.pos < 0) {
                        n = evbuffer_get_length(in);
                        if (n > JSON_PROTO_LINE_MAX) {
                                if (!c->discarding) {
                                        char detail[64];

                                        (void) snprintf(detail, sizeof(detail), "request longer than %u bytes",
                                                        JSON_PROTO_LINE_MAX);
                                        client_send_error(c, NULL, JSON_RPC_INVALID_REQUEST, detail);
                                        c->discarding = true;
                                }
                                (void) evbuffer_drain(in, n);
                        }
                        break;
                }

                n = (size_t) eol.pos;
                line_done = true;
                if (c->discarding) {
                        c->discarding = false;
                        (void) evbuffer_drain(in, n + 1);
                        continue;
                }
                line = (const char *) evbuffer_pullup(in, (ev_ssize_t) n + 1);
                if (!line) {
                        client_kill(c, "out of memory");
                        return;
                }
                client_handle_line(c, line, n);
                if (c->dead)
                        return;
                (void) evbuffer_drain(in, n + 1);
        }

        if (!c->dead && !c->reading && !c->eof) {
                bufferevent_enable(c->bev, EV_READ);
                c->reading = true;
        }
        if (!c->dead)
                client_update_line_timer(c, line_done);
}

static void client_read_cb(struct bufferevent *bev, void *userdata) {
        client_process_input(userdata);
}

/* Called when the output drained to the low watermark (half the soft limit). */
static void client_write_cb(struct bufferevent *bev, void *userdata) {
        JsonClient *c = userdata;

        if (client_output_size(c) <= c->server->soft_limit)
                event_del(c->stall_timer);
        client_flush(c);
        client_process_input(c);
        client_check_eof(c);
}

/* After the client's end of input, stay until its answers are out (socat and nc
 * shut down their sending side after the last request) and as long as it watches
 * telemetry; a write error ends it once the peer has closed completely. */
static void client_check_eof(JsonClient *c) {
        if (c->eof && !c->dead && !c->watching && c->in_flight == 0 && client_output_size(c) == 0)
                client_kill(c, "end of input");
        /* A watcher that only shut down its sending side stays; one that
         * closed the connection is gone at once, not at the next write
         * (which may be far off while the controllers are silent): a Unix
         * socket whose peer closed polls POLLHUP. */
        if (c->eof && !c->dead) {
                struct pollfd p = { .fd = bufferevent_getfd(c->bev), .events = POLLOUT };
                if (p.fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
                        client_kill(c, "connection closed");
        }
}

static void client_event_cb(struct bufferevent *bev, short what, void *userdata) {
        JsonClient *c = userdata;

        if (what & BEV_EVENT_EOF) {
                c->eof = true;
                c->reading = false;
                /* from now on the write callback runs only once everything is out */
                bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
                client_process_input(c); /* a last request without its newline is dropped */
                client_check_eof(c);
        }
        else if (what & BEV_EVENT_ERROR)
                client_kill(c, strerror(EVUTIL_SOCKET_ERROR()));
}

static void client_stall_cb(evutil_socket_t fd, short what, void *userdata) {
        JsonClient *c = userdata;

        log_rl_info("JSON client %" PRIu64 " (uid %u) does not read its output, disconnecting.",
                 c->serial, (unsigned) c->uid);
        client_kill(c, "stalled");
}

static void client_line_cb(evutil_socket_t fd, short what, void *userdata) {
        JsonClient *c = userdata;

        log_rl_info("JSON client %" PRIu64 " (uid %u) sent a partial line and nothing more for %" PRIu64
                    " s, disconnecting.", c->serial, (unsigned) c->uid, c->server->line_timeout_usec / USEC_PER_SEC);
        client_kill(c, "partial line timed out");
}

static void client_watch_cb(evutil_socket_t fd, short what, void *userdata) {
        JsonClient *c = userdata;

        c->watch_timer_usec = 0;
        client_flush_telemetry(c);
}

/* ---------------------------------------------------------------- credentials */

/* Supplementary groups come from SO_PEERGROUPS: the kernel's record of the peer's
 * groups at connect() time, with none of the races of reading /proc/PID/status (the
 * PID may be reused) and none of the blocking NSS lookups of getgrouplist(). */
static bool peer_is_admin(JsonServer *s, int fd, const struct ucred *cred) {
        _cleanup_free_ gid_t *groups = NULL;
        socklen_t len = 64 * sizeof(gid_t);
        size_t n;

        for (;;) {
                gid_t *g = realloc(groups, len);

                if (!g)
                        return false;
                groups = g;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0)
                        break;
                if (errno != ERANGE || len > PEER_GROUPS_MAX * sizeof(gid_t))
                        return false; /* fail closed */
        }
        n = len / sizeof(gid_t);

        if (s->ops.check_admin)
                return s->ops.check_admin(s->userdata, cred->uid, cred->gid, groups, n) > 0;

        if (cred->uid == 0)
                return true;
        if (!s->have_admin_gid)
                return false;
        if (cred->gid == s->admin_gid)
                return true;
        for (size_t i = 0; i < n; i++)
                if (groups[i] == s->admin_gid)
                        return true;
        return false;
}

/* ---------------------------------------------------------------- listeners */

static void refuse_client(int fd, const char *detail) {
        const VescdError *e = vescd_error_from_errno(EUSERS);
        json_auto_t *msg = json_proto_error_response(NULL, e->json_code, e->description, e->name, detail);
        _cleanup_free_ char *line = NULL;
        size_t n;

        /* Best effort: the socket buffer of a fresh connection takes one line. */
        if (msg && json_proto_encode(msg, &line, &n) >= 0)
                (void) send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void) close(fd);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *userdata) {
        JsonServer *s = userdata;
        _cleanup_free_ JsonClient *c = NULL;
        JsonClient *client;

        accept_limit_count(&s->accept_limit, l);
        if (s->n_clients >= s->max_clients) {
                char detail[96];

                log_rl_warning("JSON socket: %u clients connected, refusing another.", s->n_clients);
                (void) snprintf(detail, sizeof detail, "too many clients: %u connected, the most max-clients allows",
                                s->n_clients);
                refuse_client(fd, detail);
                return;
        }

        c = new0(JsonClient, 1);
        if (!c) {
                (void) close(fd);
                return;
        }
        c->server = s;
        c->serial = ++s->next_serial;
        c->uid = (uid_t) -1;
        c->read_only = l == s->tcp_listener;
        if (!c->read_only) {
                struct ucred cred = {};
                socklen_t len = sizeof(cred);
                bool have_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) >= 0;

                if (have_cred) {
                        c->uid = cred.uid;
                        c->pid = cred.pid;
                }
                /* the per-uid limit first: a refused connection costs no group
                 * lookup (the daemon's admin check may ask NSS) */
                if (c->uid != 0) {
                        unsigned same = 0;
                        for (JsonClient *o = s->clients; o; o = o->next)
                                if (!o->read_only && o->uid == c->uid)
                                        same++;
                        if (same >= s->max_per_uid) {
                                char detail[112];

                                log_rl_warning("JSON socket: uid %u has %u clients connected, refusing another.",
                                               (unsigned) c->uid, same);
                                (void) snprintf(detail, sizeof detail,
                                                "too many clients for uid %u: %u connected, the most max-clients-per-uid allows",
                                                (unsigned) c->uid, same);
                                refuse_client(fd, detail);
                                return;
                        }
                }
                if (have_cred)
                        c->admin = peer_is_admin(s, fd, &cred);
        }

        c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
        c->watch_timer = evtimer_new(s->base, client_watch_cb, c);
        c->stall_timer = evtimer_new(s->base, client_stall_cb, c);
        c->line_timer = evtimer_new(s->base, client_line_cb, c);
        if (!c->bev || !c->watch_timer || !c->stall_timer || !c->line_timer) {
                if (!c->bev)
                        (void) close(fd);
                client_free(TAKE_PTR(c));
                return;
        }
        bufferevent_setcb(c->bev, client_read_cb, client_write_cb, client_event_cb, c);
        bufferevent_setwatermark(c->bev, EV_WRITE, s->soft_limit / 2, 0);
        if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
                client_free(TAKE_PTR(c));
                return;
        }
        c->reading = true;

        client = TAKE_PTR(c);
        client_push(&s->clients, client);
        s->n_clients++;
        log_rl_debug("JSON client %" PRIu64 " connected (uid %u, pid %u)%s%s.", client->serial,
                  (unsigned) client->uid, (unsigned) client->pid, client->admin ? ", admin" : "",
                  client->read_only ? ", read-only TCP" : "");

        client_send(client, json_proto_hello(s->version, client->admin, client->read_only));
}

static void listener_error_cb(struct evconnlistener *l, void *userdata) {
        int e = EVUTIL_SOCKET_ERROR();

        /* EMFILE and friends: the listener would spin on a readable socket it cannot
         * accept from.  Log and carry on; libevent retries on the next readiness. */
        log_rl_warning("JSON socket: accept() failed: %s, ignoring.", strerror(e));
}

static int listener_new(JsonServer *s, int fd, struct evconnlistener **ret) {
        struct evconnlistener *l;

        l = evconnlistener_new(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
        if (!l)
                return -ENOMEM;
        evconnlistener_set_error_cb(l, listener_error_cb);
        *ret = l;
        /* at most two (the Unix socket and tcp-listen): the limit has room */
        return accept_limit_add(&s->accept_limit, l);
}

static int bind_unix(JsonServer *s, const char *path) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "JSON socket path too long: %s", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);

        /* Under systemd, RuntimeDirectory= creates the directory; started by hand,
         * create the last component (never a whole tree). */
        {
                _cleanup_free_ char *dir = strdup(path);
                char *slash = dir ? strrchr(dir, '/') : NULL;

                if (!dir)
                        return -ENOMEM;
                if (slash && slash != dir) {
                        *slash = '\0';
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                log_debug_errno(-errno, "Cannot create %s, trying anyway: %m", dir);
                }
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create JSON socket: %m");

        /* A socket file left by a crashed vescd refuses connections: replace it.  One
         * that accepts belongs to a running daemon: leave it alone. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0 || errno == EAGAIN)
                return log_error_errno(-EADDRINUSE, "JSON socket %s is in use by another process", path);
        if (errno == ECONNREFUSED)
                (void) unlink(path);
        safe_close(fd);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create JSON socket: %m");
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(-errno, "Failed to bind JSON socket %s: %m", path);
        /* Anyone who can reach the socket may read; privileged methods check the
         * caller's credentials.  The directory's mode limits who can reach it. */
        if (chmod(path, 0666) < 0) {
                r = -errno;
                (void) unlink(path);
                return log_error_errno(r, "Failed to set the mode of %s: %m", path);
        }
        if (listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                (void) unlink(path);
                return log_error_errno(r, "Failed to listen on %s: %m", path);
        }

        s->bound_path = strdup(path);
        if (!s->bound_path) {
                (void) unlink(path);
                return -ENOMEM;
        }
        r = listener_new(s, fd, &s->unix_listener);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

int json_tcp_listen(const char *spec, const char *option, int *ret_fd) {
        _cleanup_free_ char *host = NULL;
        _cleanup_close_ int fd = -1;
        struct addrinfo hints = {
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
        }, *ai = NULL;
        const char *port;
        int r, one = 1;

        /* "ADDR:PORT" or "[V6ADDR]:PORT"; numeric only, so start-up never waits on DNS. */
        if (spec[0] == '[') {
                const char *end = strchr(spec, ']');

                if (!end || end[1] != ':')
                        return log_error_errno(-EINVAL, "Invalid %s address: %s", option, spec);
                host = strndup(spec + 1, (size_t) (end - spec - 1));
                port = end + 2;
        } else {
                const char *colon = strrchr(spec, ':');

                if (!colon)
                        return log_error_errno(-EINVAL, "Invalid %s address (ADDR:PORT): %s", option, spec);
                host = strndup(spec, (size_t) (colon - spec));
                port = colon + 1;
        }
        if (!host)
                return -ENOMEM;

        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return log_error_errno(-EINVAL, "Invalid %s address %s: %s", option, spec, gai_strerror(r));

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return log_error_errno(r, "Failed to create a TCP socket for %s: %m", option);
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return log_error_errno(r, "Failed to listen on %s: %m", spec);
        }
        freeaddrinfo(ai);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int bind_tcp(JsonServer *s, const char *spec) {
        _cleanup_close_ int fd = -1;
        int r;

        r = json_tcp_listen(spec, "tcp-listen", &fd);
        if (r < 0)
                return r;
        r = listener_new(s, fd, &s->tcp_listener);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* Socket activation: a listening Unix stream socket becomes the JSON socket, a
 * listening TCP socket the read-only listener.  Other fds are not ours to touch,
 * nor those named "http" (vescd-http.socket: the HTTP listener's, daemon/http). */
static int take_activated(JsonServer *s) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(0, &names), r = 0;

        for (int fd = SD_LISTEN_FDS_START; n > 0 && fd < SD_LISTEN_FDS_START + n; fd++) {
                const char *name = names ? names[fd - SD_LISTEN_FDS_START] : NULL;

                if (name && strcmp(name, "http") == 0)
                        continue;
                if (!s->unix_listener && sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
                        (void) evutil_make_socket_nonblocking(fd);
                        r = listener_new(s, fd, &s->unix_listener);
                        if (r < 0)
                                break;
                } else if (!s->tcp_listener && sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0) {
                        (void) evutil_make_socket_nonblocking(fd);
                        r = listener_new(s, fd, &s->tcp_listener);
                        if (r < 0)
                                break;
                }
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return r < 0 ? r : 0;
}

static int resolve_group(JsonServer *s, const char *name) {
        struct group grp, *result = NULL;
        char buf[4096];
        int r;

        r = getgrnam_r(name, &grp, buf, sizeof(buf), &result);
        if (r != 0 || !result) {
                log_warning("JSON socket: admin group '%s' not found, only root may change controllers.", name);
                return 0;
        }
        s->admin_gid = result->gr_gid;
        s->have_admin_gid = true;
        return 0;
}

/**
 * json_server_new_with_ops() - start the JSON socket
 * @base: the daemon's event loop
 * @cfg: listeners and limits (copied)
 * @ops: how to reach the daemon (copied); unset operations answer "not supported"
 * @userdata: passed to every op
 * @ret: receives the server; free with json_server_free()
 *
 * Takes a socket-activated listener when @cfg asks for it and one was passed, else
 * binds @cfg->socket_path; the TCP listener is optional.  The admin group is resolved
 * once, here.
 *
 * Return: 0, or -errno (logged).
 */
int json_server_new_with_ops(struct event_base *base, const JsonServerConfig *cfg, const JsonServerOps *ops,
                             void *userdata, JsonServer **ret) {
        _cleanup_(json_server_freep) JsonServer *s = NULL;
        int r;

        assert(base);
        assert(cfg);
        assert(ops);
        assert(ret);

        s = new0(JsonServer, 1);
        if (!s)
                return -ENOMEM;
        s->base = base;
        s->ops = *ops;
        s->userdata = userdata;
        s->version = strdup(cfg->version ?: PACKAGE_VERSION);
        s->admin_group = cfg->admin_group ? strdup(cfg->admin_group) : NULL;
        if (!s->version || (cfg->admin_group && !s->admin_group))
                return -ENOMEM;
        s->max_clients = cfg->max_clients ?: JSON_SERVER_MAX_CLIENTS_DEFAULT;
        s->soft_limit = cfg->output_soft_limit ?: JSON_SERVER_OUTPUT_SOFT_DEFAULT;
        s->hard_limit = MAX(cfg->output_hard_limit ?: JSON_SERVER_OUTPUT_HARD_DEFAULT, s->soft_limit * 2);
        s->stall_timeout_usec = cfg->stall_timeout_usec ?: JSON_SERVER_STALL_TIMEOUT_DEFAULT_USEC;
        s->max_in_flight = cfg->max_in_flight ?: JSON_SERVER_IN_FLIGHT_DEFAULT;
        s->max_per_uid = cfg->max_clients_per_uid ?: JSON_SERVER_PER_UID_DEFAULT;
        s->line_timeout_usec = cfg->line_timeout_usec ?: JSON_SERVER_LINE_TIMEOUT_DEFAULT_USEC;

        s->reaper = event_new(base, -1, 0, reaper_cb, s);
        if (!s->reaper || accept_limit_init(&s->accept_limit, base) < 0)
                return -ENOMEM;

        if (s->admin_group && !ops->check_admin)
                (void) resolve_group(s, s->admin_group);

        if (cfg->socket_activation) {
                r = take_activated(s);
                if (r < 0)
                        return log_error_errno(r, "Failed to take the socket-activated JSON socket: %m");
        }
        if (!s->unix_listener && cfg->socket_path && cfg->socket_path[0]) {
                r = bind_unix(s, cfg->socket_path);
                if (r < 0)
                        return r;
        }
        if (!s->tcp_listener && cfg->tcp_listen && cfg->tcp_listen[0]) {
                r = bind_tcp(s, cfg->tcp_listen);
                if (r < 0)
                        return r;
        }

        s->attached = true;
        *ret = TAKE_PTR(s);
        return 0;
}

/**
 * json_server_free() - close every client and listener
 * @s: server, may be NULL
 *
 * Requests still pending in the daemon keep their JsonCall; completing them later is
 * safe and sends nothing.  A socket file we bound ourselves is removed.
 *
 * Return: NULL.
 */
JsonServer *json_server_free(JsonServer *s) {
        if (!s)
                return NULL;
        if (s->attached && s->ops.detach)
                s->ops.detach(s->userdata);
        while (s->clients) {
                JsonClient *c = s->clients;

                client_unlink(&s->clients, c);
                client_free(c);
        }
        while (s->dead_clients) {
                JsonClient *c = s->dead_clients;

                client_unlink(&s->dead_clients, c);
                client_free(c);
        }
        if (s->unix_listener)
                evconnlistener_free(s->unix_listener);
        if (s->tcp_listener)
                evconnlistener_free(s->tcp_listener);
        if (s->bound_path) {
                (void) unlink(s->bound_path);
                free(s->bound_path);
        }
        if (s->reaper)
                event_free(s->reaper);
        accept_limit_done(&s->accept_limit);
        free(s->version);
        free(s->admin_group);
        free(s);
        return NULL;
}

/* ---------------------------------------------------------------- daemon events */

/**
 * json_ctl_free() - free the server's state of a controller, telling nobody
 * @h: what json_server_controller_added() returned, may be NULL
 *
 * For the controllers left when the server goes (the caller's detach); a
 * controller that goes away while the server runs is
 * json_server_controller_removed().
 *
 * Returns: NULL.
 */
JsonCtl *json_ctl_free(JsonCtl *h) {
        if (h) {
                json_decref(h->values);
                free(h);
        }
        return NULL;
}

/**
 * json_server_watch_rate_hz() - how often the clients want samples of a controller
 * @s: the server
 * @h: the server's state of it
 *
 * The core polls controllers without status broadcasts at least this often.
 *
 * Returns: the highest watch rate in Hz, 0 when nobody watches it.
 */
double json_server_watch_rate_hz(JsonServer *s, const JsonCtl *h) {
        double hz = 0;

        for (JsonClient *c = s->clients; c; c = c->next) {
                if (c->dead || c->period_usec == 0 || !watch_includes(c, h))
                        continue;
                hz = MAX(hz, (double) USEC_PER_SEC / (double) c->period_usec);
        }
        return hz;
}

/**
 * json_server_controller_added() - a controller's identity became known
 * @s: server
 * @uuid: its 24-digit UUID
 * @ctl: the caller's controller, handed back through JsonServerOps
 *
 * Every client gets controller.added; clients watching all controllers, or this
 * one before it went away, start receiving its telemetry.
 *
 * Returns: the server's state of the controller, for the events about it (the
 * caller keeps it with the controller), or NULL (out of memory, invalid UUID).
 */
JsonCtl *json_server_controller_added(JsonServer *s, const char *uuid, void *ctl) {
        JsonClient *c, *next;
        JsonCtl *h;

        if (!json_proto_uuid_valid(uuid))
                return NULL;
        h = new0(JsonCtl, 1);
        if (!h)
                return NULL;
        memcpy(h->uuid, uuid, UUID_STR_MAX);
        h->ctl = ctl;
        h->id = -1;
        for (c = s->clients; c; c = next) {
                ClientCtl *e = client_get_ctl(c, h);

                next = c->next;
                if (!e)
                        continue;
                e->pending = PENDING_ADDED;
                if (c->watching && c->watch_all)
                        e->watched = true;
                client_flush(c);
        }
        return h;
}

/**
 * json_server_controller_removed() - a controller went away
 * @s: server
 * @h: the server's state of it; freed here
 *
 * Every client gets controller.removed.
 */
void json_server_controller_removed(JsonServer *s, JsonCtl *h) {
        JsonClient *c, *next;

        if (!h)
                return;
        for (c = s->clients; c; c = next) {
                ClientCtl *e = client_get_ctl(c, h);

                next = c->next;
                if (!e)
                        continue;
                e->ctl = NULL;
                e->pending = PENDING_REMOVED;
                if (c->watch_all)
                        e->watched = false; /* it is watched again when it comes back */
                client_flush(c);
        }
        json_ctl_free(h);
}

/**
 * json_server_controller_changed() - a controller's state (not telemetry) changed
 * @s: server
 * @h: the server's state of it
 *
 * Coalesced per client: a slow client gets one controller.changed with the latest
 * snapshot.
 */
void json_server_controller_changed(JsonServer *s, JsonCtl *h) {
        JsonClient *c, *next;

        if (!h)
                return;
        /* the rendering carries the CAN id, which may be what changed */
        json_decref(h->values);
        h->values = NULL;
        for (c = s->clients; c; c = next) {
                ClientCtl *e = client_get_ctl(c, h);

                next = c->next;
                if (!e)
                        continue;
                if (e->pending == PENDING_NONE)
                        e->pending = PENDING_CHANGED;
                client_flush(c);
        }
}

/**
 * json_server_telemetry() - a fresh reading of a controller
 * @s: server
 * @h: the server's state of it
 * @time_usec: the reading's receive time (CLOCK_MONOTONIC), 0 for now
 * @wall_usec: the same moment in CLOCK_REALTIME, 0 to derive it
 *
 * Pushed by the core at the end of the batch of frames that brought it.  Each
 * client watching the controller gets it now if its watch's rate limit lets it
 * go (watch-limit.h), else when it does (the latest reading by then).  It is
 * rendered once, for all of them; the sample carries the reading's times.
 */
void json_server_telemetry(JsonServer *s, JsonCtl *h, uint64_t time_usec, uint64_t wall_usec) {
        JsonClient *c, *next;
        uint64_t now;

        if (!h)
                return;
        now = now_usec();
        h->time_usec = time_usec ? time_usec : now;
        h->wall_usec = wall_usec ? wall_usec : wall_of(h->time_usec);
        h->seq++;
        json_decref(h->values);
        h->values = NULL;
        for (c = s->clients; c; c = next) {
                ClientCtl *e;
                uint64_t at = UINT64_MAX;

                next = c->next;
                if (c->dead || !watch_includes(c, h))
                        continue;
                e = client_get_ctl(c, h);
                if (!e)
                        continue;
                e->watched = true; /* watch_all */
                if (client_watch_one(c, e, now, &at) && at != UINT64_MAX)
                        client_arm_watch_timer(c, at, now);
        }
}

/**
 * json_server_board_changed() - the board view (mismatch, reasons) changed
 * @s: server
 */
void json_server_board_changed(JsonServer *s) {
        JsonClient *c, *next;

        for (c = s->clients; c; c = next) {
                next = c->next;
                c->board_pending = true;
                client_flush(c);
        }
}

/**
 * json_server_set_removed() - an install pruned an image set
 * @s: server
 * @id: the set's id
 * @reason: why
 *
 * Rare and not coalesced: every client gets firmware.set_removed now.
 */
void json_server_set_removed(JsonServer *s, const char *id, const char *reason) {
        JsonClient *c, *next;

        for (c = s->clients; c; c = next) {
                next = c->next;
                client_send(c, json_proto_notification(JSON_NOTIFY_SET_REMOVED,
                                                       json_pack("{s:s, s:s}", "id", id, "reason", reason)));
        }
}

/**
 * json_server_job_changed() - an update job changed state, phase or progress
 * @s: server
 * @job: job number
 */
void json_server_job_changed(JsonServer *s, uint32_t job) {
        JsonClient *c, *next;

        for (c = s->clients; c; c = next) {
                bool queued = false;

                next = c->next;
                for (size_t i = 0; i < c->n_jobs_pending; i++)
                        queued = queued || c->jobs_pending[i] == job;
                if (!queued && c->n_jobs_pending < CLIENT_JOBS_PENDING_MAX)
                        c->jobs_pending[c->n_jobs_pending++] = job;
                client_flush(c);
        }
}

/**
 * json_server_n_clients() - number of connected clients
 * @s: server
 *
 * Return: the count (for the manager's properties and tests).
 */
unsigned json_server_n_clients(const JsonServer *s) {
        return s ? s->n_clients : 0;
}
