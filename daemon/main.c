/* vescd: argv, configuration, wiring, sd_notify READY/STATUS/WATCHDOG,
 * signals and the exit code.  Nothing else lives here. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "dbus/bus.h"
#include "core/config.h"
#include "core/daemon.h"
#include "http/http-server.h"
#include "json/json-server.h"
#include "core/log.h"
#include "transport/canlink.h"
#include "transport/transports.h"
#include "update/update-manager.h"
#include "macro.h"

typedef struct Main {
        struct event_base *base;
        Daemon *daemon;
        FwManager *fw;
        Bus *bus;
        JsonServer *json;
        HttpServer *http;
        const char *config_file;
        /* command-line overrides, re-applied on every reload */
        const char **override_keys, **override_values;
        size_t n_overrides;
        int exit_code;
        bool ready;
        struct event *watchdog_ev;
        char *last_status;
} Main;

static void main_exit(Main *m, int code) {
        if (m->exit_code == 0)
                m->exit_code = code;
        event_base_loopexit(m->base, NULL);
}

static int build_config(Main *m, bool missing_ok, Config **ret) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));
        unsigned line = 0;
        int r;

        if (!c)
                return -ENOMEM;
        r = config_init_defaults(c);
        if (r < 0)
                return r;
        r = config_load_file(c, m->config_file, missing_ok, &line);
        if (r == -ENOENT && line > 0)
                return log_error_errno(r, "%s:%u: unknown key", m->config_file, line);
        if (r < 0 && line > 0 && config_error())
                return log_error_errno(r, "%s:%u: %s", m->config_file, line, config_error());
        if (r < 0 && line > 0)
                return log_error_errno(r, "%s:%u: invalid line or value", m->config_file, line);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", m->config_file);
        for (size_t i = 0; i < m->n_overrides; i++) {
                r = config_set(c, m->override_keys[i], m->override_values[i]);
                if (r < 0 && config_error())
                        return log_error_errno(r, "Invalid --%s '%s': %s", m->override_keys[i], m->override_values[i],
                                               config_error());
                if (r < 0)
                        return log_error_errno(r, "Invalid --%s '%s'", m->override_keys[i], m->override_values[i]);
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static void help(void) {
        printf("vescd — daemon for VESC motor controllers on CAN\n\n"
               "Usage: vescd [OPTIONS]\n\n"
               "  -h --help                  show this help\n"
               "     --version               show the version\n"
               "  -c --config FILE           configuration file (default " VESCD_DEFAULT_CONFIG_FILE ")\n");
        for (const ConfigKey *k = config_keys(); k->name; k++) {
                char opt[64];

                (void) snprintf(opt, sizeof opt, "%s VALUE", k->name);
                printf("     --%-22s %s\n", opt, k->help);
        }
}

static int parse_argv(Main *m, int argc, char **argv) {
        size_t nkeys = 0;
        const ConfigKey *keys = config_keys();
        int c;

        while (keys[nkeys].name)
                nkeys++;
        /* every configuration key is an option taking a value; their index
         * in the table is the option's val offset */
        struct option *options = calloc(nkeys + 4, sizeof(struct option));
        if (!options)
                return -ENOMEM;
        options[0] = (struct option) { "help", no_argument, NULL, 'h' };
        options[1] = (struct option) { "version", no_argument, NULL, 'V' };
        options[2] = (struct option) { "config", required_argument, NULL, 'c' };
        for (size_t i = 0; i < nkeys; i++)
                options[3 + i] = (struct option) { keys[i].name, required_argument, NULL, 0x100 + (int) i };

        m->override_keys = calloc((size_t) argc, sizeof(char *));
        m->override_values = calloc((size_t) argc, sizeof(char *));
        if (!m->override_keys || !m->override_values) {
                free(options);
                return -ENOMEM;
        }
        m->config_file = VESCD_DEFAULT_CONFIG_FILE;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        free(options);
                        return 0;
                case 'V':
                        printf("vescd %s\n", PACKAGE_VERSION);
                        free(options);
                        return 0;
                case 'c':
                        m->config_file = optarg;
                        break;
                case '?':
                        free(options);
                        return -EINVAL;
                default:
                        if (c >= 0x100 && (size_t) (c - 0x100) < nkeys) {
                                m->override_keys[m->n_overrides] = keys[c - 0x100].name;
                                m->override_values[m->n_overrides++] = optarg;
                        }
                        break;
                }
        }
        free(options);
        if (optind < argc) {
                log_error("Unexpected argument '%s'", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void notify_status(Main *m) {
        _cleanup_free_ char *s = NULL;

        /* until the first verdict, one side of a dual board would read
         * "1 controller, consistent" */
        if (!daemon_board_verdict_given(m->daemon))
                return;
        if (board_summary(daemon_board(m->daemon), &s) < 0)
                return;
        if (m->last_status && strcmp(m->last_status, s) == 0)
                return;
        (void) sd_notifyf(false, "STATUS=%s", s);
        free(m->last_status);
        m->last_status = TAKE_PTR(s);
}

static void on_board_changed(void *userdata, const Board *b) {
        notify_status(userdata);
}

static void on_manager_changed(void *userdata, uint64_t mask) {
        if (mask & (DAEMON_CHANGED_CONTROLLERS | DAEMON_CHANGED_VERDICT))
                notify_status(userdata);
}

static const DaemonListener main_listener = {
        .board_changed = on_board_changed,
        .manager_changed = on_manager_changed,
};

static void on_ready(void *userdata, int error) {
        Main *m = userdata;

        if (error < 0) {
                main_exit(m, EXIT_FAILURE);
                return;
        }
        /* the bus name is owned (bus_new) and the transport is up */
        m->ready = true;
        (void) sd_notify(false, "READY=1\nSTATUS=Scanning the CAN bus");
        log_info("Ready on %s, CAN id %u", daemon_config(m->daemon)->transport, daemon_config(m->daemon)->can_id);
}

static void on_fatal(void *userdata, int error) {
        main_exit(userdata, EXIT_FAILURE);
}

static void on_signal(evutil_socket_t sig, short what, void *userdata) {
        Main *m = userdata;

        if (sig == SIGHUP) {
                Config *c = NULL;
                const char *key = NULL;
                int r;

                (void) sd_notify(false, "RELOADING=1");
                r = build_config(m, true, &c);
                if (r >= 0) {
                        r = daemon_reload(m->daemon, c, &key);
                        if (r == -EBUSY) {
                                log_warning("Reload: changing '%s' needs a restart, keeping the old configuration", key);
                                config_free(c);
                        } else
                                log_info("Configuration reloaded");
                } else
                        log_warning("Reload failed, keeping the old configuration");
                (void) sd_notify(false, "READY=1");
                return;
        }
        log_info("Received %s, exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        main_exit(m, EXIT_SUCCESS);
}

static void on_watchdog(evutil_socket_t fd, short what, void *userdata) {
        (void) sd_notify(false, "WATCHDOG=1");
}

int main(int argc, char **argv) {
        Main m = { .exit_code = 0 };
        struct event *sig_term = NULL, *sig_int = NULL, *sig_hup = NULL;
        Config *config = NULL;
        uint64_t watchdog_usec = 0;
        int r;

        log_setup();
        r = parse_argv(&m, argc, argv);
        if (r <= 0)
                goto finish;
        r = build_config(&m, true, &config);
        if (r < 0)
                goto finish;
        log_set_max_level(config->log_level);

        /* SIGPIPE from a vanished peer must not kill us; EPIPE is handled */
        signal(SIGPIPE, SIG_IGN);

        /* Precise timers (a timerfd under epoll): with millisecond epoll timeouts a
         * timer fires up to 1 ms late, and rate limiters that restart their period
         * at each send (the JSON watch) then accumulate that as latency. */
        {
                struct event_config *ecfg = event_config_new();

                if (ecfg && event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER) == 0)
                        m.base = event_base_new_with_config(ecfg);
                if (ecfg)
                        event_config_free(ecfg);
        }
        if (!m.base) {
                r = log_error_errno(ENOMEM, "Failed to create the event loop");
                config_free(config);
                goto finish;
        }
        sig_term = evsignal_new(m.base, SIGTERM, on_signal, &m);
        sig_int = evsignal_new(m.base, SIGINT, on_signal, &m);
        sig_hup = evsignal_new(m.base, SIGHUP, on_signal, &m);
        if (!sig_term || !sig_int || !sig_hup || evsignal_add(sig_term, NULL) < 0 || evsignal_add(sig_int, NULL) < 0 ||
            evsignal_add(sig_hup, NULL) < 0) {
                r = log_error_errno(ENOMEM, "Failed to set up signal handling");
                config_free(config);
                goto finish;
        }

        /* manage-link: configure the kernel interface (bitrate, restart-ms)
         * before the transport opens it */
        if (config->manage_link && strncmp(config->transport, "socketcan:", 10) == 0) {
                r = canlink_configure(config->transport + 10, config->bitrate, config->restart_ms);
                if (r < 0)
                        log_warning_errno(r, "Cannot configure %s (%m), using it as it is", config->transport + 10);
        }

        r = daemon_new(m.base, config, &transport_kinds, &m.daemon);
        if (r < 0)
                goto finish;
        daemon_set_fatal_handler(m.daemon, on_fatal, &m);

        /* The firmware manager sits on top of the core.  Without it vescd
         * still serves the controllers; firmware methods then answer
         * NotSupported. */
        r = fw_manager_new(m.daemon, &m.fw);
        if (r < 0)
                log_warning_errno(r, "%s; continuing without it", fw_manager_unavailable_text());

        r = bus_new(m.daemon, m.fw, daemon_config(m.daemon)->bus_address, &m.bus);
        if (r < 0)
                goto finish;
        bus_set_fatal_handler(m.bus, on_fatal, &m);

        /* the JSON socket is the second adapter: D-Bus stays usable without it */
        JsonServerConfig json_config = {
                .socket_path = daemon_config(m.daemon)->json_socket,
                .tcp_listen = daemon_config(m.daemon)->tcp_listen,
                .max_clients = daemon_config(m.daemon)->max_clients,
                .socket_activation = true,
        };
        r = json_server_new(m.daemon, m.fw, &json_config, &m.json);
        if (r < 0)
                log_warning_errno(r, "JSON socket %s unavailable (%m), serving D-Bus only",
                                  daemon_config(m.daemon)->json_socket);
        /* the read-only HTTP listener: off unless vescd-http.socket passed
         * a socket or http-listen is set */
        HttpServerConfig http_config = {
                .listen = daemon_config(m.daemon)->http_listen,
                .root = daemon_config(m.daemon)->http_root,
                .max_clients = daemon_config(m.daemon)->max_clients,
                .request_timeout_usec = (uint64_t) daemon_config(m.daemon)->client_line_timeout_s * USEC_PER_SEC,
                .stall_timeout_usec = daemon_scaled(m.daemon, 30 * USEC_PER_SEC),
                .socket_activation = true,
        };
        r = http_server_new(m.daemon, m.fw, &http_config, &m.http);
        if (r < 0)
                log_warning_errno(r, "HTTP listener unavailable (%m), continuing without it");
        r = daemon_add_listener(m.daemon, &main_listener, &m);
        if (r < 0)
                goto finish;

        r = daemon_start(m.daemon, on_ready, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to start discovery: %m");
                goto finish;
        }

        if (sd_watchdog_enabled(false, &watchdog_usec) > 0 && watchdog_usec > 0) {
                struct timeval tv = { .tv_sec = (time_t) (watchdog_usec / 2 / USEC_PER_SEC),
                                      .tv_usec = (suseconds_t) (watchdog_usec / 2 % USEC_PER_SEC) };
                m.watchdog_ev = event_new(m.base, -1, EV_PERSIST, on_watchdog, &m);
                if (m.watchdog_ev)
                        event_add(m.watchdog_ev, &tv);
        }

        event_base_dispatch(m.base);
        r = m.exit_code == 0 ? 0 : -EIO;
        (void) sd_notify(false, "STOPPING=1");

finish:
        if (m.daemon) {
                daemon_remove_listener(m.daemon, &main_listener, &m);
                /* cancel in-flight operations while the adapters can still reply */
                daemon_shutdown(m.daemon);
        }
        m.http = http_server_free(m.http);
        m.json = json_server_free(m.json);
        m.bus = bus_free(m.bus);
        m.fw = fw_manager_free(m.fw);
        m.daemon = daemon_free(m.daemon);
        if (m.watchdog_ev)
                event_free(m.watchdog_ev);
        if (sig_term)
                event_free(sig_term);
        if (sig_int)
                event_free(sig_int);
        if (sig_hup)
                event_free(sig_hup);
        if (m.base)
                event_base_free(m.base);
        free(m.override_keys);
        free(m.override_values);
        free(m.last_status);
        if (m.exit_code)
                return m.exit_code;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
