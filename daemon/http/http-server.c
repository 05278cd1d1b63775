/* The read-only HTTP listener (see http-server.h, docs/http.md).
 *
 * evhttp parses requests and sends the plain replies.  An event stream
 * (/api/events) is taken over from evhttp once its request is read: the
 * response head is written by hand and the connection's bufferevent gets our
 * callbacks, so a stream is a long-lived write-only socket with its own output
 * bound and stall timeout, closed with evhttp_connection_free().
 *
 * Connections are counted from their first request (evhttp has no accept hook
 * in libevent 2.1 beyond the bufferevent factory, which limits accepts per loop
 * iteration); one that never completes a request is closed by the request
 * timeout. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/render.h"
#include "http/http-server.h"
#include "json/accept-limit.h"
#include "json/json-proto.h"
#include "json/json-server.h" /* json_tcp_listen(), json_daemon_*() */
#include "macro.h"
#include "update/update-driver.h"
#include "update/update-manager.h"

#define HTTP_FILE_MAX (1024 * 1024)

typedef struct SseClient SseClient;

/* The latest telemetry reading of a controller, kept in its adapter slot
 * (daemon_adapter_data()) from controller_added to controller_removed:
 * streams send what is newer than what they sent. */
typedef struct HttpCtl {
        uint64_t seq;       /* the server's count of readings when it came; 0: none yet */
        uint64_t time_usec; /* its receive time (CLOCK_MONOTONIC, the frame's) */
} HttpCtl;

struct SseClient {
        HttpServer *server;
        struct evhttp_connection *evcon;
        struct bufferevent *bev;
        struct event *tick;          /* telemetry period */
        double rate_hz;
        uint64_t sent_seq;           /* readings up to this one were sent */
        bool resync;                 /* events were dropped: send the state again once drained */
        SseClient *next;
};


typedef struct Conn {
        struct evhttp_connection *evcon;
        SseClient *sse;
} Conn;

struct HttpServer {
        Daemon *daemon;
        FwManager *fw;
        struct event_base *base;
        struct evhttp *http;
        char *root;
        unsigned max_clients;
        uint64_t stall_usec;
        Conn *conns;
        size_t n_conns;
        SseClient *streams;
        struct event *keepalive;
        /* evhttp's listeners, paused after ACCEPTS_PER_WAKEUP connections in
         * one loop iteration (json/accept-limit.c) */
        AcceptLimit accept_limit;
        int slot;                    /* our HttpCtl in each controller's adapter slot */
        uint64_t tel_seq;            /* readings counted so far */
        bool freeing;
};

/* ---------------------------------------------------------------- Host check */

static bool sockaddr_is_loopback(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                if (IN6_IS_ADDR_LOOPBACK(a))
                        return true;
                return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
        }
        return false;
}

static unsigned sockaddr_port(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return ntohs(((const struct sockaddr_in *) sa)->sin_port);
        if (sa->sa_family == AF_INET6)
                return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
        return 0;
}

/* Whether the IP literal text equals the address of sa (a v4-mapped v6
 * address equals its v4 form). */
static bool ip_literal_matches(const char *text, const struct sockaddr *sa) {
        struct in_addr a4;
        struct in6_addr a6;

        if (inet_pton(AF_INET, text, &a4) == 1) {
                if (sa->sa_family == AF_INET)
                        return a4.s_addr == ((const struct sockaddr_in *) sa)->sin_addr.s_addr;
                if (sa->sa_family == AF_INET6) {
                        const struct in6_addr *l = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                        return IN6_IS_ADDR_V4MAPPED(l) && memcmp(&l->s6_addr[12], &a4.s_addr, 4) == 0;
                }
                return false;
        }
        if (inet_pton(AF_INET6, text, &a6) == 1 && sa->sa_family == AF_INET6)
                return memcmp(&a6, &((const struct sockaddr_in6 *) sa)->sin6_addr, sizeof a6) == 0;
        return false;
}

/**
 * http_host_allowed() - whether a Host header names this listener
 * @host: the header's value (NULL: none)
 * @local: the connection's local address
 *
 * A page served from a name an attacker's DNS points at 127.0.0.1 carries that
 * name in Host; refusing every name but the listener's own address (and
 * "localhost" on loopback) keeps such a page from reading the API.
 *
 * Return: true if @host is "localhost" (loopback listener) or the listener's
 * IP literal, followed by the listener's port (or no port when it is 80).
 */
bool http_host_allowed(const char *host, const struct sockaddr *local) {
        char name[INET6_ADDRSTRLEN + 1];
        const char *port = NULL;
        size_t n;

        if (!host || !*host)
                return false;
        if (host[0] == '[') {
                const char *end = strchr(host, ']');

                if (!end)
                        return false;
                n = (size_t) (end - host - 1);
                if (n >= sizeof name)
                        return false;
                memcpy(name, host + 1, n);
                name[n] = 0;
                if (end[1] == ':')
                        port = end + 2;
                else if (end[1])
                        return false;
                if (!strchr(name, ':'))
                        return false;
        } else {
                const char *colon = strchr(host, ':');

                n = colon ? (size_t) (colon - host) : strlen(host);
                if (n == 0 || n >= sizeof name || (colon && strchr(colon + 1, ':')))
                        return false;
                memcpy(name, host, n);
                name[n] = 0;
                if (colon)
                        port = colon + 1;
        }
        if (port) {
                unsigned long p = 0;

                if (!*port || strlen(port) > 5)
                        return false;
                for (const char *q = port; *q; q++) {
                        if (!isdigit((unsigned char) *q))
                                return false;
                        p = p * 10 + (unsigned long) (*q - '0');
                }
                if (p != sockaddr_port(local))
                        return false;
        } else if (sockaddr_port(local) != 80)
                return false;

        if (strcasecmp(name, "localhost") == 0)
                return sockaddr_is_loopback(local);
        return ip_literal_matches(name, local);
}

/* ---------------------------------------------------------------- replies */

static void add_common_headers(struct evkeyvalq *h) {
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_add_header(h, "Referrer-Policy", "no-referrer");
        evhttp_add_header(h, "X-Frame-Options", "DENY");
}

/* evhttp (2.1) sends the body to HEAD too: the length is announced, the body
 * kept back. */
static void send_reply(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD && body) {
                char len[32];

                snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
                evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
                evbuffer_drain(body, evbuffer_get_length(body));
        }
        evhttp_send_reply(req, code, reason, body);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *o) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        struct evbuffer *buf = evbuffer_new();
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        add_common_headers(h);
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Cache-Control", "no-store");
        if (buf && text) {
                evbuffer_add(buf, text, strlen(text));
                evbuffer_add(buf, "\n", 1);
        }
        free(text);
        send_reply(req, code, reason, buf);
        if (buf)
                evbuffer_free(buf);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *detail) {
        reply_json(req, code, reason, json_pack("{s:i, s:s, s:s}", "status", code, "error", reason, "detail", detail));
}

/* ---------------------------------------------------------------- connections */

static Conn *conn_find(HttpServer *s, struct evhttp_connection *evcon) {
        for (size_t i = 0; i < s->n_conns; i++)
                if (s->conns[i].evcon == evcon)
                        return &s->conns[i];
        return NULL;
}

static void sse_free(SseClient *c);

static void on_conn_close(struct evhttp_connection *evcon, void *userdata) {
        HttpServer *s = userdata;
        Conn *k = conn_find(s, evcon);

        if (!k)
                return;
        if (k->sse) {
                SseClient *c = k->sse;

                c->evcon = NULL; /* being freed by evhttp */
                sse_free(c);
        }
        *k = s->conns[--s->n_conns];
        log_debug("HTTP: a client left, %zu remain", s->n_conns);
}

/* The connection of a request is counted on its first request; beyond the cap
 * it gets 503 and is closed. */
static int conn_admit(HttpServer *s, struct evhttp_request *req, Conn **ret) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        Conn *k = conn_find(s, evcon), *n;

        if (k) {
                *ret = k;
                return 0;
        }
        if (s->n_conns >= s->max_clients) {
                log_rl_info("HTTP: refused a client: %u connections at once (max-clients)", s->max_clients);
                evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
                reply_error(req, 503, "Service Unavailable", "too many clients");
                return -EUSERS;
        }
        n = reallocarray(s->conns, s->n_conns + 1, sizeof(Conn));
        if (!n) {
                reply_error(req, 500, "Internal Server Error", "out of memory");
                return -ENOMEM;
        }
        s->conns = n;
        k = &s->conns[s->n_conns++];
        *k = (Conn) { .evcon = evcon };
        evhttp_connection_set_closecb(evcon, on_conn_close, s);
        *ret = k;
        return 0;
}

/* ---------------------------------------------------------------- per controller */

static HttpCtl **http_ctl(HttpServer *s, Controller *c) {
        return (HttpCtl **) daemon_adapter_data(c, s->slot);
}

/* ---------------------------------------------------------------- event streams */

static size_t sse_pending(SseClient *c) {
        return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void sse_close(SseClient *c) {
        if (c->evcon) {
                struct evhttp_connection *evcon = c->evcon;

                /* on_conn_close() frees the stream */
                evhttp_connection_free(evcon);
        } else
                sse_free(c);
}

/* One event: "event: NAME" and the JSON object on one data line.  Consumes o.
 * Returns false when the stream is full (the event is dropped). */
static bool sse_send(SseClient *c, const char *event, json_t *o) {
        char *text;
        bool ok = false;

        if (!o)
                return false;
        if (sse_pending(c) > HTTP_SERVER_OUTPUT_SOFT) {
                json_decref(o);
                c->resync = true;
                return false;
        }
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text)
                ok = evbuffer_add_printf(bufferevent_get_output(c->bev), "event: %s\ndata: %s\n\n", event, text) > 0;
        free(text);
        return ok;
}

static void sse_send_state(SseClient *c) {
        HttpServer *s = c->server;
        Controller *const *cs;
        size_t n = daemon_controllers(s->daemon, &cs);

        c->resync = false;
        sse_send(c, JSON_NOTIFY_BOARD_CHANGED, json_daemon_board(s->daemon));
        for (size_t i = 0; i < n; i++)
                sse_send(c, JSON_NOTIFY_CONTROLLER_CHANGED, render_controller(cs[i]));
        if (s->fw) {
                FwJob *const *jobs;
                size_t nj = fw_manager_jobs(s->fw, &jobs);

                for (size_t i = 0; i < nj; i++)
                        sse_send(c, JSON_NOTIFY_JOB_CHANGED, fw_job_to_json(jobs[i]));
        }
}

static void sse_broadcast(HttpServer *s, const char *event, json_t *(*render)(void *), void *arg) {
        for (SseClient *c = s->streams; c; c = c->next) {
                json_t *o = render(arg);

                sse_send(c, event, o);
        }
}

/* Every controller whose latest reading is newer than what this stream sent:
 * its sample (the values rendered from the model, stamped with the reading's
 * receive time). */
static void on_sse_tick(evutil_socket_t fd, short what, void *userdata) {
        SseClient *c = userdata;
        HttpServer *s = c->server;
        Controller *const *cs;
        size_t n;

        if (sse_pending(c) > HTTP_SERVER_OUTPUT_SOFT)
                return; /* a slow reader gets fewer samples, never a backlog */
        n = daemon_controllers(s->daemon, &cs);
        for (size_t i = 0; i < n; i++) {
                const HttpCtl *h = *http_ctl(s, cs[i]);
                json_t *values;

                if (!h || h->seq <= c->sent_seq)
                        continue;
                values = render_telemetry(cs[i], CONTROLLER_DIRTY_TELEMETRY_MASK);
                if (!values || json_object_size(values) == 0) {
                        json_decref(values);
                        continue;
                }
                sse_send(c, JSON_NOTIFY_TELEMETRY,
                         json_pack("{s:s, s:i, s:I, s:I, s:o}", "uuid", cs[i]->uuid_str, "id", (int) cs[i]->id,
                                   "time_usec", (json_int_t) h->time_usec, "wall_time_usec",
                                   (json_int_t) daemon_wall_usec(h->time_usec), "values", values));
        }
        c->sent_seq = s->tel_seq;
}

static void on_sse_read(struct bufferevent *bev, void *userdata) {
        /* nothing is expected from the client: read and drop */
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_sse_write(struct bufferevent *bev, void *userdata) {
        SseClient *c = userdata;

        if (c->resync && sse_pending(c) == 0)
                sse_send_state(c);
}

static void on_sse_event(struct bufferevent *bev, short what, void *userdata) {
        SseClient *c = userdata;

        if (what & BEV_EVENT_TIMEOUT)
                log_rl_info("HTTP: an event stream did not drain its output, closing it");
        sse_close(c);
}

static void sse_free(SseClient *c) {
        HttpServer *s = c->server;

        for (SseClient **p = &s->streams; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        if (c->tick)
                event_free(c->tick);
        free(c);
}

static void on_keepalive(evutil_socket_t fd, short what, void *userdata) {
        HttpServer *s = userdata;
        SseClient *next;

        for (SseClient *c = s->streams; c; c = next) {
                next = c->next;
                if (sse_pending(c) > HTTP_SERVER_OUTPUT_HARD) {
                        sse_close(c);
                        continue;
                }
                evbuffer_add_printf(bufferevent_get_output(c->bev), ": keepalive\n\n");
        }
}

static int parse_rate(const char *query, double *ret) {
        struct evkeyvalq q = {};
        const char *v;
        char *end;
        double r = JSON_PROTO_RATE_DEFAULT_HZ;

        if (query && evhttp_parse_query_str(query, &q) < 0)
                return -EINVAL;
        v = evhttp_find_header(&q, "rate_hz");
        if (v) {
                errno = 0;
                r = strtod(v, &end);
                if (errno != 0 || end == v || *end || !(r >= JSON_PROTO_RATE_MIN_HZ && r <= JSON_PROTO_RATE_MAX_HZ)) {
                        evhttp_clear_headers(&q);
                        return -ERANGE;
                }
        }
        evhttp_clear_headers(&q);
        *ret = r;
        return 0;
}

static void serve_events(HttpServer *s, Conn *k, struct evhttp_request *req, const char *query, bool head) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
        SseClient *c;
        double rate;
        uint64_t period;
        struct timeval tv, stall;

        if (parse_rate(query, &rate) < 0) {
                reply_error(req, 400, "Bad Request", "rate_hz: a number from 0.1 to 1000");
                return;
        }
        if (head) {
                struct evkeyvalq *h = evhttp_request_get_output_headers(req);

                add_common_headers(h);
                evhttp_add_header(h, "Content-Type", "text/event-stream");
                evhttp_add_header(h, "Cache-Control", "no-store");
                evhttp_send_reply(req, 200, "OK", NULL);
                return;
        }
        c = calloc(1, sizeof(SseClient));
        if (!c) {
                reply_error(req, 500, "Internal Server Error", "out of memory");
                return;
        }
        *c = (SseClient) { .server = s, .evcon = evcon, .bev = bev, .rate_hz = rate };
        period = json_proto_rate_to_period_usec(rate);
        tv = (struct timeval) { .tv_sec = (time_t) (period / USEC_PER_SEC), .tv_usec = (suseconds_t) (period % USEC_PER_SEC) };
        c->tick = event_new(s->base, -1, EV_PERSIST, on_sse_tick, c);
        if (!c->tick) {
                free(c);
                reply_error(req, 500, "Internal Server Error", "out of memory");
                return;
        }
        k->sse = c;
        c->next = s->streams;
        s->streams = c;

        /* from here on the connection is ours: evhttp never sees it again
         * until evhttp_connection_free() */
        bufferevent_setcb(bev, on_sse_read, on_sse_write, on_sse_event, c);
        stall = (struct timeval) { .tv_sec = (time_t) (s->stall_usec / USEC_PER_SEC),
                                   .tv_usec = (suseconds_t) (s->stall_usec % USEC_PER_SEC) };
        bufferevent_set_timeouts(bev, NULL, &stall);
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/event-stream\r\n"
                            "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "Connection: close\r\n"
                            "\r\n");
        evbuffer_add_printf(bufferevent_get_output(bev), "retry: 2000\n\n");
        sse_send(c, "hello",
                 json_pack("{s:s, s:s, s:f}", "protocol", "2.0", "version", PACKAGE_VERSION, "rate_hz", rate));
        sse_send_state(c);
        event_add(c->tick, &tv);
        log_debug("HTTP: event stream at %.1f Hz", rate);
}

/* ---------------------------------------------------------------- files */

static const char *content_type(const char *name) {
        static const struct {
                const char *ext, *type;
        } types[] = {
                { ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
                { ".js", "text/javascript; charset=utf-8" }, { ".svg", "image/svg+xml" },
                { ".png", "image/png" }, { ".ico", "image/x-icon" }, { ".json", "application/json" },
                { ".txt", "text/plain; charset=utf-8" },
        };
        const char *dot = strrchr(name, '.');

        for (size_t i = 0; dot && i < ELEMENTSOF(types); i++)
                if (strcmp(dot, types[i].ext) == 0)
                        return types[i].type;
        return NULL;
}

/* "/name.ext": one plain name of the dashboard's directory, nothing else. */
static bool file_name_valid(const char *name) {
        if (!name[0] || name[0] == '.' || strlen(name) > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '.' && *p != '-' && *p != '_')
                        return false;
        return strstr(name, "..") == NULL;
}

static void serve_file(HttpServer *s, struct evhttp_request *req, const char *name) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct evbuffer *buf;
        const char *type;
        struct stat st;

        type = file_name_valid(name) ? content_type(name) : NULL;
        if (!type || asprintf(&path, "%s/%s", s->root, name) < 0) {
                reply_error(req, 404, "Not Found", "no such page");
                return;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > HTTP_FILE_MAX) {
                if (strcmp(name, "index.html") == 0)
                        log_rl_warning("HTTP: the dashboard %s is missing (http-root)", path);
                reply_error(req, 404, "Not Found", "no such page");
                return;
        }
        buf = evbuffer_new();
        if (!buf || evbuffer_add_file(buf, TAKE_FD(fd), 0, st.st_size) < 0) {
                if (buf)
                        evbuffer_free(buf);
                reply_error(req, 500, "Internal Server Error", "cannot read the page");
                return;
        }
        add_common_headers(h);
        evhttp_add_header(h, "Content-Type", type);
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
        send_reply(req, 200, "OK", buf);
        evbuffer_free(buf);
}

/* ---------------------------------------------------------------- API */

static void serve_api(HttpServer *s, struct evhttp_request *req, const char *what) {
        json_t *o = NULL;

        /* the JSON socket's objects, rendered by the same code (json-daemon.c) */
        if (strcmp(what, "board") == 0)
                o = json_daemon_board(s->daemon);
        else if (strcmp(what, "controllers") == 0) {
                json_t *list = json_daemon_controllers(s->daemon);

                o = list ? json_pack("{s:o}", "controllers", list) : NULL;
        } else if (strncmp(what, "controllers/", 12) == 0) {
                char uuid[CONTROLLER_UUID_STR_LEN + 1];
                Controller *c;

                if (!json_proto_uuid_valid(what + 12)) {
                        reply_error(req, 404, "Not Found", "not a controller UUID (24 hexadecimal digits)");
                        return;
                }
                for (size_t i = 0; i <= CONTROLLER_UUID_STR_LEN; i++)
                        uuid[i] = (char) tolower((unsigned char) what[12 + i]);
                c = daemon_find_uuid(s->daemon, uuid);
                if (!c) {
                        reply_error(req, 404, "Not Found", "no such controller");
                        return;
                }
                o = render_controller(c);
        } else if (strcmp(what, "jobs") == 0 || strcmp(what, "history") == 0 || strcmp(what, "image-sets") == 0) {
                if (!s->fw) {
                        reply_error(req, 503, "Service Unavailable", fw_manager_unavailable_text());
                        return;
                }
                if (what[0] == 'j')
                        o = json_daemon_jobs(s->fw);
                else if (what[0] == 'h')
                        o = json_daemon_history(s->fw);
                else
                        o = json_daemon_sets(s->fw);
        } else {
                reply_error(req, 404, "Not Found", "no such endpoint");
                return;
        }
        if (!o) {
                reply_error(req, 500, "Internal Server Error", "out of memory");
                return;
        }
        reply_json(req, 200, "OK", o);
}

static bool local_address(struct evhttp_request *req, struct sockaddr_storage *ss) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
        socklen_t len = sizeof(*ss);

        return bev && getsockname(bufferevent_getfd(bev), (struct sockaddr *) ss, &len) == 0;
}

static void on_request(struct evhttp_request *req, void *userdata) {
        HttpServer *s = userdata;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
        const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
        struct sockaddr_storage local;
        Conn *k;

        if (!path) {
                reply_error(req, 400, "Bad Request", "unreadable request");
                return;
        }
        if (conn_admit(s, req, &k) < 0)
                return;
        if (!local_address(req, &local) || !http_host_allowed(host, (struct sockaddr *) &local)) {
                log_rl_info("HTTP: refused a request for Host '%s' (not this listener)", host ?: "");
                reply_error(req, 421, "Misdirected Request",
                            "the Host header must name this listener (its address and port, or localhost)");
                return;
        }
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
                reply_error(req, 405, "Method Not Allowed", "read-only: GET and HEAD only");
                return;
        }
        if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
                serve_file(s, req, "index.html");
        else if (strcmp(path, "/api/events") == 0)
                serve_events(s, k, req, evhttp_uri_get_query(uri), cmd == EVHTTP_REQ_HEAD);
        else if (strncmp(path, "/api/", 5) == 0)
                serve_api(s, req, path + 5);
        else
                serve_file(s, req, path + 1);
}

/* ---------------------------------------------------------------- daemon events */

static json_t *render_controller_arg(void *arg) {
        return render_controller(arg);
}

static json_t *render_removed_arg(void *arg) {
        return json_pack("{s:s}", "uuid", ((Controller *) arg)->uuid_str);
}

static json_t *render_board_arg(void *arg) {
        HttpServer *s = arg;

        return json_daemon_board(s->daemon);
}

static json_t *render_job_arg(void *arg) {
        return fw_job_to_json(arg);
}

/* The core hands every event the controller itself (exported controllers
 * are identified); our state of it lives in its adapter slot. */
static void ctl_attach(HttpServer *s, Controller *c) {
        HttpCtl **h = http_ctl(s, c);

        if (!*h)
                *h = calloc(1, sizeof(HttpCtl)); /* NULL: no samples of it, nothing else lost */
}

static void on_controller_added(void *userdata, Controller *c) {
        HttpServer *s = userdata;

        ctl_attach(s, c);
        sse_broadcast(s, JSON_NOTIFY_CONTROLLER_ADDED, render_controller_arg, c);
}

static void on_controller_removed(void *userdata, Controller *c) {
        HttpServer *s = userdata;
        HttpCtl **h = http_ctl(s, c);

        free(*h);
        *h = NULL;
        sse_broadcast(s, JSON_NOTIFY_CONTROLLER_REMOVED, render_removed_arg, c);
}

static void on_controller_changed(void *userdata, Controller *c, uint64_t mask) {
        if (mask & CONTROLLER_DIRTY_STATE_MASK)
                sse_broadcast(userdata, JSON_NOTIFY_CONTROLLER_CHANGED, render_controller_arg, c);
}

/* A fresh reading (every one, not rate-limited: each stream has its own
 * period): the slot notes it; the streams' ticks send it. */
static void on_telemetry(void *userdata, Controller *c, uint64_t mask, uint64_t time_usec) {
        HttpServer *s = userdata;
        HttpCtl *h = *http_ctl(s, c);

        if (!h)
                return;
        h->seq = ++s->tel_seq;
        h->time_usec = time_usec;
}

static double on_watch_rate(void *userdata, const Controller *c) {
        HttpServer *s = userdata;
        double max = 0;

        for (SseClient *k = s->streams; k; k = k->next)
                max = MAX(max, k->rate_hz);
        return max;
}

static void on_board_changed(void *userdata, const Board *b) {
        HttpServer *s = userdata;

        sse_broadcast(s, JSON_NOTIFY_BOARD_CHANGED, render_board_arg, s);
}

static void on_job(void *userdata, FwJob *j) {
        sse_broadcast(userdata, JSON_NOTIFY_JOB_CHANGED, render_job_arg, j);
}

static void on_job_changed(void *userdata, FwJob *j, uint64_t mask) {
        on_job(userdata, j);
}

static const FwManagerListener http_job_listener = {
        .job_added = on_job,
        .job_changed = on_job_changed,
};

static const DaemonListener http_listener = {
        .controller_added = on_controller_added,
        .controller_removed = on_controller_removed,
        .controller_changed = on_controller_changed,
        .telemetry_unthrottled = on_telemetry,
        .board_changed = on_board_changed,
        .watch_rate_hz = on_watch_rate,
};

/* ---------------------------------------------------------------- listeners */

/* evhttp's bufferevent for a new connection (options 0, as evhttp's own:
 * evhttp closes the fd); counts the connection first. */
static struct bufferevent *on_new_connection(struct event_base *base, void *userdata) {
        HttpServer *s = userdata;

        accept_limit_count(&s->accept_limit, NULL);
        return bufferevent_socket_new(base, -1, 0);
}

/* Serve HTTP on a listening socket; NULL if it cannot. */
static struct evhttp_bound_socket *accept_on(HttpServer *s, int fd) {
        struct evhttp_bound_socket *b;

        if (s->accept_limit.n_listeners >= ACCEPT_LIMIT_LISTENERS_MAX)
                return NULL;
        b = evhttp_accept_socket_with_handle(s->http, fd);
        if (b)
                (void) accept_limit_add(&s->accept_limit, evhttp_bound_socket_get_listener(b));
        return b;
}

static void warn_if_not_loopback(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        char host[NI_MAXHOST] = "?";

        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return;
        if (sockaddr_is_loopback((struct sockaddr *) &ss))
                return;
        (void) getnameinfo((struct sockaddr *) &ss, len, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        log_warning("HTTP listener on %s:%u is reachable from other hosts: anyone there can read the board's "
                    "state and telemetry (read-only, no authentication)",
                    host, sockaddr_port((struct sockaddr *) &ss));
}

static int listen_on(HttpServer *s, const char *spec) {
        _cleanup_close_ int fd = -1;
        int r;

        r = json_tcp_listen(spec, "http-listen", &fd);
        if (r < 0)
                return r;
        if (!accept_on(s, fd))
                return log_error_errno(-ENOMEM, "Failed to serve HTTP on %s", spec);
        warn_if_not_loopback(fd);
        log_info("HTTP dashboard on http://%s/", spec);
        TAKE_FD(fd);
        return 1;
}

/* Listening TCP sockets named "http" from socket activation (vescd-http.socket). */
static int take_activated(HttpServer *s) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(0, &names), found = 0;

        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;

                if (!names || strcmp(names[i], "http") != 0)
                        continue;
                if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
                        log_warning("Socket activation: the fd named \"http\" is not a listening TCP socket, ignored");
                        continue;
                }
                (void) evutil_make_socket_nonblocking(fd);
                if (!accept_on(s, fd)) {
                        found = log_error_errno(-ENOMEM, "Failed to serve HTTP on the activated socket");
                        break;
                }
                warn_if_not_loopback(fd);
                log_info("HTTP dashboard on the activated socket (vescd-http.socket)");
                found++;
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return found;
}

/**
 * http_server_new() - start the HTTP listener if one is configured
 * @d: the daemon (must outlive the server)
 * @fw: the firmware manager, or NULL (the /api/ firmware objects then answer 503)
 * @cfg: listeners and limits
 * @ret: receives the server, or NULL when there is nothing to listen on
 *
 * Return: 0 or -errno (logged).
 */
int http_server_new(Daemon *d, FwManager *fw, const HttpServerConfig *cfg, HttpServer **ret) {
        Controller *const *cs;
        HttpServer *s;
        struct timeval tv;
        uint64_t t;
        size_t n;
        int r, found = 0;

        *ret = NULL;
        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return -ENOMEM;
        s->slot = -1;
        s->daemon = d;
        s->fw = fw;
        s->base = daemon_event_base(d);
        s->max_clients = cfg->max_clients ?: HTTP_SERVER_MAX_CLIENTS_DEFAULT;
        s->stall_usec = cfg->stall_timeout_usec ?: 30 * USEC_PER_SEC;
        s->root = strdup(cfg->root ?: PKGDATADIR "/www");
        s->http = evhttp_new(s->base);
        s->keepalive = event_new(s->base, -1, EV_PERSIST, on_keepalive, s);
        if (!s->root || !s->http || !s->keepalive || accept_limit_init(&s->accept_limit, s->base) < 0) {
                http_server_free(s);
                return -ENOMEM;
        }
        /* every method evhttp parses reaches on_request(), which answers 405 */
        evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                                    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
        evhttp_set_max_headers_size(s->http, 8192);
        evhttp_set_max_body_size(s->http, 4096);
        t = cfg->request_timeout_usec ?: 10 * USEC_PER_SEC;
        tv = (struct timeval) { .tv_sec = (time_t) (t / USEC_PER_SEC), .tv_usec = (suseconds_t) (t % USEC_PER_SEC) };
        evhttp_set_timeout_tv(s->http, &tv);
        evhttp_set_gencb(s->http, on_request, s);
        evhttp_set_bevcb(s->http, on_new_connection, s);

        if (cfg->socket_activation) {
                found = take_activated(s);
                if (found < 0) {
                        http_server_free(s);
                        return found;
                }
        }
        if (cfg->listen && cfg->listen[0]) {
                r = listen_on(s, cfg->listen);
                if (r < 0) {
                        http_server_free(s);
                        return r;
                }
                found += r;
        }
        if (found == 0) {
                http_server_free(s);
                return 0;
        }
        tv = (struct timeval) { .tv_sec = HTTP_SERVER_KEEPALIVE_USEC / USEC_PER_SEC };
        event_add(s->keepalive, &tv);
        s->slot = daemon_adapter_slot_new(d);
        r = s->slot;
        if (r >= 0)
                r = daemon_add_listener(d, &http_listener, s);
        if (r >= 0 && fw)
                r = fw_manager_add_listener(fw, &http_job_listener, s);
        if (r < 0) {
                http_server_free(s);
                return r;
        }
        /* the controllers known already get their slot as later ones do */
        n = daemon_controllers(d, &cs);
        for (size_t i = 0; i < n; i++)
                ctl_attach(s, cs[i]);
        *ret = s;
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        s->freeing = true;
        daemon_remove_listener(s->daemon, &http_listener, s);
        /* our state of the controllers still there goes with us */
        if (s->slot >= 0) {
                Controller *const *cs;
                size_t n = daemon_controllers(s->daemon, &cs);

                for (size_t i = 0; i < n; i++) {
                        HttpCtl **h = http_ctl(s, cs[i]);

                        free(*h);
                        *h = NULL;
                }
        }
        if (s->fw)
                fw_manager_remove_listener(s->fw, &http_job_listener, s);
        /* frees every connection: on_conn_close() frees the streams */
        if (s->http)
                evhttp_free(s->http);
        while (s->streams)
                sse_free(s->streams);
        if (s->keepalive)
                event_free(s->keepalive);
        accept_limit_done(&s->accept_limit);
        free(s->conns);
        free(s->root);
        free(s);
        return NULL;
}

unsigned http_server_n_clients(const HttpServer *s) {
        return s ? (unsigned) s->n_conns : 0;
}
