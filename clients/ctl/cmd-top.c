/* vescctl top: a live full-screen view of the board, like top or cgps.
 *
 * Every --interval seconds it reads the manager, every controller and the
 * running jobs (cached state on vescd's side: nothing is sent to a
 * controller) and redraws the screen in place with plain ANSI sequences:
 * cursor home, each line followed by erase-to-end-of-line, then erase
 * below.  q quits.  When stdout is not a terminal it prints the same table
 * as a block of lines per refresh (or one JSON object with --json). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vescctl.h"

typedef struct Screen {
        char **lines;
        size_t n, allocated;
} Screen;

static void screen_add(Screen *s, const char *fmt, ...) _printf_(2, 3);
static void screen_add(Screen *s, const char *fmt, ...) {
        va_list ap;
        char *line = NULL;

        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                line = NULL;
        va_end(ap);
        if (!line)
                return;
        if (s->n == s->allocated) {
                size_t a = s->allocated ? 2 * s->allocated : 32;
                char **l = realloc(s->lines, a * sizeof *l);
                if (!l) {
                        free(line);
                        return;
                }
                s->lines = l;
                s->allocated = a;
        }
        s->lines[s->n++] = line;
}

static void screen_done(Screen *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->lines[i]);
        free(s->lines);
        *s = (Screen) {};
}

static const char *fmt_num(char *buf, size_t size, json_t *c, const char *k, int prec, double scale) {
        json_t *v = json_object_get(c, k);

        if (!json_is_number(v))
                return "-";
        snprintf(buf, size, "%.*f", prec, json_number_value(v) * scale);
        return buf;
}

static void render(Screen *s, json_t *st, json_t *jobs, bool tty) {
        char t[40], b[7][24];
        json_t *c, *x;
        size_t i;

        format_wall_time(now_usec(CLOCK_REALTIME), t, sizeof t);
        screen_add(s, "vescd %s on %s, bus %s   %s%s", jstr(st, "version"), jstr(st, "transport"),
                   jstr(st, "bus_state"), t, tty ? "   (q quits)" : "");
        {
                const char *state = jstr(st, "board_state");
                bool mismatch = json_is_true(json_object_get(st, "mismatch"));
                if (!state[0])
                        state = mismatch ? "mismatch" : "consistent";
                screen_add(s, "Board: %s%s%s", state, jstr(st, "ride_mode")[0] ? ", ride mode " : "",
                           jstr(st, "ride_mode"));
                json_array_foreach(json_object_get(st, "board_state_reasons"), i, x)
                        screen_add(s, "  %s", json_string_value(x));
                if (!json_object_get(st, "board_state_reasons"))
                        json_array_foreach(json_object_get(st, "mismatch_reasons"), i, x)
                                screen_add(s, "  %s", json_string_value(x));
        }
        screen_add(s, "%s", "");
        screen_add(s, "%3s %-6s %-8s %8s %6s %7s %7s %6s %5s %5s  %-14s %s", "ID", "FW", "ONLINE", "ERPM", "DUTY%",
                   "MOTOR A", "BATT A", "VOLT V", "FET C", "MOT C", "FAULT", "UUID");
        json_array_foreach(json_object_get(st, "controller_objects"), i, c) {
                const char *fault = jstr(c, "fault");
                bool online = json_is_true(json_object_get(c, "online"));
                /* silent while a job holds it: not OFFLINE */
                const char *shown = online ? "yes" : job_phase_of(jobs, jstr(c, "uuid")) ? "updating" : "OFFLINE";
                screen_add(s, "%3lld %-6s %-8s %8s %6s %7s %7s %6s %5s %5s  %-14s %s", jint(c, "id"),
                           jstr(c, "firmware_version"), shown,
                           fmt_num(b[0], sizeof b[0], c, "erpm", 0, 1), fmt_num(b[1], sizeof b[1], c, "duty_cycle", 1, 100),
                           fmt_num(b[2], sizeof b[2], c, "current_motor", 2, 1),
                           fmt_num(b[3], sizeof b[3], c, "current_in", 2, 1),
                           fmt_num(b[4], sizeof b[4], c, "voltage_in", 2, 1),
                           fmt_num(b[5], sizeof b[5], c, "temp_fet", 1, 1),
                           fmt_num(b[6], sizeof b[6], c, "temp_motor", 1, 1), fault[0] ? fault : "-", jstr(c, "uuid"));
        }
        if (json_array_size(json_object_get(st, "controller_objects")) == 0)
                screen_add(s, "  (no controllers found yet)");
        json_array_foreach(jobs, i, c) {
                long long pct = jint(c, "progress");
                char bar[21];
                if (strcmp(jstr(c, "state"), "running") != 0)
                        continue;
                for (int k = 0; k < 20; k++)
                        bar[k] = k < pct / 5 ? '#' : '.';
                bar[20] = 0;
                screen_add(s, "%s", "");
                screen_add(s, "Job %lld (%s): %-10s [%s] %3lld%%  %lld/%lld bytes%s", jint(c, "id"), jstr(c, "kind"),
                           jstr(c, "phase"), bar, pct, jint(c, "bytes_done"), jint(c, "bytes_total"),
                           json_is_true(json_object_get(c, "do_not_power_off")) ? "  DO NOT POWER OFF" : "");
        }
}

static int read_all(sd_bus *bus, json_t **ret_state, json_t **ret_jobs) {
        int r;

        r = bus_get_state(bus, ret_state);
        if (r < 0)
                return r;
        if (list_jobs(bus, ret_jobs) < 0)
                *ret_jobs = json_array();
        return 0;
}

static int terminal_width(void) {
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}

static void draw(Screen *s) {
        int width = terminal_width();

        fputs("\033[H", stdout);
        for (size_t i = 0; i < s->n; i++)
                printf("%.*s\033[K\r\n", width, s->lines[i]);
        fputs("\033[J", stdout);
        fflush(stdout);
}

/* Wait up to usec for a key; true when it asks to quit. */
static bool wait_key(uint64_t usec, bool keys) {
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        int ms = (int) (usec / 1000);
        char ch;

        if (!keys) {
                (void) poll(NULL, 0, ms);
                return false;
        }
        if (poll(&p, 1, ms) <= 0)
                return false;
        if (read(STDIN_FILENO, &ch, 1) != 1)
                return true;    /* the terminal went away */
        return ch == 'q' || ch == 'Q' || ch == 3 /* ^C in raw mode */ || ch == 4;
}

static int cmd_top(sd_bus *bus, int argc, char **argv) {
        uint64_t end = arg_duration > 0 ? now_usec(CLOCK_MONOTONIC) + (uint64_t) (arg_duration * 1e6) : UINT64_MAX;
        uint64_t period = (uint64_t) (arg_interval * 1e6);
        bool tty = isatty(STDOUT_FILENO) && !arg_json;
        bool keys = tty && isatty(STDIN_FILENO);
        struct termios saved, raw;
        int r = 0;

        catch_interrupts();
        if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
                raw.c_cc[VMIN] = 1;
                raw.c_cc[VTIME] = 0;
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        } else
                keys = false;
        if (tty)
                fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);   /* alternate screen, hide cursor */
        while (!interrupted) {
                json_t *st = NULL, *jobs = NULL;
                Screen s = {};

                r = read_all(bus, &st, &jobs);
                if (r < 0)
                        break;
                if (arg_json) {
                        char t[40];
                        uint64_t wall = now_usec(CLOCK_REALTIME);
                        format_wall_time(wall, t, sizeof t);
                        json_object_set_new(st, "time", json_string(t));
                        json_object_set_new(st, "wall_time_usec", json_integer((json_int_t) wall));
                        json_object_set(st, "job_objects", jobs);
                        print_json_line(st);
                } else {
                        render(&s, st, jobs, tty);
                        if (tty)
                                draw(&s);
                        else {
                                for (size_t i = 0; i < s.n; i++)
                                        puts(s.lines[i]);
                                puts("");
                                fflush(stdout);
                        }
                }
                screen_done(&s);
                json_decref(st);
                json_decref(jobs);
                if (now_usec(CLOCK_MONOTONIC) + period >= end) {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);
                        if (now < end)
                                (void) wait_key(end - now, keys);
                        break;
                }
                if (wait_key(period, keys))
                        break;
        }
        if (tty)
                fputs("\033[?25h\033[?1049l", stdout);
        if (keys)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        fflush(stdout);
        /* what went wrong was printed on the alternate screen, gone now: again */
        if (r < 0 && tty)
                fprintf(stderr, "vescctl: top: %s\n",
                        r == -EHOSTDOWN ? "vescd stopped answering (it stopped or restarted); see 'journalctl -u vescd', "
                                          "then run 'vescctl top' again"
                                        : "reading vescd's state failed; see the message above or 'journalctl -u vescd'");
        return r;
}

const Command commands_top[] = {
        { "top", "", "a live full-screen view of every controller, the board and a running job",
          "A live full-screen view, redrawn every --interval seconds (default 1): the board\n"
          "state and its reasons, one row per controller (CAN id, firmware, online, ERPM,\n"
          "duty cycle in %, motor and battery current in A, input voltage in V, FET and\n"
          "motor temperature in degrees C, fault, UUID) and a running firmware job's\n"
          "progress.  q quits.  When stdout is not a terminal it prints the same table as\n"
          "a block of lines per refresh (one JSON object per line with --json), until\n"
          "interrupted or --duration seconds have passed.",
          0, 0, cmd_top },
        {},
};
