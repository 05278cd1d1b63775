/* vescctl: command-line client of vescd over D-Bus.
 *
 *   vescctl [OPTIONS] COMMAND [ARGS...]      (vescctl --help lists them)
 *
 * This file parses the options, finds the command in the tables of the
 * cmd-*.c files, checks its arguments before anything is sent, connects,
 * runs it and turns the outcome into the documented exit code. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vescctl.h"

const char *arg_address;
bool arg_json;
double arg_duration;
double arg_interval = 1.0;
bool arg_wait;
bool arg_store;
bool arg_allow_mismatch;
bool arg_skip_can_id_restore;
bool arg_no_migrate_config;
bool arg_no_keep_can_id;
static bool arg_help;

static int cmd_help(sd_bus *bus, int argc, char **argv);

static const Command commands_help[] = {
        { "help", "[COMMAND]", "this text, or what COMMAND does",
          "Without COMMAND: every command and option.  With COMMAND (e.g. 'help firmware\n"
          "update'): what it does.  'vescctl COMMAND --help' is the same.",
          0, 2, cmd_help },
        {},
};

static const Command *const tables[] = {
        commands_board, commands_watch, commands_top, commands_config, commands_firmware, commands_help,
};

enum {
        OPT_DURATION = 0x100,
        OPT_INTERVAL,
        OPT_STORE,
        OPT_ALLOW_MISMATCH,
        OPT_SKIP_CAN_ID_RESTORE,
        OPT_NO_MIGRATE_CONFIG,
        OPT_NO_KEEP_CAN_ID,
};

static const char options_help[] =
        "Options:\n"
        "  -A --address ADDR       D-Bus address instead of the system bus\n"
        "  -j --json               JSON output (the JSON socket's snake_case field names)\n"
        "     --duration SEC       watch, top: stop after SEC seconds\n"
        "     --interval SEC       top: seconds between redraws (default 1)\n"
        "  -w --wait               firmware: follow the job with a live progress line until it ends\n"
        "     --store              limits set: also write the limits to flash\n"
        "     --allow-mismatch     firmware update: allow leaving the board mismatched (root only)\n"
        "     --skip-can-id-restore  firmware: do not give a controller its CAN id back after the update\n"
        "     --no-migrate-config  firmware: do not carry parameters to a new configuration layout\n"
        "     --no-keep-can-id     config restore, config copy: write the CAN id too\n"
        "  -V --version            vescctl's version\n"
        "  -h --help               this text; after a command: what it does\n";

static void help(void) {
        printf("vescctl - talk to vescd over D-Bus\n\n"
               "Usage: vescctl [OPTIONS] COMMAND [ARGS...]\n\n"
               "A CONTROLLER is its UUID (24 hex digits) or its CAN id; a SET is an image set's id\n"
               "or name.\n\n"
               "Commands:\n");
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const Command *c = tables[t]; c->name; c++) {
                        char head[64];
                        snprintf(head, sizeof head, "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
                        /* a long head gets a line of its own, the summaries stay in one column */
                        if (strlen(head) > 34)
                                printf("  %s\n  %-34s %s\n", head, "", c->summary);
                        else
                                printf("  %-34s %s\n", head, c->summary);
                }
        printf("\n%s\n"
               "Exit status: 0 success, 1 failed or refused, 2 usage error, 3 vescd not reachable,\n"
               "4 permission denied, 5 not supported by this vescd, 6 no such controller, set, job or ride mode.\n",
               options_help);
}

static void command_help(const Command *c) {
        printf("Usage: vescctl [OPTIONS] %s%s%s\n\n%s\n", c->name, c->args[0] ? " " : "", c->args, c->help);
}

/* Find the command named by words[0] (and words[1] for two-word commands);
 * *ret_used tells how many words the name took. */
static const Command *find_command(int n, char **words, int *ret_used) {
        char two[64];

        if (n >= 2) {
                snprintf(two, sizeof two, "%s %s", words[0], words[1]);
                for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                        for (const Command *c = tables[t]; c->name; c++)
                                if (strcmp(c->name, two) == 0) {
                                        *ret_used = 2;
                                        return c;
                                }
        }
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const Command *c = tables[t]; c->name; c++)
                        if (strcmp(c->name, words[0]) == 0) {
                                *ret_used = 1;
                                return c;
                        }
        return NULL;
}

/* "firmware", "config", "limits": the subcommands, for a message. */
static bool is_group(const char *word, char *list, size_t size) {
        size_t len = strlen(word), used = 0;
        bool found = false;

        list[0] = 0;
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const Command *c = tables[t]; c->name; c++)
                        if (strncmp(c->name, word, len) == 0 && c->name[len] == ' ') {
                                used += (size_t) snprintf(list + used, used < size ? size - used : 0, "%s%s",
                                                          found ? "|" : "", c->name + len + 1);
                                found = true;
                        }
        return found;
}

static int cmd_help(sd_bus *bus, int argc, char **argv) {
        const Command *c;
        char list[256];
        int used;

        if (argc == 0) {
                help();
                return 0;
        }
        c = find_command(argc, argv, &used);
        if (c && used == argc) {
                command_help(c);
                return 0;
        }
        if (argc == 1 && is_group(argv[0], list, sizeof list)) {
                printf("Usage: vescctl %s %s ...   (vescctl help %s SUBCOMMAND)\n", argv[0], list, argv[0]);
                return 0;
        }
        return usage_error(NULL, "no command '%s%s%s'", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
}

static int parse_seconds(const char *opt, const char *s, double min, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (!s[0] || *end || errno || !isfinite(v) || v < min || v > 1e9)
                return usage_error(NULL, "%s: '%s' is not a number of seconds (at least %g)", opt, s, min);
        *ret = v;
        return 0;
}

/* Check CONTROLLER-like arguments before anything is sent. */
static int check_args(const Command *c, int argc, char **argv) {
        int names = strncmp(c->args, "CONTROLLER OTHER", 16) == 0 || strncmp(c->args, "FROM TO", 7) == 0 ? 2
                    : strncmp(c->args, "CONTROLLER", 10) == 0                                               ? 1
                                                                                                            : 0;

        if (argc < c->min_args || (c->max_args >= 0 && argc > c->max_args)) {
                if (argc < c->min_args)
                        return usage_error(c->name, "missing argument%s: %s %s", c->min_args - argc > 1 ? "s" : "",
                                           c->name, c->args);
                return usage_error(c->name, "too many arguments (%s %s)", c->name, c->args);
        }
        if (strcmp(c->args, "UUID") == 0 && (strlen(argv[0]) != 24 || strspn(argv[0], "0123456789abcdef") != 24))
                return usage_error(c->name, "'%s' is not a controller UUID (24 lower-case hex digits)", argv[0]);
        if (strcmp(c->args, "N") == 0) {
                const char *num = strncmp(argv[0], JOB_PREFIX, strlen(JOB_PREFIX)) == 0 ? argv[0] + strlen(JOB_PREFIX)
                                                                                       : argv[0];
                size_t len = strlen(num);
                if (len == 0 || len > 9 || strspn(num, "0123456789") != len || strtoul(num, NULL, 10) == 0)
                        return usage_error(c->name, "'%s' is not a job number (a positive integer, as 'vescctl "
                                                    "firmware history' shows)",
                                           argv[0]);
        }
        for (int i = 0; i < names && i < argc; i++)
                if (!controller_name_valid(argv[i]))
                        return usage_error(c->name, "'%s' is neither a controller UUID (24 hex digits) nor a CAN id "
                                                    "(0-254)",
                                           argv[i]);
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "address", required_argument, NULL, 'A' },
                { "json", no_argument, NULL, 'j' },
                { "duration", required_argument, NULL, OPT_DURATION },
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "wait", no_argument, NULL, 'w' },
                { "store", no_argument, NULL, OPT_STORE },
                { "allow-mismatch", no_argument, NULL, OPT_ALLOW_MISMATCH },
                { "skip-can-id-restore", no_argument, NULL, OPT_SKIP_CAN_ID_RESTORE },
                { "no-migrate-config", no_argument, NULL, OPT_NO_MIGRATE_CONFIG },
                { "no-keep-can-id", no_argument, NULL, OPT_NO_KEEP_CAN_ID },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        static char *status_words[] = { (char *) "status", NULL };
        const Command *cmd;
        char **words, list[256];
        int c, n, used, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":A:jwhV", options, NULL)) >= 0) {
                switch (c) {
                case 'A':
                        arg_address = optarg;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case OPT_DURATION:
                        if (parse_seconds("--duration", optarg, 0.001, &arg_duration) < 0)
                                return EXIT_USAGE;
                        break;
                case OPT_INTERVAL:
                        if (parse_seconds("--interval", optarg, 0.1, &arg_interval) < 0)
                                return EXIT_USAGE;
                        break;
                case 'w':
                        arg_wait = true;
                        break;
                case OPT_STORE:
                        arg_store = true;
                        break;
                case OPT_ALLOW_MISMATCH:
                        arg_allow_mismatch = true;
                        break;
                case OPT_SKIP_CAN_ID_RESTORE:
                        arg_skip_can_id_restore = true;
                        break;
                case OPT_NO_MIGRATE_CONFIG:
                        arg_no_migrate_config = true;
                        break;
                case OPT_NO_KEEP_CAN_ID:
                        arg_no_keep_can_id = true;
                        break;
                case 'V':
                        printf("vescctl %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                case 'h':
                        arg_help = true;
                        break;
                case ':':
                        usage_error(NULL, "option %s needs a value", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        /* GNU getopt permutes: options may also follow the command */
        n = argc - optind;
        words = argv + optind;
        if (n == 0) {
                if (arg_help) {
                        help();
                        return EXIT_OK;
                }
                words = status_words;
                n = 1;
        }
        cmd = find_command(n, words, &used);
        if (!cmd && n >= 1 && is_group(words[0], list, sizeof list)) {
                if (strcmp(words[0], "firmware") == 0 && n == 1 && !arg_help)
                        cmd = find_command(2, (char *[]) { (char *) "firmware", (char *) "sets" }, &used), used = 1;
                else if (arg_help && n == 1) {
                        printf("Usage: vescctl %s %s ...   (vescctl help %s SUBCOMMAND)\n", words[0], list, words[0]);
                        return EXIT_OK;
                } else {
                        usage_error(words[0], n > 1 ? "no subcommand '%s' (%s)" : "which one? (%s%s)",
                                    n > 1 ? words[1] : "", list);
                        return EXIT_USAGE;
                }
        }
        if (!cmd) {
                usage_error(NULL, "unknown command '%s'", words[0]);
                return EXIT_USAGE;
        }
        if (arg_help) {
                command_help(cmd);
                return EXIT_OK;
        }
        r = check_args(cmd, n - used, words + used);
        if (r < 0)
                return errno_to_exit(r);
        if (cmd->run != cmd_help) {
                r = bus_connect(&bus);
                if (r < 0)
                        return errno_to_exit(r);
        }
        r = cmd->run(bus, n - used, words + used);
        return r > 0 ? EXIT_FAILED : errno_to_exit(r);
}
