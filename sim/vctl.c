/* A virtual VESC controller (see vctl.h).  The firmware's threads are
 * modelled by phases:
 *
 *   running      frames are handled as they arrive;
 *   busy         the command thread sleeps (config ack delay, ERASE waiting
 *                for the motor): frames queue in software (RX_FRAMES_SIZE 100)
 *                and status broadcasts go on;
 *   erasing/writing  the kernel is locked: nothing is handled, nothing is
 *                broadcast, and frames land in the bxCAN FIFO, three deep,
 *                whose third slot each newer frame overwrites (spec §14.6);
 *   bootloader   silent: checking the header, installing, or waiting for the
 *                watchdog after a jump into a broken bootloader;
 *   rebooting    silent until CAN is initialised;
 *   bricked      silent forever.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "fwimage.h"
#include "macro.h"
#include "physics.h"
#include "simbus.h"
#include "vctl-flash.h"
#include "vctl-rx.h"
#include "vctl.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "wire.h"

/* Firmware timings at time scale 1 (µs). */
#define BOOT_USEC                300000u  /* reset until CAN is up */
#define NOTIFY_BOOT_USEC         500000u  /* spec §6.3 */
#define CONF_ACK_USEC            200000u  /* SET_MCCONF / SET_APPCONF pause, spec §13.1 */
#define ERASE_MOTOR_WAIT_USEC   3000000u  /* 5.03+: wait for the motor to stop, spec §14.3 */
#define MOTOR_POLL_USEC           10000u
#define BL_CHECK_USEC            100000u  /* bootloader reading the header */
#define BL_BLINK_USEC            300000u  /* one LED blink of a refusal code */
#define IWDG_USEC              32000000u  /* slowest independent watchdog, spec §14.4 */
#define RIDE_TICK_USEC            50000u  /* a scripted ride refreshes its command at 20 Hz */
#define STATUS_FRESH_USEC        100000u  /* spec §5.3 */

#define SWQ_MAX 100                       /* RX_FRAMES_SIZE */
#define FIFO_DEPTH 3
#define HEARD_MAX 10                      /* CAN_STATUS_MSGS_TO_STORE */
#define RIDE_MAX 32

/* COMM_PACKET_ID values handled (spec §11). */
enum {
        CMD_FW_VERSION = 0,
        CMD_JUMP_TO_BOOTLOADER = 1,
        CMD_ERASE_NEW_APP = 2,
        CMD_WRITE_NEW_APP_DATA = 3,
        CMD_GET_VALUES = 4,
        CMD_SET_DUTY = 5,
        CMD_SET_CURRENT = 6,
        CMD_SET_CURRENT_BRAKE = 7,
        CMD_SET_RPM = 8,
        CMD_SET_POS = 9,
        CMD_SET_HANDBRAKE = 10,
        CMD_SET_MCCONF = 13,
        CMD_GET_MCCONF = 14,
        CMD_GET_MCCONF_DEFAULT = 15,
        CMD_SET_APPCONF = 16,
        CMD_GET_APPCONF = 17,
        CMD_GET_APPCONF_DEFAULT = 18,
        CMD_PRINT = 21,
        CMD_REBOOT = 29,
        CMD_ALIVE = 30,
        CMD_SET_MCCONF_TEMP = 48,
        CMD_SET_MCCONF_TEMP_SETUP = 49,
        CMD_GET_VALUES_SELECTIVE = 50,
        CMD_APP_DISABLE_OUTPUT = 63,
        CMD_ERASE_BOOTLOADER = 73,
        CMD_SET_CURRENT_REL = 84,
        CMD_GET_MCCONF_TEMP = 91,
        CMD_SET_APPCONF_NO_STORE = 149,
};

typedef enum Phase {
        PHASE_RUNNING,
        PHASE_BUSY,
        PHASE_ERASING,
        PHASE_WRITING,
        PHASE_ERASING_BL,
        PHASE_BL_CHECK,
        PHASE_INSTALLING,
        PHASE_WATCHDOG,
        PHASE_BOOTING,
        PHASE_BRICKED,
        _PHASE_MAX,
} Phase;

static const char *const phase_table[_PHASE_MAX] = {
        [PHASE_RUNNING] = "running",
        [PHASE_BUSY] = "running",
        [PHASE_ERASING] = "erasing",
        [PHASE_WRITING] = "writing",
        [PHASE_ERASING_BL] = "erasing",
        [PHASE_BL_CHECK] = "bootloader",
        [PHASE_INSTALLING] = "bootloader",
        [PHASE_WATCHDOG] = "bootloader",
        [PHASE_BOOTING] = "rebooting",
        [PHASE_BRICKED] = "bricked",
};

/* What the op timer completes. */
typedef enum Op {
        OP_NONE,
        OP_CONF_ACK,
        OP_MOTOR_WAIT,
        OP_ERASE_DONE,
        OP_WRITE_DONE,
        OP_ERASE_BL_DONE,
        OP_BL_CHECK,
        OP_BL_REFUSED,
        OP_INSTALL_DONE,
        OP_WATCHDOG,
        OP_BOOT_DONE,
} Op;

typedef struct RideStep {
        PhysMode mode;
        double value;
        double seconds;          /* < 0: until replaced */
} RideStep;

typedef struct Heard {
        uint8_t id;
        uint64_t at;
} Heard;

struct Vctl {
        const VctlEnv *env;
        VctlSpec spec;           /* identity as built; name, uuid stay */
        SimPort *port;

        /* identity of the running firmware */
        uint8_t id;
        uint8_t major, minor, test_build, hw_type;
        char hw_name[33];
        char fw_name[33];

        /* flash */
        SimFlash *flash;
        uint8_t appconf[SIM_CONF_MAX];
        size_t appconf_len;
        uint8_t mcconf_m[2][SIM_CONF_MAX]; /* MCCONF is per motor (spec §16.3) */
        uint8_t *mcconf;         /* the selected motor's */
        size_t mcconf_len;
        const SimHwInfo *hw;

        /* RAM */
        Phase phase;
        SimRx rx;
        Physics motor[2];        /* [1]: the second motor of a single-MCU dual board */
        Physics *ph;             /* the selected motor (the firmware's motor thread) */
        unsigned sel;            /* its index */
        uint8_t last_rx_data[8]; /* the firmware reads stale bytes past a short DLC */
        struct can_frame fifo[FIFO_DEPTH];
        unsigned fifo_n;
        struct can_frame swq[SWQ_MAX];
        unsigned swq_head, swq_n;
        Heard heard[HEARD_MAX];
        SimStatusSchedule sched;
        int32_t disable_output_msec;

        /* the operation in progress */
        Op op;
        struct event *ev_op;
        uint64_t op_deadline;    /* OP_MOTOR_WAIT */
        uint8_t pending_cmd;     /* what the motor wait is for */
        uint8_t pending_reply[16];
        size_t pending_reply_len;
        bool pending_want_reply;
        uint32_t pending_size;
        uint32_t pending_offset;
        uint8_t *pending_data;
        size_t pending_len;
        bool op_power_cycle;     /* power-cycle at the end of this op */
        unsigned boot_starts_left;
        unsigned bl_gen;
        SimBootPlan plan;
        uint8_t *app;            /* install buffer, SIM_FLASH_APP_AREA, only during installs */
        bool install_watchdog;

        struct event *ev_status[2];
        struct event *ev_notify;
        struct event *ev_ride;
        struct event *ev_drain;

        /* fault injection */
        double drop, corrupt;
        bool muted;
        bool miss_jump;
        bool lose_conf[2];       /* [0] SET_MCCONF, [1] SET_APPCONF */
        VctlPowerCycleAt pc_at;
        uint64_t rng;

        RideStep ride[RIDE_MAX];
        unsigned ride_motor;
        unsigned ride_n, ride_i;
        uint64_t ride_step_end;

        VctlCounters counters;
};

static const char *const pc_table[_VCTL_PC_MAX] = {
        [VCTL_PC_NONE] = "none",
        [VCTL_PC_ERASE] = "erase",
        [VCTL_PC_WRITE] = "write",
        [VCTL_PC_BOOTLOADER] = "bootloader",
        [VCTL_PC_NOW] = "now",
};

/**
 * vctl_power_cycle_at_from_string() - parse a power-cycle phase name
 * @s: "erase", "write", "bootloader", "now" or "none"
 *
 * Returns the value or _VCTL_PC_INVALID.
 */
VctlPowerCycleAt vctl_power_cycle_at_from_string(const char *s) {
        for (int i = 0; i < _VCTL_PC_MAX; i++)
                if (s && strcmp(s, pc_table[i]) == 0)
                        return (VctlPowerCycleAt) i;
        return _VCTL_PC_INVALID;
}

static void *mfree(void *p) {
        free(p);
        return NULL;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static uint64_t scaled(const Vctl *c, uint64_t usec) {
        double v = (double) usec * c->env->time_scale;
        return v < 1 ? 1 : (uint64_t) v;
}

static void arm(struct event *ev, uint64_t usec) {
        struct timeval tv = { .tv_sec = (time_t) (usec / USEC_PER_SEC), .tv_usec = (suseconds_t) (usec % USEC_PER_SEC) };
        evtimer_add(ev, &tv);
}

static uint64_t rng_next(Vctl *c) {
        /* xorshift64*: per controller, seeded, so runs are repeatable */
        c->rng ^= c->rng >> 12;
        c->rng ^= c->rng << 25;
        c->rng ^= c->rng >> 27;
        return c->rng * UINT64_C(2685821657736338717);
}

static double rng_unit(Vctl *c) {
        return (double) (rng_next(c) >> 11) / 9007199254740992.0;
}

static unsigned fw_code(const Vctl *c) {
        return sim_fw_code(c->major, c->minor);
}

static unsigned n_motors(const Vctl *c) {
        return c->spec.dual_motor ? 2 : 1;
}

/* utils_second_motor_id(): id + 1, 255 wraps to 0. */
static uint8_t second_id(const Vctl *c) {
        uint8_t n = (uint8_t) (c->id + 1);
        return n == VESC_ID_BROADCAST ? 0 : n;
}

/* mc_interface_select_motor_thread() */
static void select_motor(Vctl *c, unsigned m) {
        c->sel = m < n_motors(c) ? m : 0;
        c->ph = &c->motor[c->sel];
        c->mcconf = c->mcconf_m[c->sel];
}

/* The id the selected motor answers at. */
static uint8_t selected_id(const Vctl *c) {
        return c->sel ? second_id(c) : c->id;
}

static void advance_all(Vctl *c, uint64_t now) {
        for (unsigned m = 0; m < n_motors(c); m++)
                physics_advance(&c->motor[m], now);
}

static void release_all(Vctl *c, uint64_t now) {
        for (unsigned m = 0; m < n_motors(c); m++)
                physics_release(&c->motor[m], now);
}

static bool all_stopped(const Vctl *c) {
        for (unsigned m = 0; m < n_motors(c); m++)
                if (!physics_stopped(&c->motor[m]))
                        return false;
        return true;
}

static void logv(const Vctl *c, const char *fmt, ...) _printf_(2, 3);
static void logv(const Vctl *c, const char *fmt, ...) {
        va_list ap;

        if (!c->env->verbose)
                return;
        fprintf(stderr, "vesc-sim: %s (id %u, %u.%02u): ", c->spec.name, c->id, c->major, c->minor);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void enter_phase(Vctl *c, Phase p) {
        if (c->phase != p)
                logv(c, "%s -> %s", phase_table[c->phase], phase_table[p]);
        c->phase = p;
}

static bool threads_running(const Vctl *c) {
        return c->phase == PHASE_RUNNING || c->phase == PHASE_BUSY;
}

/* ------------------------------------------------------------ sending */

static void send_frame(Vctl *c, const struct can_frame *f) {
        if (!c->port || c->muted) {
                c->counters.tx_muted++;
                return;
        }
        if (simport_send(c->port, f) >= 0)
                c->counters.tx_frames++;
}

static void send_buffer(Vctl *c, uint8_t dest, uint8_t mode, const uint8_t *payload, size_t len) {
        VescSegmenter s;
        struct can_frame f;

        if (vesc_segmenter_init(&s, dest, c->id, (VescSendMode) mode, payload, len) < 0)
                return;
        /* All frames are queued at once: the bus (hub pacing) spaces them. */
        while (vesc_segmenter_next(&s, &f) > 0)
                send_frame(c, &f);
}

static void send_reply(Vctl *c, const uint8_t *payload, size_t len) {
        uint8_t mode = fw_code(c) >= 605 ? c->rx.reply_mode : 1;

        send_buffer(c, c->rx.reply_id, mode, payload, len);
}

static void send_print(Vctl *c, const char *text) {
        uint8_t buf[128];
        size_t n = MIN(strlen(text), sizeof buf - 1);

        buf[0] = CMD_PRINT;
        memcpy(buf + 1, text, n);
        send_reply(c, buf, n + 1);
}

/* ------------------------------------------------------------ status */

static const uint8_t status_types[6] = {
        CAN_PACKET_STATUS, CAN_PACKET_STATUS_2, CAN_PACKET_STATUS_3,
        CAN_PACKET_STATUS_4, CAN_PACKET_STATUS_5, CAN_PACKET_STATUS_6,
};

static void status_frame(const Physics *p, uint8_t id, unsigned bit, struct can_frame *f) {
        VescStatus st = { .type = status_types[bit], .sender = id };

        switch (bit) {
        case 0:
                st.s1.erpm = (int32_t) p->erpm;
                st.s1.current = p->current;
                st.s1.duty = p->duty;
                break;
        case 1:
                st.s2.ah = p->ah;
                st.s2.ah_charged = p->ah_charged;
                break;
        case 2:
                st.s3.wh = p->wh;
                st.s3.wh_charged = p->wh_charged;
                break;
        case 3:
                st.s4.temp_fet = p->temp_fet;
                st.s4.temp_motor = p->temp_motor;
                st.s4.current_in = p->current_in;
                break;
        case 4:
                st.s5.tachometer = (int32_t) p->tacho;
                st.s5.v_in = p->v_in;
                break;
        default:
                /* STATUS_6: ADC pins and PPM input, all idle */
                break;
        }
        /* The codec's encoder is the firmware's layout (spec §5.1). */
        memset(f, 0, sizeof *f);
        (void) vesc_status_encode(&st, f);
}

static void status_send(Vctl *c, unsigned set) {
        uint8_t msgs = c->sched.msgs[set];

        if (!threads_running(c))
                return;
        advance_all(c, now_usec());
        for (unsigned bit = 0; bit < 6; bit++) {
                struct can_frame f;

                if (!(msgs & (1u << bit)))
                        continue;
                /* STATUS_6 exists from 6.00 only. */
                if (bit == 5 && c->major < 6)
                        continue;
                /* A dual-motor board sends each message for both ids. */
                status_frame(&c->motor[0], c->id, bit, &f);
                send_frame(c, &f);
                if (n_motors(c) > 1) {
                        status_frame(&c->motor[1], second_id(c), bit, &f);
                        send_frame(c, &f);
                }
        }
}

static void status_rearm(Vctl *c) {
        for (unsigned s = 0; s < 2; s++) {
                evtimer_del(c->ev_status[s]);
                if (c->sched.rate[s] > 0 && c->sched.msgs[s] != 0)
                        arm(c->ev_status[s], USEC_PER_SEC / c->sched.rate[s]);
        }
}

static void status_fire(Vctl *c, unsigned set) {
        /* The status thread sleeps 10000/rate ticks of 100 µs between bursts. */
        status_send(c, set);
        if (c->sched.rate[set] > 0 && c->sched.msgs[set] != 0)
                arm(c->ev_status[set], USEC_PER_SEC / c->sched.rate[set]);
}

static void on_status1(evutil_socket_t fd, short what, void *userdata) {
        status_fire(userdata, 0);
}

static void on_status2(evutil_socket_t fd, short what, void *userdata) {
        status_fire(userdata, 1);
}

/* ------------------------------------------------------------ config */

/* The ids a controller answers at overlap (a dual-motor board has two). */
static bool ids_overlap(const Vctl *a, const Vctl *b) {
        return a->id == b->id || (n_motors(b) > 1 && a->id == second_id(b)) ||
               (n_motors(a) > 1 && (second_id(a) == b->id || (n_motors(b) > 1 && second_id(a) == second_id(b))));
}

/* c just came up on the bus or changed its id: count it when another
 * running controller of this simulator answers at one of its ids (two
 * controllers on one id: the bus sees both answer). */
static void check_id_clash(Vctl *c) {
        for (size_t i = 0; i < c->env->n_ctls; i++) {
                const Vctl *o = c->env->ctls[i];

                if (!o || o == c || !o->port || !threads_running(o) || !ids_overlap(c, o))
                        continue;
                c->counters.id_clashes++;
                fprintf(stderr, "vesc-sim: %s: id %u is also %s's\n", c->spec.name, c->id, o->spec.name);
        }
}

static void apply_appconf(Vctl *c, bool came_up) {
        uint8_t old = c->id;
        uint64_t t;

        if (c->appconf_len > 4)
                c->id = c->appconf[4];
        if (c->port && threads_running(c) && (came_up || c->id != old))
                check_id_clash(c);
        sim_fw_appconf_schedule(c->major, c->appconf, c->appconf_len, &c->sched);
        t = (uint64_t) sim_fw_appconf_timeout_msec(c->appconf, c->appconf_len) * USEC_PER_MSEC;
        for (unsigned m = 0; m < n_motors(c); m++)
                c->motor[m].timeout_usec = t ? scaled(c, t) : 0;
        if (threads_running(c))
                status_rearm(c);
}

static void apply_mcconf_motor(Vctl *c, unsigned m) {
        const uint8_t *mc = c->mcconf_m[m];
        Physics *p = &c->motor[m];
        SimMotorLimits l;
        SimFaultLimits f;

        sim_fw_mcconf_limits(c->major, c->minor, mc, c->mcconf_len, &l);
        p->lim.current_max = l.current_max;
        p->lim.current_min = l.current_min;
        p->lim.in_current_max = l.in_current_max;
        p->lim.in_current_min = l.in_current_min;
        p->lim.erpm_min = l.erpm_min;
        p->lim.erpm_max = l.erpm_max;

        physics_advance(p, now_usec());
        sim_fw_mcconf_fault_limits(c->major, c->minor, c->hw, mc, c->mcconf_len, &f);
        p->flim = (PhysFaultLimits) {
                .min_vin = f.min_vin, .max_vin = f.max_vin,
                .abs_current_max = f.abs_current_max,
                .temp_fet_start = f.temp_fet_start, .temp_fet_end = f.temp_fet_end,
                .temp_motor_start = f.temp_motor_start, .temp_motor_end = f.temp_motor_end,
                .fault_stop_usec = scaled(c, (uint64_t) MAX(f.fault_stop_time_ms, 1) * USEC_PER_MSEC),
        };
}

static void apply_mcconf(Vctl *c) {
        for (unsigned m = 0; m < n_motors(c); m++)
                apply_mcconf_motor(c, m);
}

static size_t default_mcconf(Vctl *c, uint8_t out[static SIM_CONF_MAX]) {
        size_t n = sim_fw_default_mcconf(c->major, c->minor, out);

        sim_fw_mcconf_set_fault_limits(c->major, c->minor, out, n, &c->hw->defaults);
        return n;
}

static void reset_config(Vctl *c, uint8_t id) {
        c->appconf_len = sim_fw_default_appconf(c->major, c->minor, id, c->appconf);
        for (unsigned m = 0; m < 2; m++)
                c->mcconf_len = default_mcconf(c, c->mcconf_m[m]);
}

/* ------------------------------------------------------------ encoders */

static size_t encode_fw_version(const Vctl *c, uint8_t *buf, size_t size) {
        WireWriter w = WIRE_WRITER(buf, size);
        unsigned v = fw_code(c);

        wire_put_u8(&w, CMD_FW_VERSION);
        wire_put_u8(&w, c->major);
        wire_put_u8(&w, c->minor);
        wire_put_str(&w, c->hw_name);
        wire_put_bytes(&w, c->spec.uuid, 11);
        /* The second motor: the UUID's last byte + 1 (commands.c). */
        wire_put_u8(&w, (uint8_t) (c->spec.uuid[11] + (c->sel ? 1 : 0)));
        wire_put_u8(&w, 0);                         /* pairing done */
        if (v >= 500)
                wire_put_u8(&w, c->test_build);
        if (v >= 502) {
                wire_put_u8(&w, c->hw_type);
                wire_put_u8(&w, 0);                 /* custom configs */
        }
        if (v >= 503) {
                wire_put_u8(&w, 0);                 /* phase filters */
                wire_put_u8(&w, 0);                 /* QML UI hw */
                wire_put_u8(&w, 0);                 /* QML UI app */
        }
        if (v >= 600) {
                wire_put_u8(&w, 0);                 /* NRF flags */
                wire_put_str(&w, c->fw_name);
        }
        if (v >= 605)
                wire_put_u32(&w, 0);                /* hw config CRC */
        return w.error ? 0 : w.pos;
}

static void put_value(const Vctl *c, WireWriter *w, unsigned bit) {
        const Physics *p = c->ph;

        switch (bit) {
        case 0: wire_put_f16(w, p->temp_fet, 1e1); break;
        case 1: wire_put_f16(w, p->temp_motor, 1e1); break;
        case 2: wire_put_f32(w, p->current, 1e2); break;
        case 3: wire_put_f32(w, p->current_in, 1e2); break;
        case 4: wire_put_f32(w, 0, 1e2); break;            /* id */
        case 5: wire_put_f32(w, p->current, 1e2); break;   /* iq */
        case 6: wire_put_f16(w, p->duty, 1e3); break;
        case 7: wire_put_f32(w, p->erpm, 1); break;
        case 8: wire_put_f16(w, p->v_in, 1e1); break;
        case 9: wire_put_f32(w, p->ah, 1e4); break;
        case 10: wire_put_f32(w, p->ah_charged, 1e4); break;
        case 11: wire_put_f32(w, p->wh, 1e4); break;
        case 12: wire_put_f32(w, p->wh_charged, 1e4); break;
        case 13: wire_put_u32(w, (uint32_t) p->tacho); break;
        case 14: wire_put_u32(w, (uint32_t) p->tacho_abs); break;
        case 15: wire_put_u8(w, (uint8_t) p->fault); break;
        case 16: wire_put_f32(w, 0, 1e6); break;           /* PID position */
        case 17: wire_put_u8(w, selected_id(c)); break;
        case 18:
                for (int i = 0; i < 3; i++)
                        wire_put_f16(w, p->temp_fet, 1e1);
                break;
        case 19: wire_put_f32(w, p->duty * p->v_in * 0.1, 1e3); break; /* vd */
        case 20: wire_put_f32(w, p->duty * p->v_in, 1e3); break;       /* vq */
        case 21: wire_put_u8(w, p->timed_out ? 1 : 0); break;
        default: break;
        }
}

static unsigned values_bits(const Vctl *c) {
        unsigned v = fw_code(c);

        return v >= 503 ? 22 : v >= 360 ? 21 : 19;
}

static size_t encode_values(Vctl *c, bool selective, uint32_t mask, uint8_t *buf, size_t size) {
        WireWriter w = WIRE_WRITER(buf, size);
        unsigned nbits = values_bits(c);

        advance_all(c, now_usec());
        wire_put_u8(&w, selective ? CMD_GET_VALUES_SELECTIVE : CMD_GET_VALUES);
        if (selective)
                wire_put_u32(&w, mask);
        for (unsigned bit = 0; bit < nbits; bit++)
                if (!selective || (mask & (UINT32_C(1) << bit)))
                        put_value(c, &w, bit);
        return w.error ? 0 : w.pos;
}

/* ------------------------------------------------------------ queues */

static void handle_frame(Vctl *c, const struct can_frame *f);

static void swq_push(Vctl *c, const struct can_frame *f) {
        if (c->swq_n >= SWQ_MAX) {
                c->counters.fifo_overwritten++;
                return;
        }
        c->swq[(c->swq_head + c->swq_n) % SWQ_MAX] = *f;
        c->swq_n++;
}

static void fifo_push(Vctl *c, const struct can_frame *f) {
        /* bxCAN FIFO without lock mode: once full, each new frame replaces
         * the last slot (spec §14.6). */
        if (c->fifo_n < FIFO_DEPTH)
                c->fifo[c->fifo_n++] = *f;
        else {
                c->fifo[FIFO_DEPTH - 1] = *f;
                c->counters.fifo_overwritten++;
        }
}

static void drain(Vctl *c) {
        /* After a flash operation the read thread empties the hardware FIFO
         * into the software queue; the command thread then works through it
         * until a frame starts another operation. */
        for (unsigned i = 0; i < c->fifo_n; i++)
                swq_push(c, &c->fifo[i]);
        c->fifo_n = 0;

        while (c->swq_n > 0 && c->phase == PHASE_RUNNING) {
                struct can_frame f = c->swq[c->swq_head];

                c->swq_head = (c->swq_head + 1) % SWQ_MAX;
                c->swq_n--;
                handle_frame(c, &f);
        }
}

static void on_drain(evutil_socket_t fd, short what, void *userdata) {
        drain(userdata);
}

static void schedule_drain(Vctl *c) {
        event_active(c->ev_drain, EV_TIMEOUT, 0);
}

static void clear_ram(Vctl *c) {
        c->fifo_n = 0;
        c->swq_n = 0;
        c->swq_head = 0;
        memset(c->heard, 0, sizeof c->heard);
        memset(c->last_rx_data, 0, sizeof c->last_rx_data);
        c->disable_output_msec = 0;
        c->pending_data = mfree(c->pending_data);
}

/* ------------------------------------------------------------ boot */

static void start_op(Vctl *c, Op op, uint64_t usec) {
        c->op = op;
        evtimer_del(c->ev_op);
        arm(c->ev_op, usec);
}

static void stop_timers(Vctl *c) {
        evtimer_del(c->ev_op);
        evtimer_del(c->ev_status[0]);
        evtimer_del(c->ev_status[1]);
        evtimer_del(c->ev_notify);
        c->op = OP_NONE;
}

/* A start: the firmware's motor state is new, the physical world (battery,
 * temperatures, a load, a held wheel, the DRV pin) stays as it was. */
static void reset_motors(Vctl *c) {
        uint64_t now = now_usec();

        for (unsigned m = 0; m < 2; m++) {
                Physics *p = &c->motor[m], old;

                physics_advance(p, now);
                old = *p;
                physics_init(p, now);
                p->v_batt = old.v_batt;
                p->v_in = old.v_batt;
                p->r_batt = old.r_batt;
                p->ambient = old.ambient;
                p->temp_fet = old.temp_fet;
                p->temp_motor = old.temp_motor;
                p->load = old.load;
                p->drv_pin = old.drv_pin;
                p->hold_erpm = old.hold_erpm;
                p->held_erpm = old.held_erpm;
        }
        select_motor(c, 0);
}

/* Reset into the application now in flash; starts = resets before CAN comes up
 * (2 after an install: the CRC-stamping start is invisible). */
static void power_on(Vctl *c, unsigned starts) {
        stop_timers(c);
        clear_ram(c);
        c->app = mfree(c->app);
        c->op_power_cycle = false;
        c->boot_starts_left = starts;
        reset_motors(c);
        sim_rx_init(&c->rx, c->major, c->minor);
        enter_phase(c, PHASE_BOOTING);
        start_op(c, OP_BOOT_DONE, scaled(c, BOOT_USEC));
}

static void on_notify(evutil_socket_t fd, short what, void *userdata) {
        Vctl *c = userdata;
        struct can_frame f = {};
        size_t n = MIN(strlen(c->hw_name), 8);

        if (!threads_running(c))
                return;
        f.can_id = vesc_can_id(CAN_PACKET_NOTIFY_BOOT, c->id);
        f.can_dlc = (uint8_t) n;
        memcpy(f.data, c->hw_name, n);
        send_frame(c, &f);
}

static void boot_complete(Vctl *c) {
        c->counters.boots++;
        enter_phase(c, PHASE_RUNNING);
        apply_mcconf(c);
        apply_appconf(c, /* came_up= */ true);
        /* 6.x: one NOTIFY_BOOT about 0.5 s after a complete start (spec §6.3). */
        if (c->major >= 6 && !c->spec.ping_fw_only)
                arm(c->ev_notify, scaled(c, NOTIFY_BOOT_USEC));
        logv(c, "up");
}

static void brick(Vctl *c) {
        stop_timers(c);
        clear_ram(c);
        c->app = mfree(c->app);
        enter_phase(c, PHASE_BRICKED);
        logv(c, "bricked");
}

/* ------------------------------------------------------------ flash ops */

static void reply_flash(Vctl *c, uint8_t cmd, bool ok, bool echo, uint32_t offset) {
        uint8_t buf[6] = { cmd, ok ? 1 : 0 };
        size_t n = 2;

        if (echo) {
                be32_put(buf + 2, offset);
                n = 6;
        }
        send_reply(c, buf, n);
}

static uint64_t op_duration(Vctl *c, VctlPowerCycleAt kind, uint64_t usec) {
        /* An armed power cycle strikes halfway through the phase. */
        if (c->pc_at == kind) {
                c->pc_at = VCTL_PC_NONE;
                c->op_power_cycle = true;
                return MAX(usec / 2, 1);
        }
        return usec;
}

static void begin_erase(Vctl *c) {
        unsigned sectors;

        c->counters.erases++;
        sectors = sim_flash_erase_new_app(c->flash, c->pending_size);
        enter_phase(c, PHASE_ERASING);
        start_op(c, OP_ERASE_DONE, op_duration(c, VCTL_PC_ERASE, scaled(c, sim_flash_erase_new_app_usec(sectors))));
}

static void begin_write(Vctl *c) {
        int r;

        c->counters.writes++;
        r = sim_flash_write(c->flash, c->pending_offset, c->pending_data, c->pending_len);
        c->pending_data = mfree(c->pending_data);
        if (r < 0) {
                /* Out of range: refused before the kernel is locked. */
                if (c->pending_want_reply)
                        reply_flash(c, CMD_WRITE_NEW_APP_DATA, false, fw_code(c) >= 500, c->pending_offset);
                enter_phase(c, PHASE_RUNNING);
                schedule_drain(c);
                return;
        }
        enter_phase(c, PHASE_WRITING);
        start_op(c, OP_WRITE_DONE, op_duration(c, VCTL_PC_WRITE, scaled(c, sim_flash_program_usec(c->pending_len))));
}

static void begin_erase_bootloader(Vctl *c) {
        c->counters.erases++;
        sim_flash_erase_bootloader(c->flash);
        enter_phase(c, PHASE_ERASING_BL);
        start_op(c, OP_ERASE_BL_DONE, op_duration(c, VCTL_PC_ERASE, scaled(c, SIM_FLASH_ERASE_128K_USEC)));
}

static void begin_pending_flash_op(Vctl *c) {
        switch (c->pending_cmd) {
        case CMD_ERASE_NEW_APP:
                begin_erase(c);
                break;
        case CMD_ERASE_BOOTLOADER:
                begin_erase_bootloader(c);
                break;
        default:
                begin_write(c);
                break;
        }
}

static void motor_wait_then(Vctl *c, uint8_t cmd) {
        uint64_t now = now_usec();

        c->pending_cmd = cmd;
        release_all(c, now);
        /* 5.03+ wait up to 3 s for the motor to stop before touching flash
         * (ERASE_NEW_APP, WRITE_NEW_APP_DATA and ERASE_BOOTLOADER alike:
         * flash_helper.c); older firmware goes straight ahead (spec §14.3). */
        if (fw_code(c) < 503 || all_stopped(c)) {
                begin_pending_flash_op(c);
                return;
        }
        c->op_deadline = now + scaled(c, ERASE_MOTOR_WAIT_USEC);
        enter_phase(c, PHASE_BUSY);
        start_op(c, OP_MOTOR_WAIT, MOTOR_POLL_USEC);
}

static void op_motor_wait(Vctl *c) {
        uint64_t now = now_usec();

        advance_all(c, now);
        if (all_stopped(c)) {
                begin_pending_flash_op(c);
                return;
        }
        if (now < c->op_deadline) {
                start_op(c, OP_MOTOR_WAIT, MOTOR_POLL_USEC);
                return;
        }
        /* Motor still turning: refuse with ok = 0. */
        logv(c, "motor did not stop, refusing flash operation");
        c->pending_data = mfree(c->pending_data);
        enter_phase(c, PHASE_RUNNING);
        if (c->pending_want_reply)
                reply_flash(c, c->pending_cmd, false,
                            c->pending_cmd == CMD_WRITE_NEW_APP_DATA && fw_code(c) >= 500, c->pending_offset);
        schedule_drain(c);
}

/* ------------------------------------------------------------ jump */

static const SimImageMapEntry *map_lookup(const Vctl *c, const uint8_t sha[32]) {
        for (size_t i = 0; i < c->env->n_image_map; i++)
                if (c->env->image_map[i].bl_size == 0 && memcmp(c->env->image_map[i].sha256, sha, 32) == 0)
                        return &c->env->image_map[i];
        return NULL;
}

static unsigned known_bootloader(const uint8_t *sector11, void *userdata) {
        const Vctl *c = userdata;

        /* Sector 11 holds exactly a bootloader of an image set: intact, however
         * it was written (skipped all-0xFF chunks leave the same bytes). */
        for (size_t i = 0; i < c->env->n_image_map; i++) {
                const SimImageMapEntry *e = &c->env->image_map[i];
                uint8_t sha[32];

                if (e->bl_size == 0)
                        continue;
                crypto_hash_sha256(sha, sector11, e->bl_size);
                if (memcmp(sha, e->sha256, 32) == 0)
                        return e->bl_generation;
        }
        return 0;
}

static unsigned bootloader_generation(Vctl *c) {
        return sim_flash_bootloader_generation(c->flash, known_bootloader, c);
}

static void adopt_image(Vctl *c, const uint8_t *img, size_t n) {
        VescFwDescriptor d;
        uint8_t sha[32];
        const SimImageMapEntry *e;

        if (vesc_fw_descriptor_parse(img, n, &d) == 0) {
                c->major = d.major;
                c->minor = d.minor;
                c->test_build = d.test_build;
                c->hw_type = d.hw_type;
                if (d.hw_name[0])
                        snprintf(c->hw_name, sizeof c->hw_name, "%s", d.hw_name);
                snprintf(c->fw_name, sizeof c->fw_name, "%s", d.fw_name);
                logv(c, "installed image with descriptor: %u.%02u", d.major, d.minor);
                return;
        }
        crypto_hash_sha256(sha, img, n);
        e = map_lookup(c, sha);
        if (e) {
                c->major = e->major;
                c->minor = e->minor;
                c->test_build = 0;
                c->fw_name[0] = 0;
                logv(c, "installed image known by SHA-256: %u.%02u", e->major, e->minor);
                return;
        }
        logv(c, "installed an unknown image: keeping version %u.%02u", c->major, c->minor);
}

static void op_install_done(Vctl *c) {
        const char *reason;

        if (c->op_power_cycle || c->install_watchdog || c->plan.image_len < 0) {
                /* Power lost / watchdog / decoder overran the application area
                 * while the application was half erased or written. */
                brick(c);
                return;
        }
        if (vesc_image_check_vectors(c->app, (size_t) c->plan.image_len, &reason) < 0) {
                logv(c, "installed image does not start: %s", reason);
                brick(c);
                return;
        }
        adopt_image(c, c->app, (size_t) c->plan.image_len);
        c->app = mfree(c->app);
        /* Sectors 1-2 were erased: configuration defaults, and the CAN id
         * becomes the UUID default of the new version (spec §14.8). */
        reset_config(c, vesc_default_id_from_uuid(c->spec.uuid, c->major, c->minor));
        c->id = c->appconf[4];
        power_on(c, 2);
}

static void op_bl_check(Vctl *c) {
        uint64_t total;
        int r;

        if (!c->app) {
                c->app = malloc(SIM_FLASH_APP_AREA);
                if (!c->app) {
                        power_on(c, 1);
                        return;
                }
        }
        r = sim_flash_boot(c->flash, c->bl_gen, c->app, &c->plan);
        if (r < 0 || c->plan.result != SIM_BOOT_OK) {
                /* Refused: blink the code, reset into the old application. */
                unsigned blinks = c->plan.result == SIM_BOOT_TOO_LARGE ? 3 : c->plan.result == SIM_BOOT_SIZE_ZERO ? 4 : 5;

                logv(c, "bootloader refuses the image (%d)", (int) c->plan.result);
                c->app = mfree(c->app);
                start_op(c, OP_BL_REFUSED, scaled(c, blinks * BL_BLINK_USEC));
                return;
        }
        enter_phase(c, PHASE_INSTALLING);
        total = c->plan.erase_usec + c->plan.copy_usec;
        c->install_watchdog = total > IWDG_USEC;
        if (c->install_watchdog)
                total = IWDG_USEC;
        start_op(c, OP_INSTALL_DONE, op_duration(c, VCTL_PC_BOOTLOADER, scaled(c, total)));
}

static void jump(Vctl *c) {
        if (c->miss_jump) {
                c->miss_jump = false;
                logv(c, "missing a JUMP on purpose");
                return;
        }
        stop_timers(c);
        release_all(c, now_usec());
        clear_ram(c);
        c->bl_gen = bootloader_generation(c);
        enter_phase(c, c->bl_gen ? PHASE_BL_CHECK : PHASE_WATCHDOG);
        if (c->bl_gen == 0) {
                /* Jump into erased or partial sector 11: the application has
                 * crashed; the independent watchdog resets the MCU. */
                logv(c, "jump into a broken bootloader");
                start_op(c, OP_WATCHDOG, scaled(c, IWDG_USEC));
                return;
        }
        start_op(c, OP_BL_CHECK, scaled(c, BL_CHECK_USEC));
}

static void on_op(evutil_socket_t fd, short what, void *userdata) {
        Vctl *c = userdata;
        Op op = c->op;
        bool pc = c->op_power_cycle;

        c->op = OP_NONE;
        switch (op) {
        case OP_CONF_ACK:
                enter_phase(c, PHASE_RUNNING);
                if (c->pending_want_reply)
                        send_reply(c, c->pending_reply, c->pending_reply_len);
                schedule_drain(c);
                break;
        case OP_MOTOR_WAIT:
                op_motor_wait(c);
                break;
        case OP_ERASE_DONE:
        case OP_WRITE_DONE:
        case OP_ERASE_BL_DONE:
                if (pc) {
                        power_on(c, 1);
                        break;
                }
                enter_phase(c, PHASE_RUNNING);
                if (c->pending_want_reply) {
                        if (op == OP_ERASE_DONE)
                                reply_flash(c, CMD_ERASE_NEW_APP, true, false, 0);
                        else if (op == OP_ERASE_BL_DONE)
                                reply_flash(c, CMD_ERASE_BOOTLOADER, true, false, 0);
                        else
                                reply_flash(c, CMD_WRITE_NEW_APP_DATA, true, fw_code(c) >= 500, c->pending_offset);
                }
                schedule_drain(c);
                break;
        case OP_BL_CHECK:
                op_bl_check(c);
                break;
        case OP_BL_REFUSED:
        case OP_WATCHDOG:
                power_on(c, 1);
                break;
        case OP_INSTALL_DONE:
                op_install_done(c);
                break;
        case OP_BOOT_DONE:
                if (c->boot_starts_left > 1) {
                        c->boot_starts_left--;
                        start_op(c, OP_BOOT_DONE, scaled(c, BOOT_USEC));
                        break;
                }
                boot_complete(c);
                schedule_drain(c);
                break;
        case OP_NONE:
                break;
        }
}

/* ------------------------------------------------------------ commands */

static void heard_status(Vctl *c, uint8_t id, uint64_t now) {
        unsigned oldest = 0;

        for (unsigned i = 0; i < HEARD_MAX; i++) {
                if (c->heard[i].at && c->heard[i].id == id) {
                        c->heard[i].at = now;
                        return;
                }
                if (c->heard[i].at < c->heard[oldest].at)
                        oldest = i;
        }
        c->heard[oldest] = (Heard) { .id = id, .at = now };
}

static void cmd_set_conf(Vctl *c, uint8_t cmd, const uint8_t *p, size_t n, bool want_reply) {
        bool app = cmd != CMD_SET_MCCONF;
        const SimFwInfo *fi = sim_fw_info(c->major, c->minor);
        uint32_t want = app ? fi->app_signature : fi->mc_signature;
        uint8_t *dst = app ? c->appconf : c->mcconf;
        size_t size = app ? c->appconf_len : c->mcconf_len;

        if (n < 4 || be32_get(p) != want) {
                if (want_reply)
                        send_print(c, app ? "Warning: Could not set appconf due to wrong signature"
                                          : "Warning: Could not set mcconf due to wrong signature");
                return;
        }
        /* The deserializer reads the whole layout; a short blob leaves the
         * old values in the tail. */
        memcpy(dst, p, MIN(n, size));
        /* Through the second motor's id the primary id is kept. */
        if (app && c->sel && size > 4)
                dst[4] = c->id;
        if (app)
                apply_appconf(c, /* came_up= */ false);
        else
                apply_mcconf(c);

        c->pending_reply[0] = cmd;
        c->pending_reply_len = 1;
        c->pending_want_reply = want_reply;
        if (cmd == CMD_SET_APPCONF_NO_STORE) {
                if (want_reply)
                        send_reply(c, c->pending_reply, 1);
                return;
        }
        /* The command thread sleeps ~200 ms before acking. */
        enter_phase(c, PHASE_BUSY);
        start_op(c, OP_CONF_ACK, scaled(c, CONF_ACK_USEC));
}

static void cmd_mcconf_temp(Vctl *c, uint8_t cmd, const uint8_t *p, size_t n, bool want_reply) {
        WireReader r = WIRE_READER(p, n);
        bool store, forward, ack, divide;
        float v[10];
        unsigned nv = 8, fresh = 0;
        uint64_t now = now_usec();
        PhysLimits *l = &c->ph->lim;

        (void) wire_u8(&r);
        store = wire_u8(&r);
        forward = wire_u8(&r);
        ack = wire_u8(&r);
        divide = wire_u8(&r);
        for (unsigned i = 0; i < 8; i++)
                v[i] = wire_f32a(&r);
        if (r.error)
                return;
        /* The input-current pair is optional, read by 5.00+ only. */
        if (fw_code(c) >= 500 && wire_remaining(&r) >= 8) {
                v[8] = wire_f32a(&r);
                v[9] = wire_f32a(&r);
                nv = 10;
        }
        (void) store;

        if (cmd == CMD_SET_MCCONF_TEMP_SETUP) {
                /* m/s -> ERPM with this controller's setup: 14 poles, gear 1,
                 * 83 mm wheel. */
                double factor = (14 / 2.0) * 60.0 * 1.0 / (M_PI * 0.083);
                v[2] = (float) (v[2] * factor);
                v[3] = (float) (v[3] * factor);
        }

        for (unsigned i = 0; i < HEARD_MAX; i++)
                if (c->heard[i].at && now - c->heard[i].at < STATUS_FRESH_USEC)
                        fresh++;
        if (divide) {
                v[6] /= (float) (1 + fresh);
                v[7] /= (float) (1 + fresh);
        }

        physics_advance(c->ph, now);
        l->current_min_scale = CLAMP(v[0], 0.0, 1.0);
        l->current_max_scale = CLAMP(v[1], 0.0, 1.0);
        l->erpm_min = v[2];
        l->erpm_max = v[3];
        l->duty_min = v[4];
        l->duty_max = v[5];
        l->watt_min = v[6];
        l->watt_max = v[7];
        if (nv == 10) {
                l->in_current_min = v[8];
                l->in_current_max = v[9];
        }

        if (forward) {
                uint8_t fw[1 + 4 + 40];
                WireWriter w = WIRE_WRITER(fw, sizeof fw);
                /* Forwarded copies: type 48, flags cleared; mode 0 up to
                 * 5.03, mode 2 from 6.00 (spec §12.4). */
                uint8_t mode = c->major >= 6 ? 2 : 0;

                wire_put_u8(&w, CMD_SET_MCCONF_TEMP);
                wire_put_u8(&w, store);
                wire_put_u8(&w, 0);
                wire_put_u8(&w, 0);
                wire_put_u8(&w, 0);
                for (unsigned i = 0; i < nv; i++)
                        wire_put_f32a(&w, v[i]);
                for (unsigned i = 0; i < HEARD_MAX; i++)
                        if (c->heard[i].at && now - c->heard[i].at < STATUS_FRESH_USEC)
                                send_buffer(c, c->heard[i].id, mode, fw, w.pos);
        }
        if (ack && want_reply) {
                uint8_t b = cmd;
                send_reply(c, &b, 1);
        }
}

static void cmd_get_mcconf_temp(Vctl *c) {
        uint8_t buf[64];
        WireWriter w = WIRE_WRITER(buf, sizeof buf);
        const PhysLimits *l = &c->ph->lim;

        wire_put_u8(&w, CMD_GET_MCCONF_TEMP);
        wire_put_f32a(&w, (float) l->current_min_scale);
        wire_put_f32a(&w, (float) l->current_max_scale);
        wire_put_f32a(&w, (float) l->erpm_min);
        wire_put_f32a(&w, (float) l->erpm_max);
        wire_put_f32a(&w, (float) l->duty_min);
        wire_put_f32a(&w, (float) l->duty_max);
        wire_put_f32a(&w, (float) l->watt_min);
        wire_put_f32a(&w, (float) l->watt_max);
        wire_put_f32a(&w, (float) l->in_current_min);
        wire_put_f32a(&w, (float) l->in_current_max);
        wire_put_u8(&w, 14);
        wire_put_f32a(&w, 1.0f);
        wire_put_f32a(&w, 0.083f);
        send_reply(c, buf, w.pos);
}

static int32_t get_i32(const uint8_t *p, size_t n) {
        /* Short payloads: the firmware reads whatever follows; zeros here. */
        uint8_t b[4] = {};
        memcpy(b, p, MIN(n, 4));
        return (int32_t) be32_get(b);
}

static void process_command(Vctl *c, const uint8_t *p, size_t n, uint8_t mode) {
        uint8_t buf[SIM_CONF_MAX + 1];
        bool want_reply;
        size_t len;
        uint64_t now = now_usec();
        unsigned v = fw_code(c);

        /* mode 1 is a reply for a host interface; mode 3 is unknown before 6.05 */
        if (mode == 1 || mode > 3 || (mode == 3 && v < 605))
                return;
        want_reply = mode == 0 || mode == 3;
        if (n == 0)
                return;
        if (c->spec.ping_fw_only && p[0] != CMD_FW_VERSION)
                return;
        c->counters.commands++;

        switch (p[0]) {
        case CMD_FW_VERSION:
                len = encode_fw_version(c, buf, sizeof buf);
                if (want_reply && len)
                        send_reply(c, buf, len);
                break;

        case CMD_JUMP_TO_BOOTLOADER:
                jump(c);
                break;

        case CMD_ERASE_NEW_APP:
                c->pending_size = (uint32_t) get_i32(p + 1, n - 1);
                c->pending_want_reply = want_reply;
                motor_wait_then(c, CMD_ERASE_NEW_APP);
                break;

        case CMD_WRITE_NEW_APP_DATA:
                if (n < 5)
                        break;
                c->pending_offset = (uint32_t) get_i32(p + 1, n - 1);
                c->pending_want_reply = want_reply;
                free(c->pending_data);
                c->pending_len = n - 5;
                c->pending_data = malloc(MAX(c->pending_len, 1));
                if (!c->pending_data)
                        break;
                memcpy(c->pending_data, p + 5, c->pending_len);
                motor_wait_then(c, CMD_WRITE_NEW_APP_DATA);
                break;

        case CMD_ERASE_BOOTLOADER:
                if (v < 359)
                        break; /* unknown to 3.58 and older: ignored */
                c->pending_want_reply = want_reply;
                motor_wait_then(c, CMD_ERASE_BOOTLOADER);
                break;

        case CMD_GET_VALUES:
        case CMD_GET_VALUES_SELECTIVE:
                len = encode_values(c, p[0] == CMD_GET_VALUES_SELECTIVE, (uint32_t) get_i32(p + 1, n - 1),
                                    buf, sizeof buf);
                if (want_reply && len) {
                        send_reply(c, buf, len);
                        c->counters.values_replies++;
                }
                break;

        case CMD_SET_DUTY:
                physics_command(c->ph, PHYS_DUTY, get_i32(p + 1, n - 1) / 1e5, now);
                break;
        case CMD_SET_CURRENT:
                physics_command(c->ph, PHYS_CURRENT, get_i32(p + 1, n - 1) / 1e3, now);
                break;
        case CMD_SET_CURRENT_BRAKE:
                physics_command(c->ph, PHYS_BRAKE, get_i32(p + 1, n - 1) / 1e3, now);
                break;
        case CMD_SET_RPM:
                physics_command(c->ph, PHYS_RPM, get_i32(p + 1, n - 1), now);
                break;
        case CMD_SET_POS:
                physics_alive(c->ph, now);
                break;
        case CMD_SET_HANDBRAKE:
                physics_command(c->ph, PHYS_HANDBRAKE, get_i32(p + 1, n - 1) / 1e3, now);
                break;
        case CMD_SET_CURRENT_REL:
                if (v >= 364) {
                        double rel = get_i32(p + 1, n - 1) / 1e5;
                        physics_command(c->ph, PHYS_CURRENT,
                                        rel * (rel >= 0 ? c->ph->lim.current_max : -c->ph->lim.current_min), now);
                }
                break;

        case CMD_SET_MCCONF:
        case CMD_SET_APPCONF:
                if (c->lose_conf[p[0] != CMD_SET_MCCONF]) {
                        c->counters.lost_conf++;
                        break;
                }
                cmd_set_conf(c, p[0], p + 1, n - 1, want_reply);
                break;
        case CMD_SET_APPCONF_NO_STORE:
                if (c->lose_conf[1]) {
                        c->counters.lost_conf++;
                        break;
                }
                if (v >= 600)
                        cmd_set_conf(c, p[0], p + 1, n - 1, want_reply);
                break;

        case CMD_GET_MCCONF:
        case CMD_GET_APPCONF:
        case CMD_GET_MCCONF_DEFAULT:
        case CMD_GET_APPCONF_DEFAULT: {
                bool app = p[0] == CMD_GET_APPCONF || p[0] == CMD_GET_APPCONF_DEFAULT;
                uint8_t tmp[SIM_CONF_MAX];
                const uint8_t *src;

                if (p[0] == CMD_GET_APPCONF_DEFAULT) {
                        len = sim_fw_default_appconf(c->major, c->minor,
                                                     vesc_default_id_from_uuid(c->spec.uuid, c->major, c->minor), tmp);
                        src = tmp;
                } else if (p[0] == CMD_GET_MCCONF_DEFAULT) {
                        len = default_mcconf(c, tmp);
                        src = tmp;
                } else {
                        src = app ? c->appconf : c->mcconf;
                        len = app ? c->appconf_len : c->mcconf_len;
                }
                /* Through the second motor's id APPCONF shows that id. */
                if (app && c->sel && len > 4) {
                        if (src != tmp)
                                memcpy(tmp, src, len);
                        tmp[4] = second_id(c);
                        src = tmp;
                }
                buf[0] = p[0];
                memcpy(buf + 1, src, len);
                if (want_reply)
                        send_reply(c, buf, len + 1);
                break;
        }

        case CMD_REBOOT:
                power_on(c, 1);
                break;

        case CMD_ALIVE:
                physics_alive(c->ph, now);
                break;

        case CMD_SET_MCCONF_TEMP:
        case CMD_SET_MCCONF_TEMP_SETUP:
                cmd_mcconf_temp(c, p[0], p, n, want_reply);
                break;

        case CMD_GET_MCCONF_TEMP:
                if (v >= 502 && want_reply)
                        cmd_get_mcconf_temp(c);
                break;

        case CMD_APP_DISABLE_OUTPUT:
                if (n >= 6) {
                        c->disable_output_msec = get_i32(p + 2, n - 2);
                        if (p[1]) {
                                uint8_t fw[6] = { CMD_APP_DISABLE_OUTPUT, 0 };
                                memcpy(fw + 2, p + 2, 4);
                                send_buffer(c, VESC_ID_BROADCAST, c->major >= 6 ? 2 : 0, fw, sizeof fw);
                        }
                }
                break;

        default:
                /* Unknown or not modelled: ignored, as firmware ignores
                 * commands it does not have. */
                break;
        }
}

static double stale_f32(const Vctl *c, unsigned off, double scale) {
        return (int32_t) be32_get(c->last_rx_data + off) / scale;
}

/* CONF_(STORE_)CURRENT_LIMITS(_IN): min and max (mA) from the frame; a
 * store also writes them to the mcconf at byte offsets @min_at/@max_at. */
static void set_current_limits(Vctl *c, double *min, double *max, bool store, size_t min_at, size_t max_at) {
        *min = stale_f32(c, 0, 1e3);
        *max = stale_f32(c, 4, 1e3);
        if (store && c->mcconf_len >= 24) {
                be32_put(c->mcconf + min_at, f32a_to_bits((float) *min));
                be32_put(c->mcconf + max_at, f32a_to_bits((float) *max));
        }
}

static void handle_addressed(Vctl *c, const struct can_frame *f, uint8_t type, uint8_t addr, uint8_t dlc);

static void handle_frame(Vctl *c, const struct can_frame *f) {
        uint32_t eid;
        uint8_t type, addr, dlc;
        uint64_t now = now_usec();

        if (!(f->can_id & CAN_EFF_FLAG) || (f->can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG)))
                return;
        eid = f->can_id & CAN_EFF_MASK;
        if (eid >> 16)
                return; /* the type field would be unknown to the firmware */
        type = (uint8_t) (eid >> 8);
        addr = (uint8_t) eid;
        dlc = MIN(f->can_dlc, 8);
        /* One receive structure reused for every frame: bytes past this
         * frame's DLC are whatever the previous frames left there. */
        memcpy(c->last_rx_data, f->data, dlc);

        if (type == CAN_PACKET_STATUS) {
                heard_status(c, addr, now);
                return;
        }
        if (addr != c->id && addr != VESC_ID_BROADCAST && !(n_motors(c) > 1 && addr == second_id(c)))
                return;

        /* Frames to the second motor's id run with motor 2 selected;
         * the primary id and broadcasts with motor 1 (comm_can.c). */
        select_motor(c, n_motors(c) > 1 && addr == second_id(c) && addr != c->id ? 1 : 0);
        handle_addressed(c, f, type, addr, dlc);
        select_motor(c, 0);
}

static void handle_addressed(Vctl *c, const struct can_frame *f, uint8_t type, uint8_t addr, uint8_t dlc) {
        uint64_t now = now_usec();
        SimRxMessage m;

        /* A device that implements only PING and FW_VERSION (the VESC
         * Express and BMS presets) ignores every other frame type. */
        if (c->spec.ping_fw_only && type != CAN_PACKET_PING && type != CAN_PACKET_FILL_RX_BUFFER &&
            type != CAN_PACKET_FILL_RX_BUFFER_LONG && type != CAN_PACKET_PROCESS_RX_BUFFER &&
            type != CAN_PACKET_PROCESS_SHORT_BUFFER)
                return;

        switch (type) {
        case CAN_PACKET_SET_DUTY:
                physics_command(c->ph, PHYS_DUTY, stale_f32(c, 0, 1e5), now);
                break;
        case CAN_PACKET_SET_CURRENT:
                /* 6.00+ read a 6-byte frame as off-delay first (spec §4.1). */
                if (c->major >= 6 && dlc == 6)
                        physics_command(c->ph, PHYS_CURRENT, stale_f32(c, 2, 1e3), now);
                else
                        physics_command(c->ph, PHYS_CURRENT, stale_f32(c, 0, 1e3), now);
                break;
        case CAN_PACKET_SET_CURRENT_BRAKE:
                physics_command(c->ph, PHYS_BRAKE, stale_f32(c, 0, 1e3), now);
                break;
        case CAN_PACKET_SET_RPM:
                physics_command(c->ph, PHYS_RPM, stale_f32(c, 0, 1), now);
                break;
        case CAN_PACKET_SET_POS:
                physics_alive(c->ph, now);
                break;
        case CAN_PACKET_SET_CURRENT_REL: {
                double rel = stale_f32(c, 0, 1e5);
                physics_command(c->ph, PHYS_CURRENT,
                                rel * (rel >= 0 ? c->ph->lim.current_max : -c->ph->lim.current_min), now);
                break;
        }
        case CAN_PACKET_SET_CURRENT_BRAKE_REL:
                physics_command(c->ph, PHYS_BRAKE, stale_f32(c, 0, 1e5) * -c->ph->lim.current_min, now);
                break;
        case CAN_PACKET_SET_CURRENT_HANDBRAKE:
                physics_command(c->ph, PHYS_HANDBRAKE, stale_f32(c, 0, 1e3), now);
                break;
        case CAN_PACKET_SET_CURRENT_HANDBRAKE_REL:
                physics_command(c->ph, PHYS_HANDBRAKE, stale_f32(c, 0, 1e5) * -c->ph->lim.current_min, now);
                break;

        case CAN_PACKET_FILL_RX_BUFFER:
        case CAN_PACKET_FILL_RX_BUFFER_LONG:
        case CAN_PACKET_PROCESS_RX_BUFFER:
        case CAN_PACKET_PROCESS_SHORT_BUFFER: {
                uint64_t crc_before = c->rx.stats.crc_drops;

                if (sim_rx_feed(&c->rx, type, f->data, dlc, &m) > 0) {
                        uint8_t copy[SIM_RX_ALLOC];
                        /* Copy: processing may send frames that loop back. */
                        memcpy(copy, m.payload, m.len);
                        process_command(c, copy, m.len, m.mode);
                }
                c->counters.crc_drops += c->rx.stats.crc_drops - crc_before;
                break;
        }

        case CAN_PACKET_PING: {
                struct can_frame r = {};
                unsigned v = fw_code(c);

                /* Reply address from byte 0 even when the DLC is 0 (stale byte). */
                r.can_id = vesc_can_id(CAN_PACKET_PONG, c->last_rx_data[0]);
                if (v < 502) {
                        r.can_dlc = 1;
                        r.data[0] = c->id;
                } else {
                        r.can_dlc = 2;
                        r.data[0] = v >= 503 ? addr : c->id;
                        r.data[1] = c->hw_type;
                }
                send_frame(c, &r);
                break;
        }

        case CAN_PACKET_CONF_CURRENT_LIMITS:
        case CAN_PACKET_CONF_STORE_CURRENT_LIMITS:
                set_current_limits(c, &c->ph->lim.current_min, &c->ph->lim.current_max,
                                   type == CAN_PACKET_CONF_STORE_CURRENT_LIMITS, 12, 8);
                break;
        case CAN_PACKET_CONF_CURRENT_LIMITS_IN:
        case CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN:
                set_current_limits(c, &c->ph->lim.in_current_min, &c->ph->lim.in_current_max,
                                   type == CAN_PACKET_CONF_STORE_CURRENT_LIMITS_IN, 20, 16);
                break;

        default:
                break;
        }
}

static void on_frame(void *userdata, const struct can_frame *in) {
        Vctl *c = userdata;
        struct can_frame f = *in;

        if (f.can_id & CAN_ERR_FLAG)
                return;
        if (c->drop > 0 && rng_unit(c) < c->drop) {
                c->counters.injected_drops++;
                return;
        }
        if (c->corrupt > 0 && rng_unit(c) < c->corrupt) {
                /* One flipped bit in the data (the CAN CRC of a real bus would
                 * catch it; the point is what the firmware's checks do). */
                if (f.can_dlc > 0) {
                        unsigned bit = (unsigned) (rng_next(c) % (MIN(f.can_dlc, 8) * 8u));
                        f.data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                } else
                        f.can_id ^= 1u << (rng_next(c) % 8);
                c->counters.injected_corruptions++;
        }
        c->counters.rx_frames++;

        switch (c->phase) {
        case PHASE_RUNNING:
                if (c->swq_n > 0)
                        swq_push(c, &f);
                else
                        handle_frame(c, &f);
                break;
        case PHASE_BUSY:
                swq_push(c, &f);
                break;
        case PHASE_ERASING:
        case PHASE_WRITING:
        case PHASE_ERASING_BL:
                fifo_push(c, &f);
                break;
        default:
                c->counters.unheard++;
                break;
        }
}

/* ------------------------------------------------------------ ride */

static void on_ride(evutil_socket_t fd, short what, void *userdata) {
        Vctl *c = userdata;
        uint64_t now = now_usec();

        if (c->ride_i >= c->ride_n)
                return;
        if (c->ride[c->ride_i].seconds >= 0 && now >= c->ride_step_end) {
                c->ride_i++;
                if (c->ride_i >= c->ride_n) {
                        physics_release(&c->motor[c->ride_motor], now);
                        return;
                }
                c->ride_step_end = now + (uint64_t) (c->ride[c->ride_i].seconds * 1e6);
        }
        if (threads_running(c)) {
                const RideStep *s = &c->ride[c->ride_i];
                physics_command(&c->motor[c->ride_motor], s->mode, s->value, now);
        }
        arm(c->ev_ride, RIDE_TICK_USEC);
}

static int ride_start(Vctl *c, unsigned motor) {
        evtimer_del(c->ev_ride);
        if (c->ride_n > 0 && c->ride_motor != motor)
                physics_release(&c->motor[c->ride_motor], now_usec());
        c->ride_motor = motor;
        c->ride_i = 0;
        if (c->ride_n == 0)
                return 0;
        c->ride_step_end = now_usec() + (uint64_t) (MAX(c->ride[0].seconds, 0) * 1e6);
        on_ride(-1, 0, c);
        return 0;
}

static int parse_mode(const char *s, PhysMode *ret) {
        static const struct { const char *name; PhysMode mode; } t[] = {
                { "current", PHYS_CURRENT }, { "brake", PHYS_BRAKE }, { "rpm", PHYS_RPM },
                { "duty", PHYS_DUTY }, { "release", PHYS_RELEASED }, { "handbrake", PHYS_HANDBRAKE },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (strcmp(s, t[i].name) == 0) {
                        *ret = t[i].mode;
                        return 0;
                }
        return -EINVAL;
}

/**
 * vctl_ride() - run a scripted ride
 * @c: controller
 * @motor: 0, or 1 for the second motor of a dual-motor board
 * @script: steps "MODE VALUE SECONDS" separated by ';' (MODE current, brake,
 *          rpm, duty, handbrake or release)
 *
 * The ride re-sends its command at 20 Hz, so the command timeout does not
 * release the motor; after the last step the motor is released.
 * Returns 0 or -EINVAL (the previous ride then continues).
 */
int vctl_ride(Vctl *c, unsigned motor, const char *script) {
        RideStep steps[RIDE_MAX];
        unsigned n = 0;
        const char *s = script;

        while (*s) {
                char mode[16];
                double value, secs;
                int used = 0;

                while (*s == ' ' || *s == ';')
                        s++;
                if (!*s)
                        break;
                if (n >= RIDE_MAX || sscanf(s, "%15s %lf %lf%n", mode, &value, &secs, &used) != 3 || secs < 0)
                        return -EINVAL;
                if (parse_mode(mode, &steps[n].mode) < 0)
                        return -EINVAL;
                steps[n].value = value;
                steps[n].seconds = secs;
                n++;
                s += used;
                while (*s == ' ')
                        s++;
                if (*s && *s != ';')
                        return -EINVAL;
        }
        if (motor >= n_motors(c))
                return -EINVAL;
        memcpy(c->ride, steps, sizeof steps[0] * n);
        c->ride_n = n;
        return ride_start(c, motor);
}

/**
 * vctl_set_value() - force a physical quantity
 * @c: controller
 * @motor: 0, or 1 for the second motor of a dual-motor board
 * @what: "erpm" (held, "free" releases the hold), "current" (held as a ride
 *        step until set to 0), "v_in" (battery voltage, the whole board),
 *        "temp_fet", "temp_motor" (°C, then following the thermal model),
 *        "load" (A of unregulated phase current while the bridge switches,
 *        held until 0), "drv" ("on"/"off": the gate driver's fault pin)
 * @value: number, "free" for erpm, "on"/"off" for drv
 *
 * Returns 0 or -EINVAL.
 */
int vctl_set_value(Vctl *c, unsigned motor, const char *what, const char *value) {
        char *end;
        double x;
        uint64_t now = now_usec();
        Physics *p;

        if (motor >= n_motors(c))
                return -EINVAL;
        p = &c->motor[motor];
        advance_all(c, now);
        if (strcmp(what, "erpm") == 0 && strcmp(value, "free") == 0) {
                p->hold_erpm = false;
                return 0;
        }
        if (strcmp(what, "drv") == 0) {
                if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
                        return -EINVAL;
                p->drv_pin = value[1] == 'n';
                return 0;
        }
        x = strtod(value, &end);
        if (end == value || *end || !isfinite(x))
                return -EINVAL;

        if (strcmp(what, "erpm") == 0) {
                p->hold_erpm = true;
                p->held_erpm = x;
                p->erpm = x;
        } else if (strcmp(what, "current") == 0) {
                if (x == 0) {
                        c->ride_n = 0;
                        evtimer_del(c->ev_ride);
                        physics_release(p, now);
                } else {
                        c->ride[0] = (RideStep) { PHYS_CURRENT, x, -1 };
                        c->ride_n = 1;
                        ride_start(c, motor);
                }
        } else if (strcmp(what, "v_in") == 0) {
                for (unsigned m = 0; m < 2; m++) {
                        c->motor[m].v_batt = x;
                        c->motor[m].v_in = x;
                }
        } else if (strcmp(what, "temp_fet") == 0)
                p->temp_fet = x;
        else if (strcmp(what, "temp_motor") == 0)
                p->temp_motor = x;
        else if (strcmp(what, "load") == 0)
                p->load = x;
        else
                return -EINVAL;
        return 0;
}

/* ------------------------------------------------------------ public */

/**
 * vctl_new() - create a controller (not yet on the bus)
 * @env: shared environment; must outlive the controller
 * @spec: identity and initial state (copied)
 * @seed: seed for this controller's fault-injection random numbers
 * @ret: the controller (free with vctl_free())
 *
 * Returns 0, -ENOMEM.
 */
int vctl_new(const VctlEnv *env, const VctlSpec *spec, uint64_t seed, Vctl **ret) {
        Vctl *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->env = env;
        c->spec = *spec;
        c->id = spec->id;
        c->major = spec->major;
        c->minor = spec->minor;
        c->hw_type = spec->hw_type;
        snprintf(c->hw_name, sizeof c->hw_name, "%s", spec->hw_name);
        c->hw = sim_fw_hw_info(spec->hw_name);
        for (unsigned m = 0; m < 2; m++)
                physics_init(&c->motor[m], now_usec());
        select_motor(c, 0);
        c->rng = seed ? seed : UINT64_C(0x9E3779B97F4A7C15);
        c->phase = PHASE_BOOTING;

        r = sim_flash_new(spec->bootloader_generation, &c->flash);
        if (r < 0)
                goto fail;

        reset_config(c, spec->id);
        if (sim_fw_appconf_set_schedule(c->major, c->appconf, c->appconf_len, &spec->schedule) < 0) {
                r = -EINVAL;
                goto fail;
        }

        c->ev_op = evtimer_new(env->base, on_op, c);
        c->ev_status[0] = evtimer_new(env->base, on_status1, c);
        c->ev_status[1] = evtimer_new(env->base, on_status2, c);
        c->ev_notify = evtimer_new(env->base, on_notify, c);
        c->ev_ride = evtimer_new(env->base, on_ride, c);
        c->ev_drain = event_new(env->base, -1, 0, on_drain, c);
        if (!c->ev_op || !c->ev_status[0] || !c->ev_status[1] || !c->ev_notify || !c->ev_ride || !c->ev_drain) {
                r = -ENOMEM;
                goto fail;
        }
        sim_rx_init(&c->rx, c->major, c->minor);
        *ret = c;
        return 0;
fail:
        vctl_free(c);
        return r;
}

/**
 * vctl_free() - destroy a controller
 * @c: controller or NULL
 *
 * Leaves the bus first.  Returns NULL.
 */
Vctl *vctl_free(Vctl *c) {
        if (!c)
                return NULL;
        c->port = simport_free(c->port);
        if (c->ev_op)
                event_free(c->ev_op);
        for (int i = 0; i < 2; i++)
                if (c->ev_status[i])
                        event_free(c->ev_status[i]);
        if (c->ev_notify)
                event_free(c->ev_notify);
        if (c->ev_ride)
                event_free(c->ev_ride);
        if (c->ev_drain)
                event_free(c->ev_drain);
        sim_flash_free(c->flash);
        free(c->pending_data);
        free(c->app);
        free(c);
        return NULL;
}

/**
 * vctl_start() - put the controller on the bus, running
 * @c: controller
 *
 * The controller is up at once (the harness waits for "ready"); 6.x sends
 * NOTIFY_BOOT half a second (scaled) later, as after any complete start.
 * Returns 0 or a negative errno from simbus_attach().
 */
int vctl_start(Vctl *c) {
        int r = vctl_join(c);

        if (r < 0)
                return r;
        boot_complete(c);
        return 0;
}

/**
 * vctl_get_info() - snapshot for the control socket
 * @c: controller (its motor model is brought up to date)
 * @ret: filled; strings point into @c
 */
void vctl_get_info(Vctl *c, VctlInfo *ret) {
        advance_all(c, now_usec());
        *ret = (VctlInfo) {
                .name = c->spec.name,
                .id = c->id,
                .major = c->major,
                .minor = c->minor,
                .hw_name = c->hw_name,
                .hw_type = c->hw_type,
                .bootloader_generation = bootloader_generation(c),
                .phase = c->muted && c->phase != PHASE_BRICKED ? "muted" : phase_table[c->phase],
                .muted = c->muted,
                .on_bus = c->port != NULL,
                .riding = c->ride_n > 0 && c->ride_i < c->ride_n,
                .n_motors = n_motors(c),
                .counters = c->counters,
        };
        for (unsigned m = 0; m < n_motors(c); m++) {
                const Physics *p = &c->motor[m];

                ret->motor[m] = (VctlMotorInfo) {
                        .id = m ? second_id(c) : c->id,
                        .erpm = p->erpm,
                        .current = p->current,
                        .v_in = p->v_in,
                        .temp_fet = p->temp_fet,
                        .temp_motor = p->temp_motor,
                        .load = p->load,
                        .drv = p->drv_pin,
                        .fault = (unsigned) p->fault,
                        .fault_name = physics_fault_name(p->fault),
                        .current_min_scale = p->lim.current_min_scale,
                        .current_max_scale = p->lim.current_max_scale,
                        .erpm_min = p->lim.erpm_min,
                        .erpm_max = p->lim.erpm_max,
                        .duty_min = p->lim.duty_min,
                        .duty_max = p->lim.duty_max,
                        .watt_min = p->lim.watt_min,
                        .watt_max = p->lim.watt_max,
                        .in_current_min = p->lim.in_current_min,
                        .in_current_max = p->lim.in_current_max,
                };
                for (int i = 0; i < 12; i++)
                        snprintf(ret->motor[m].uuid + 2 * i, 3, "%02x",
                                 (uint8_t) (c->spec.uuid[i] + (i == 11 ? m : 0)));
        }
        memcpy(ret->uuid, ret->motor[0].uuid, sizeof ret->uuid);
        ret->erpm = ret->motor[0].erpm;
        ret->current = ret->motor[0].current;
        ret->v_in = ret->motor[0].v_in;
        ret->temp_fet = ret->motor[0].temp_fet;
}

/**
 * vctl_name() - the controller's preset name ("A", "B", ...)
 * @c: controller
 *
 * Returns a string owned by @c.
 */
const char *vctl_name(const Vctl *c) {
        return c->spec.name;
}

/**
 * vctl_match_motor() - which motor a control-socket NAME designates
 * @c: controller
 * @name_or_uuid: "A"... (motor 1), "A2" (the second motor of a dual-motor
 *                board), or a motor's 24-digit UUID (any case)
 *
 * Returns 1 or 2 for a match, 0 otherwise.
 */
unsigned vctl_match_motor(const Vctl *c, const char *name_or_uuid) {
        for (unsigned m = 0; m < n_motors(c); m++) {
                char uuid[25];

                for (int i = 0; i < 12; i++)
                        snprintf(uuid + 2 * i, 3, "%02x", (uint8_t) (c->spec.uuid[i] + (i == 11 ? m : 0)));
                if (strcasecmp(uuid, name_or_uuid) == 0)
                        return m + 1;
        }
        if (strcmp(name_or_uuid, c->spec.name) == 0)
                return 1;
        if (n_motors(c) > 1 && strncmp(name_or_uuid, c->spec.name, strlen(c->spec.name)) == 0 &&
            strcmp(name_or_uuid + strlen(c->spec.name), "2") == 0)
                return 2;
        return 0;
}

/**
 * vctl_matches() - whether a control-socket NAME designates this controller
 * @c: controller
 * @name_or_uuid: as for vctl_match_motor()
 *
 * Returns true on a match (either motor).
 */
bool vctl_matches(const Vctl *c, const char *name_or_uuid) {
        return vctl_match_motor(c, name_or_uuid) > 0;
}

/**
 * vctl_set_drop() - drop a fraction of the frames this controller receives
 * @c: controller
 * @fraction: 0..1
 */
void vctl_set_drop(Vctl *c, double fraction) {
        c->drop = CLAMP(fraction, 0.0, 1.0);
}

/**
 * vctl_set_corrupt() - flip one bit in a fraction of the received frames
 * @c: controller
 * @fraction: 0..1
 */
void vctl_set_corrupt(Vctl *c, double fraction) {
        c->corrupt = CLAMP(fraction, 0.0, 1.0);
}

/**
 * vctl_set_mute() - stop (or resume) every transmission of the controller
 * @c: controller
 * @mute: true to mute
 */
void vctl_set_mute(Vctl *c, bool mute) {
        c->muted = mute;
}

/**
 * vctl_power_cycle() - cut and restore power, now or in a coming phase
 * @c: controller
 * @at: VCTL_PC_NOW, or the phase whose next entry is interrupted halfway
 *
 * Power loss restarts the firmware in flash (RAM state lost, flash kept);
 * during the bootloader's erase/copy it bricks the controller.
 * Returns 0, or -EINVAL for an invalid @at.
 */
int vctl_power_cycle(Vctl *c, VctlPowerCycleAt at) {
        if (at < 0 || at >= _VCTL_PC_MAX)
                return -EINVAL;
        if (at != VCTL_PC_NOW) {
                c->pc_at = at;
                return 0;
        }
        switch (c->phase) {
        case PHASE_BRICKED:
                return 0;
        case PHASE_INSTALLING:
                brick(c);
                return 0;
        default:
                power_on(c, 1);
                return 0;
        }
}

/**
 * vctl_miss_jump() - ignore the next JUMP_TO_BOOTLOADER
 * @c: controller
 */
void vctl_miss_jump(Vctl *c) {
        c->miss_jump = true;
}

/**
 * vctl_leave() - disconnect the controller from the bus
 * @c: controller
 *
 * Returns 0 (also when already off the bus).
 */
int vctl_leave(Vctl *c) {
        c->port = simport_free(c->port);
        return 0;
}

/**
 * vctl_join() - connect the controller to the bus
 * @c: controller
 *
 * Returns 0 or a negative errno from simbus_attach().
 */
int vctl_join(Vctl *c) {
        int r;

        if (c->port)
                return 0;
        r = simbus_attach(c->env->bus, on_frame, c, &c->port);
        if (r >= 0 && threads_running(c))
                check_id_clash(c);
        return r;
}

/**
 * vctl_set_lose_conf() - lose every SET_APPCONF or SET_MCCONF from now on
 * @c: controller
 * @app: SET_APPCONF (and SET_APPCONF_NO_STORE); false: SET_MCCONF
 * @on: lose them (true) or process them again (false)
 *
 * A lost command is one whose buffer never completes (a frame of it was
 * lost, the PROCESS CRC fails): nothing is stored, nothing is answered.
 */
void vctl_set_lose_conf(Vctl *c, bool app, bool on) {
        c->lose_conf[app ? 1 : 0] = on;
}
