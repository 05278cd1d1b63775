/* vesc-sim: a virtual board of VESC controllers on a userspace CAN bus (or a
 * kernel CAN interface).  This file parses the command line and wires the
 * parts together: bus (simbus), controllers (vctl), control socket. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "control.h"
#include "imagemap.h"
#include "macro.h"
#include "presets.h"
#include "simbus.h"
#include "vctl.h"

typedef struct Args {
        const char *vbus, *socketcan, *board, *control;
        bool join, verbose;
        uint32_t bitrate;
        double time_scale, drop, corrupt;
        uint64_t seed;
        SimImageMap map;
} Args;

static void help(void) {
        printf("Usage: vesc-sim --vbus PATH [--join] | --socketcan IFACE  --board PRESET [OPTIONS]\n\n"
               "A virtual board of VESC motor controllers that speak the real CAN protocol.\n\n"
               "  --vbus PATH            create the userspace CAN hub at PATH (--join: join it)\n"
               "  --join                 join an existing hub instead of creating it\n"
               "  --socketcan IFACE      sit on a kernel CAN interface\n"
               "  --board PRESET         one of:");
        for (const char *const *p = preset_names; *p; p++)
                printf(" %s", *p);
        printf("\n"
               "  --bitrate BITS_PER_S   pace the hub like a real bus (0 = unpaced)\n"
               "  --control PATH         line-based control socket for fault injection\n"
               "  --time-scale F         multiply every firmware timing by F (default 1)\n"
               "  --seed N               seed of the fault-injection random numbers\n"
               "  --image-map SHA256=MAJOR.MINOR  version of an installed image without descriptor\n"
               "  --image-set DIR        read such mappings from DIR/manifest.json\n"
               "  --drop F, --corrupt F  fraction of received frames dropped / corrupted\n"
               "  --verbose              log controller state changes to stderr\n"
               "  --help\n\n"
               "Prints 'vesc-sim: ready' when the bus and the controllers are up; runs until\n"
               "SIGTERM or SIGINT.  See vesc-sim(1).\n");
}

static int parse_double(const char *s, double lo, double hi, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_args(int argc, char **argv, Args *a) {
        enum { O_VBUS = 256, O_JOIN, O_SOCKETCAN, O_BOARD, O_BITRATE, O_CONTROL, O_TIME_SCALE, O_SEED,
               O_IMAGE_MAP, O_IMAGE_SET, O_DROP, O_CORRUPT, O_VERBOSE, O_HELP };
        static const struct option opts[] = {
                { "vbus", required_argument, NULL, O_VBUS },
                { "join", no_argument, NULL, O_JOIN },
                { "socketcan", required_argument, NULL, O_SOCKETCAN },
                { "board", required_argument, NULL, O_BOARD },
                { "bitrate", required_argument, NULL, O_BITRATE },
                { "control", required_argument, NULL, O_CONTROL },
                { "time-scale", required_argument, NULL, O_TIME_SCALE },
                { "seed", required_argument, NULL, O_SEED },
                { "image-map", required_argument, NULL, O_IMAGE_MAP },
                { "image-set", required_argument, NULL, O_IMAGE_SET },
                { "drop", required_argument, NULL, O_DROP },
                { "corrupt", required_argument, NULL, O_CORRUPT },
                { "verbose", no_argument, NULL, O_VERBOSE },
                { "help", no_argument, NULL, O_HELP },
                {}
        };
        int c, r;
        double d;
        char *end;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case O_VBUS: a->vbus = optarg; break;
                case O_JOIN: a->join = true; break;
                case O_SOCKETCAN: a->socketcan = optarg; break;
                case O_BOARD: a->board = optarg; break;
                case O_CONTROL: a->control = optarg; break;
                case O_VERBOSE: a->verbose = true; break;
                case O_BITRATE:
                        if (parse_double(optarg, 0, 10e6, &d) < 0 || d != floor(d)) {
                                fprintf(stderr, "vesc-sim: invalid --bitrate '%s'\n", optarg);
                                return -EINVAL;
                        }
                        a->bitrate = (uint32_t) d;
                        break;
                case O_TIME_SCALE:
                        if (parse_double(optarg, 1e-4, 1e3, &a->time_scale) < 0) {
                                fprintf(stderr, "vesc-sim: invalid --time-scale '%s' (0.0001..1000)\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case O_SEED:
                        errno = 0;
                        a->seed = strtoull(optarg, &end, 0);
                        if (errno || end == optarg || *end) {
                                fprintf(stderr, "vesc-sim: invalid --seed '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case O_IMAGE_MAP:
                        r = sim_image_map_add_arg(&a->map, optarg);
                        if (r < 0) {
                                fprintf(stderr, "vesc-sim: invalid --image-map '%s' (want SHA256=MAJOR.MINOR)\n", optarg);
                                return r;
                        }
                        break;
                case O_IMAGE_SET:
                        r = sim_image_map_add_set(&a->map, optarg);
                        if (r < 0) {
                                fprintf(stderr, "vesc-sim: cannot read image set '%s': %s\n", optarg, strerror(-r));
                                return r;
                        }
                        break;
                case O_DROP:
                case O_CORRUPT:
                        if (parse_double(optarg, 0, 1, &d) < 0) {
                                fprintf(stderr, "vesc-sim: invalid fraction '%s' (0..1)\n", optarg);
                                return -EINVAL;
                        }
                        if (c == O_DROP)
                                a->drop = d;
                        else
                                a->corrupt = d;
                        break;
                case O_HELP:
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "vesc-sim: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (!a->board) {
                fprintf(stderr, "vesc-sim: --board PRESET is required (see --help)\n");
                return -EINVAL;
        }
        if (!!a->vbus == !!a->socketcan) {
                fprintf(stderr, "vesc-sim: give exactly one of --vbus PATH and --socketcan IFACE\n");
                return -EINVAL;
        }
        if (a->join && !a->vbus) {
                fprintf(stderr, "vesc-sim: --join needs --vbus PATH\n");
                return -EINVAL;
        }
        return 1;
}

static void on_signal(evutil_socket_t sig, short what, void *userdata) {
        event_base_loopbreak(userdata);
}

int main(int argc, char **argv) {
        Args a = { .time_scale = 1.0 };
        VctlSpec specs[PRESET_MAX_CONTROLLERS];
        Vctl *ctls[PRESET_MAX_CONTROLLERS] = {};
        VctlEnv env = {};
        struct event_base *base = NULL;
        struct event *sigterm = NULL, *sigint = NULL;
        SimBus *bus = NULL;
        SimControl *ctl = NULL;
        int n = 0, r, ret = EXIT_FAILURE;

        r = parse_args(argc, argv, &a);
        if (r <= 0) {
                sim_image_map_done(&a.map);
                return r == 0 ? EXIT_SUCCESS : 2;
        }
        n = preset_lookup(a.board, specs);
        if (n < 0) {
                fprintf(stderr, "vesc-sim: unknown board preset '%s' (see --help)\n", a.board);
                sim_image_map_done(&a.map);
                return 2;
        }
        if (sodium_init() < 0) {
                fprintf(stderr, "vesc-sim: libsodium initialisation failed\n");
                sim_image_map_done(&a.map);
                return EXIT_FAILURE;
        }
        /* A test harness going away must not kill us mid-write. */
        signal(SIGPIPE, SIG_IGN);

        /* Precise timers (a timerfd under epoll).  With epoll's millisecond
         * timeouts every timer fires up to 1 ms late: the bus pacing and each
         * modelled flash operation then took ~6.5 ms more per 384-byte chunk than
         * wire time + programming time (measured by bench-flash), a delay no real
         * controller has. */
        {
                struct event_config *ecfg = event_config_new();

                if (ecfg && event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER) == 0)
                        base = event_base_new_with_config(ecfg);
                if (ecfg)
                        event_config_free(ecfg);
        }
        if (!base) {
                fprintf(stderr, "vesc-sim: cannot create the event loop\n");
                goto out;
        }
        if (a.socketcan)
                r = simbus_new_socketcan(base, a.socketcan, &bus);
        else if (a.join)
                r = simbus_new_join(base, a.vbus, &bus);
        else
                r = simbus_new_hub(base, a.vbus, a.bitrate, &bus);
        if (r < 0) {
                fprintf(stderr, "vesc-sim: cannot %s '%s': %s\n",
                        a.socketcan ? "open CAN interface" : a.join ? "join the vbus at" : "create the vbus at",
                        a.socketcan ? a.socketcan : a.vbus, strerror(-r));
                goto out;
        }

        env = (VctlEnv) { .base = base, .bus = bus, .time_scale = a.time_scale,
                          .image_map = a.map.entries, .n_image_map = a.map.n, .verbose = a.verbose,
                          .ctls = ctls, .n_ctls = (size_t) n };
        for (int i = 0; i < n; i++) {
                r = vctl_new(&env, &specs[i], a.seed * 1000003u + (uint64_t) i + 1, &ctls[i]);
                if (r < 0) {
                        fprintf(stderr, "vesc-sim: cannot create controller %s: %s\n", specs[i].name, strerror(-r));
                        goto out;
                }
                vctl_set_drop(ctls[i], a.drop);
                vctl_set_corrupt(ctls[i], a.corrupt);
        }
        for (int i = 0; i < n; i++) {
                r = vctl_start(ctls[i]);
                if (r < 0) {
                        fprintf(stderr, "vesc-sim: controller %s cannot join the bus: %s\n", specs[i].name, strerror(-r));
                        goto out;
                }
        }
        if (a.control) {
                r = sim_control_new(base, a.control, bus, ctls, (size_t) n, &ctl);
                if (r < 0) {
                        fprintf(stderr, "vesc-sim: cannot open control socket '%s': %s\n", a.control, strerror(-r));
                        goto out;
                }
        }

        sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        sigint = evsignal_new(base, SIGINT, on_signal, base);
        if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0) {
                fprintf(stderr, "vesc-sim: cannot install signal handlers\n");
                goto out;
        }

        printf("vesc-sim: ready\n");
        fflush(stdout);

        if (event_base_dispatch(base) < 0) {
                fprintf(stderr, "vesc-sim: event loop failed\n");
                goto out;
        }
        ret = EXIT_SUCCESS;
out:
        ctl = sim_control_free(ctl);
        for (int i = 0; i < n; i++)
                ctls[i] = vctl_free(ctls[i]);
        bus = simbus_free(bus);
        if (sigterm)
                event_free(sigterm);
        if (sigint)
                event_free(sigint);
        if (base)
                event_base_free(base);
        sim_image_map_done(&a.map);
        return ret;
}
