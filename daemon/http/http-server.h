/* The read-only HTTP listener for dashboards (libevent's evhttp): the bundled
 * dashboard's files, the JSON socket's objects under /api/ and Server-Sent
 * Events under /api/events.  Off by default: it runs when socket activation
 * passes a listening socket named "http" (vescd-http.socket) or http-listen
 * is set.  Only GET and HEAD; the Host header must name the listener
 * (DNS-rebinding defence).  docs/http.md is its contract. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Daemon Daemon;
typedef struct FwManager FwManager;
typedef struct HttpServer HttpServer;

#define HTTP_SERVER_MAX_CLIENTS_DEFAULT 32U
#define HTTP_SERVER_OUTPUT_SOFT (64U * 1024U)   /* an event stream above: events wait */
#define HTTP_SERVER_OUTPUT_HARD (1024U * 1024U) /* above: the stream is closed */
#define HTTP_SERVER_KEEPALIVE_USEC (15U * 1000000U)

typedef struct HttpServerConfig {
        const char *listen;          /* "127.0.0.1:8080", "[::1]:8080"; NULL or "": none */
        const char *root;            /* the dashboard's directory */
        unsigned max_clients;        /* connections at once (total); 0: default */
        uint64_t request_timeout_usec; /* a request not read whole / an idle keep-alive; 0: 10 s */
        uint64_t stall_timeout_usec; /* an event stream whose output does not drain; 0: 30 s */
        bool socket_activation;      /* take a listening socket named "http" from sd_listen_fds() */
} HttpServerConfig;

/* 0 with *ret NULL when there is nothing to listen on (the default), 0 with a
 * server, or -errno (logged). */
int http_server_new(Daemon *d, FwManager *fw, const HttpServerConfig *cfg, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);

unsigned http_server_n_clients(const HttpServer *s);

/* Pure helpers (unit-tested through the integration tests). */
/* Whether a Host header value names the listener the connection came in on:
 * "localhost" (on a loopback listener) or the listener's IP literal, with its
 * port (or none for port 80).  local: the connection's local address. */
struct sockaddr;
bool http_host_allowed(const char *host, const struct sockaddr *local);
