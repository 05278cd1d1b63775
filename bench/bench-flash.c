/* bench-flash: staging firmware on a pair over a timed vbus.
 *
 * Part A, a stop-and-wait flasher written with nothing but the codec:
 * ERASE_NEW_APP, then each 384-byte chunk of the upload stream as
 * WRITE_NEW_APP_DATA, waiting for its ack (offset echo checked) before the
 * next, against vesc-sim --board dual-old-bootloader on a hub paced at
 * 500 kbit/s.  Timed from the first ERASE_NEW_APP to the last write ack,
 * for a pair flashed one after the other; the first controller's share of
 * that run is the single-controller figure (it is exactly a single run).
 *
 * The physical limit (DESIGN.md "Budgets"): one erase time + the wire time
 * of every frame sent, wire bits counted with can_frame_wire_bits() (exact,
 * stuffing included, as the hub paces them).  The erase time is the
 * measured ERASE_NEW_APP round trip of the first controller.
 *
 * Part B, vescd's own update (erase both at once, writes interleaved, every
 * chunk acknowledged) on a new hub with the same preset and bitrate, started
 * through the JSON socket (firmware.install, firmware.pair) and timed on the
 * bus by a passive member: from vescd's first ERASE_NEW_APP to the last write
 * ack, frames and wire bits of everything vescd sent meanwhile, the same
 * limit and ratio; then controller A alone (firmware.update) the same way.
 *
 * The image: the project's test images are almost all erased flash (0xFF),
 * and vescd rightly sends no chunk that is all 0xFF, so they would time a few
 * dozen chunks.  Both parts use a realistic 5.03-style image instead: 300 KiB
 * of pseudo-random "code" with a valid vector table and VESCDFW1 descriptor
 * (5.03, hw 60), erased flash after it as in a real build; part B packs it
 * into a set with vescfw build.
 *
 * With --drop F, part B then updates the pair again on a fresh stack whose
 * controllers lose a fraction F of the frames they receive (vesc-sim
 * --drop), and at 5 %, printing each staging time against the loss-free
 * one (issue 15: at 1 % within 2×, at 5 % it finishes).
 *
 * Prints figures; never judges them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/can.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-json.h"
#include "bench-util.h"
#include "canbits.h"
#include "fwimage.h"
#include "macro.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"

#define OWN_ID 253
#define ID_A 12
#define ID_B 74
#define CHUNK 384u
#define ERASE_TIMEOUT_MS 20000
#define WRITE_TIMEOUT_MS 2000
#define PING_TIMEOUT_MS 200
#define JOIN_TIMEOUT_MS 5000
#define WRITE_RETRIES 3
#define CODE_SIZE (300u * 1024u)        /* the image's non-erased part */
#define SETUP_TIMEOUT_MS 30000
#define JOB_TIMEOUT_MS (30 * 60 * 1000) /* a bound, not a speed check */
#define BUS_RCVBUF (8 << 20)            /* the passive member must lose nothing */

typedef struct Args {
        uint32_t bitrate;
        size_t size;            /* 0 = the whole stream */
        double time_scale;      /* part B: vesc-sim and vescd --time-scale (smoke test) */
        double drop;            /* part B: also the pair with vesc-sim --drop (frame loss) */
        unsigned part_a;        /* 0: skip part A (the stop-and-wait flasher) */
        unsigned debug;         /* 1: vescd --log-level debug (on stderr) */
} Args;

typedef struct BusCount {
        uint64_t frames_tx, bits_tx;
        uint64_t frames_rx, bits_rx;
} BusCount;

typedef struct Flasher {
        int fd;
        VescReassembler ra;
        BusCount count;
        uint64_t retries;
} Flasher;

typedef struct FlashResult {
        uint64_t start_usec, end_usec;   /* first ERASE sent .. last write ack received */
        uint64_t erase_usec;             /* ERASE_NEW_APP round trip */
        BusCount count;                  /* frames of this controller's flash */
        unsigned chunks;
} FlashResult;

/* -------------------------------------------------------- the image */

/* A 393 208-byte 5.03-style image: vector table (SP in SRAM, a Thumb reset
 * vector past the EEPROM sectors), the VESCDFW1 descriptor at 0x400 (5.03,
 * hw 60, bootloader generation 1, so vesc-sim reports 5.03 after the
 * update; no firmware name, which 5.x cannot report), pseudo-random code up
 * to code_size, erased flash after. */
static uint8_t *realistic_image(size_t code_size, size_t *ret_len) {
        const VescFwDescriptor desc = {
                .major = 5, .minor = 3, .hw_name = "60", .min_bootloader = 1,
                .build_id = 0x05030b0cu,
        };
        const uint32_t sp = 0x20020000u, reset = 0x0800C101u;
        uint8_t *img = malloc(VESC_APP_SIZE_V5);
        uint32_t x = 0x12345678u;

        if (!img)
                return NULL;
        code_size = CLAMP(code_size, (size_t) 0x400 + VESC_FW_DESC_LEN, (size_t) VESC_APP_SIZE_V5);
        memset(img, 0xFF, VESC_APP_SIZE_V5);
        for (size_t i = 0; i < code_size; i++) {
                x = x * 1664525u + 1013904223u;
                img[i] = (uint8_t) (x >> 24);
        }
        /* little-endian vector table words, as the Cortex-M reads them */
        for (int k = 0; k < 4; k++) {
                img[k] = (uint8_t) (sp >> (8 * k));
                img[4 + k] = (uint8_t) (reset >> (8 * k));
        }
        vesc_fw_descriptor_write(&desc, img + 0x400);
        *ret_len = VESC_APP_SIZE_V5;
        return img;
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Run a tool to completion; its output goes to our stderr. */
static int run_tool(const char *const *argv) {
        posix_spawn_file_actions_t fa;
        int status, r;
        pid_t pid;

        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        (void) posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
        r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Pack the image into a set with vescfw build, as an owner would. */
static int build_set(const char *dir, const uint8_t *img, size_t len, char *ret_tar, size_t size) {
        char vescfw[512], app[600], app_arg[640];
        int r;

        r = bench_find_exe("firmware/vescfw", vescfw, sizeof vescfw);
        if (r < 0)
                return r;
        (void) snprintf(app, sizeof app, "%s/bench-5.03-60.bin", dir);
        (void) snprintf(app_arg, sizeof app_arg, "60=%s", app);
        (void) snprintf(ret_tar, size, "%s/bench-5.03.tar", dir);
        r = write_file(app, img, len);
        if (r < 0)
                return r;
        const char *argv[] = { vescfw, "build", "--name", "bench-5.03", "--version", "5.03", "--source",
                               "bench-flash: pseudo-random code, valid vector table and descriptor", "--app",
                               app_arg, "--output", ret_tar, NULL };
        return run_tool(argv);
}

/* ------------------------------------------------------ the flasher */

static int flasher_send(Flasher *fl, const struct can_frame *f) {
        fl->count.frames_tx++;
        fl->count.bits_tx += can_frame_wire_bits(f);
        return bench_vbus_send(fl->fd, f);
}

static int flasher_send_buffer(Flasher *fl, uint8_t dest, const uint8_t *p, size_t n) {
        VescSegmenter s;
        struct can_frame f;
        int r;

        r = vesc_segmenter_init(&s, dest, OWN_ID, VESC_MODE_PROCESS_REPLY, p, n);
        if (r < 0)
                return r;
        while (vesc_segmenter_next(&s, &f) > 0) {
                r = flasher_send(fl, &f);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Wait for a flash reply (cmd) from `from`; every frame seen is counted,
 * since it occupied the bus. */
static int flasher_wait_reply(Flasher *fl, uint8_t cmd, uint8_t from, int timeout_ms, VescFlashReply *ret) {
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC;

        for (;;) {
                uint64_t now = bench_now_usec();
                struct can_frame f;
                VescMessage m;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = bench_vbus_recv(fl->fd, &f, (int) ((deadline - now + 999) / 1000));
                if (r < 0)
                        return r;
                fl->count.frames_rx++;
                fl->count.bits_rx += can_frame_wire_bits(&f);
                if (vesc_reassembler_feed(&fl->ra, &f, bench_now_usec(), &m) != 1)
                        continue;
                if (m.sender != from || m.len < 1 || m.payload[0] != cmd)
                        continue;
                if (vesc_flash_reply_decode(m.payload, m.len, ret) < 0)
                        continue;
                return 0;
        }
}

/* The hub relays only to accepted members: ping until a PONG shows that we are. */
static int flasher_join(Flasher *fl, uint8_t dest) {
        uint64_t deadline = bench_now_usec() + JOIN_TIMEOUT_MS * USEC_PER_MSEC;

        while (bench_now_usec() < deadline) {
                struct can_frame f;
                VescPong pong;

                vesc_ping_encode(&f, dest, OWN_ID);
                if (bench_vbus_send(fl->fd, &f) < 0)
                        return -EIO;
                while (bench_vbus_recv(fl->fd, &f, PING_TIMEOUT_MS) == 0)
                        if (vesc_pong_decode(&f, &pong) == 0 && pong.to == OWN_ID)
                                return 0;
        }
        return -ETIMEDOUT;
}

static int flash_one(Flasher *fl, uint8_t dest, const uint8_t *stream, size_t len, FlashResult *ret) {
        uint8_t buf[CHUNK + 16];
        VescFlashReply rep;
        BusCount before = fl->count;
        ssize_t n;
        int r;

        memset(ret, 0, sizeof *ret);
        n = vesc_erase_new_app_encode((uint32_t) len, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        ret->start_usec = bench_now_usec();
        r = flasher_send_buffer(fl, dest, buf, (size_t) n);
        if (r < 0)
                return r;
        r = flasher_wait_reply(fl, COMM_ERASE_NEW_APP, dest, ERASE_TIMEOUT_MS, &rep);
        if (r < 0)
                return r;
        if (!rep.ok)
                return -EIO;
        ret->erase_usec = bench_now_usec() - ret->start_usec;

        for (size_t off = 0; off < len; off += CHUNK) {
                size_t k = MIN((size_t) CHUNK, len - off);
                int tries = 0;

                n = vesc_write_new_app_encode((uint32_t) off, stream + off, k, buf, sizeof buf);
                if (n < 0)
                        return (int) n;
                for (;;) {
                        r = flasher_send_buffer(fl, dest, buf, (size_t) n);
                        if (r < 0)
                                return r;
                        r = flasher_wait_reply(fl, COMM_WRITE_NEW_APP_DATA, dest, WRITE_TIMEOUT_MS, &rep);
                        if (r == 0 && rep.ok && (!rep.has_offset || rep.offset == off))
                                break;
                        if (r < 0 && r != -ETIMEDOUT)
                                return r;
                        if (++tries > WRITE_RETRIES)
                                return r < 0 ? r : -EIO;
                        fl->retries++;
                }
                ret->chunks++;
        }
        ret->end_usec = bench_now_usec();
        ret->count = (BusCount) {
                .frames_tx = fl->count.frames_tx - before.frames_tx,
                .bits_tx = fl->count.bits_tx - before.bits_tx,
                .frames_rx = fl->count.frames_rx - before.frames_rx,
                .bits_rx = fl->count.bits_rx - before.bits_rx,
        };
        return 0;
}

/* ------------------------------------------------------- reporting */

static void report(const char *label, uint64_t usec, const BusCount *c, uint64_t erase_usec, uint32_t bitrate) {
        double secs = (double) usec / 1e6;
        double wire_tx = (double) c->bits_tx / bitrate;
        double limit = (double) erase_usec / 1e6 + wire_tx;

        printf("bench-flash: %-28s %7.2f s | frames tx %llu rx %llu | wire bits tx %llu rx %llu | "
               "limit %.2f s (erase %.2f + wire %.2f) | ratio %.2f\n",
               label, secs, (unsigned long long) c->frames_tx, (unsigned long long) c->frames_rx,
               (unsigned long long) c->bits_tx, (unsigned long long) c->bits_rx, limit,
               (double) erase_usec / 1e6, wire_tx, limit > 0 ? secs / limit : 0.0);
}

/* ------------------------------------------------ part B: vescd's update */

#define WATCH_ID 200 /* the passive member's PING reply address */

/* What a passive member sees of one update job. */
typedef struct BusWatch {
        uint64_t first_erase_usec; /* 0 until vescd's first ERASE_NEW_APP */
        uint8_t first_erase_dest;
        uint64_t erase_usec;       /* that erase's round trip */
        uint64_t last_ack_usec;    /* the last write ack before the first JUMP */
        unsigned acks;
        bool jumped;
        BusCount running;          /* since the first erase */
        BusCount at_last_ack;
} BusWatch;

/* Each side's phases as job.changed reports them ("phases": uuid -> phase),
 * with the time each was entered: where the job's time goes. */
#define TIMELINE_SIDES 2
#define TIMELINE_STEPS 24

typedef struct Timeline {
        size_t n;
        struct {
                char uuid[BENCH_UUID_LEN + 1];
                size_t steps;
                char phase[TIMELINE_STEPS][16];
                uint64_t at[TIMELINE_STEPS];
        } side[TIMELINE_SIDES];
} Timeline;

static void timeline_note(Timeline *t, json_t *phases, uint64_t now) {
        const char *uuid;
        json_t *v;

        json_object_foreach(phases, uuid, v) {
                const char *phase = json_string_value(v);
                size_t i;

                if (!phase || strlen(uuid) != BENCH_UUID_LEN)
                        continue;
                for (i = 0; i < t->n && strcmp(t->side[i].uuid, uuid) != 0; i++)
                        ;
                if (i == t->n) {
                        if (t->n == TIMELINE_SIDES)
                                continue;
                        memcpy(t->side[t->n++].uuid, uuid, BENCH_UUID_LEN + 1);
                }
                size_t k = t->side[i].steps;
                if (k > 0 && strcmp(t->side[i].phase[k - 1], phase) == 0)
                        continue;
                if (k == TIMELINE_STEPS)
                        continue;
                (void) snprintf(t->side[i].phase[k], sizeof t->side[i].phase[k], "%s", phase);
                t->side[i].at[k] = now;
                t->side[i].steps++;
        }
}

/* One line per side: each phase and the seconds spent in it (the job's start
 * is when the call was made; the end is the job's end). */
static void timeline_print(const Timeline *t, uint64_t start, uint64_t end) {
        for (size_t i = 0; i < t->n; i++) {
                char line[1024];
                size_t len = 0;

                for (size_t k = 0; k < t->side[i].steps && len < sizeof line; k++) {
                        uint64_t from = k == 0 ? start : t->side[i].at[k];
                        uint64_t to = k + 1 < t->side[i].steps ? t->side[i].at[k + 1] : end;

                        if (to <= from && k + 1 == t->side[i].steps)
                                break; /* the final state: no time in it */
                        len += (size_t) snprintf(line + len, sizeof line - len, "%s%s %.2f", k ? ", " : "",
                                                 t->side[i].phase[k], (double) (to - from) / 1e6);
                }
                printf("bench-flash:   %.8s…: %s s\n", t->side[i].uuid, len ? line : "-");
        }
}

/* The firmware's own time after the last chunk, as vesc-sim models it (the
 * spec documents no run times, §14.4): the bootloader reads the header
 * (0.1 s), erases the application sectors the plain image needs (16 KiB
 * sectors 0.25 s, 64 KiB 0.55 s, 128 KiB 1 s), copies it byte by byte
 * (30 µs per byte), then the MCU starts twice (0.3 s each until CAN is up;
 * the first start stamps the CRC and resets, spec §14.8); then the restore's
 * SET_MCCONF and SET_APPCONF each pause 0.2 s in the firmware (§13.1). */
#define FLOOR_HEADER_USEC   100000u
#define FLOOR_BYTE_NSEC     30000u
#define FLOOR_START_USEC    300000u
#define FLOOR_STARTS        2u
#define FLOOR_CONF_USEC     200000u
#define FLOOR_CONF_WRITES   2u

typedef struct InstallFloor {
        uint64_t header, erase, copy, starts, restore, total;
} InstallFloor;

static void install_floor(size_t image_len, double time_scale, InstallFloor *ret) {
        static const uint32_t sector[] = { 16384, 16384, 16384, 16384, 65536, 131072, 131072, 131072 };
        size_t covered = 0;

        *ret = (InstallFloor) {
                .header = FLOOR_HEADER_USEC,
                .copy = (uint64_t) image_len * FLOOR_BYTE_NSEC / 1000u,
                .starts = FLOOR_STARTS * FLOOR_START_USEC,
                .restore = FLOOR_CONF_WRITES * FLOOR_CONF_USEC,
        };
        for (size_t i = 0; i < ELEMENTSOF(sector) && covered < image_len; i++) {
                ret->erase += sector[i] <= 16384 ? 250000u : sector[i] <= 65536 ? 550000u : 1000000u;
                covered += sector[i];
        }
        /* vesc-sim --time-scale scales the firmware's times alike */
        ret->header = (uint64_t) ((double) ret->header * time_scale);
        ret->erase = (uint64_t) ((double) ret->erase * time_scale);
        ret->copy = (uint64_t) ((double) ret->copy * time_scale);
        ret->starts = (uint64_t) ((double) ret->starts * time_scale);
        ret->restore = (uint64_t) ((double) ret->restore * time_scale);
        ret->total = ret->header + ret->erase + ret->copy + ret->starts + ret->restore;
}

static bool is_controller(uint8_t addr) {
        return addr == ID_A || addr == ID_B;
}

/* The COMM command of a message's first frame, or -1: a short buffer carries
 * it in data[2], the FILL frame at offset 0 in data[1]. */
static int first_command(const struct can_frame *f, uint8_t type) {
        if (type == CAN_PACKET_PROCESS_SHORT_BUFFER && f->can_dlc >= 3)
                return f->data[2];
        if (type == CAN_PACKET_FILL_RX_BUFFER && f->can_dlc >= 2 && f->data[0] == 0)
                return f->data[1];
        return -1;
}

static void watch_frame(BusWatch *w, const struct can_frame *f, uint64_t now) {
        uint8_t type, addr;
        bool from_vescd;
        int cmd;

        if (!(f->can_id & CAN_EFF_FLAG) || (f->can_id & (CAN_ERR_FLAG | CAN_RTR_FLAG)) ||
            vesc_can_id_unpack(f->can_id, &type, &addr) < 0)
                return;
        /* Only vescd addresses the controllers here (the bench's own PINGs
         * happen before any job). */
        from_vescd = is_controller(addr) &&
                     (type == CAN_PACKET_FILL_RX_BUFFER || type == CAN_PACKET_FILL_RX_BUFFER_LONG ||
                      type == CAN_PACKET_PROCESS_RX_BUFFER || type == CAN_PACKET_PING ||
                      (type == CAN_PACKET_PROCESS_SHORT_BUFFER && f->data[0] == OWN_ID));
        cmd = first_command(f, type);
        if (from_vescd && cmd == COMM_ERASE_NEW_APP && w->first_erase_usec == 0) {
                w->first_erase_usec = now;
                w->first_erase_dest = addr;
        }
        if (w->first_erase_usec == 0 || w->jumped)
                return;
        if (from_vescd && cmd == COMM_JUMP_TO_BOOTLOADER) {
                w->jumped = true;
                return;
        }
        if (from_vescd) {
                w->running.frames_tx++;
                w->running.bits_tx += can_frame_wire_bits(f);
        } else {
                w->running.frames_rx++;
                w->running.bits_rx += can_frame_wire_bits(f);
        }
        /* acks: a short buffer to vescd, data[0] the replier, data[3] ok */
        if (type == CAN_PACKET_PROCESS_SHORT_BUFFER && addr == OWN_ID && f->can_dlc >= 4 && f->data[3] == 1) {
                if (f->data[2] == COMM_ERASE_NEW_APP && f->data[0] == w->first_erase_dest && w->erase_usec == 0)
                        w->erase_usec = now - w->first_erase_usec;
                if (f->data[2] == COMM_WRITE_NEW_APP_DATA) {
                        w->last_ack_usec = now;
                        w->acks++;
                        w->at_last_ack = w->running;
                }
        }
}

static int watch_join(int fd) {
        uint64_t deadline = bench_now_usec() + JOIN_TIMEOUT_MS * USEC_PER_MSEC;
        int size = BUS_RCVBUF;

        /* Root may exceed rmem_max; otherwise take what the kernel allows. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        while (bench_now_usec() < deadline) {
                struct can_frame f;
                VescPong pong;

                vesc_ping_encode(&f, ID_A, WATCH_ID);
                if (bench_vbus_send(fd, &f) < 0)
                        return -EIO;
                while (bench_vbus_recv(fd, &f, PING_TIMEOUT_MS) == 0)
                        if (vesc_pong_decode(&f, &pong) == 0 && pong.to == WATCH_ID)
                                return 0;
        }
        return -ETIMEDOUT;
}

/* Watch the bus until vescd reports the job ended (job.changed); its final
 * state goes into ret_state. */
static int follow_job(BenchJson *j, int bus_fd, json_int_t job, BusWatch *w, Timeline *tl, char *ret_state,
                      size_t size, uint64_t *ret_end) {
        uint64_t deadline = bench_now_usec() + (uint64_t) JOB_TIMEOUT_MS * USEC_PER_MSEC;

        while (bench_now_usec() < deadline) {
                struct pollfd p[2] = {
                        { .fd = bus_fd, .events = POLLIN },
                        { .fd = j->fd, .events = POLLIN },
                };
                struct can_frame f;
                ssize_t k;

                if (poll(p, 2, 1000) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                while (recv(bus_fd, &f, sizeof f, MSG_DONTWAIT) == (ssize_t) sizeof f)
                        watch_frame(w, &f, bench_now_usec());
                if (!(p[1].revents & (POLLIN | POLLHUP)))
                        continue;
                k = recv(j->fd, j->rd.buf + j->rd.len, sizeof j->rd.buf - j->rd.len, MSG_DONTWAIT);
                if (k == 0)
                        return -EPIPE;
                if (k < 0)
                        continue;
                j->rd.len += (size_t) k;
                while (bench_line_next_buffered(&j->rd, j->line, sizeof j->line) >= 0) {
                        json_t *msg, *params;
                        const char *state;

                        if (!strstr(j->line, "\"job.changed\""))
                                continue;
                        msg = json_loads(j->line, 0, NULL);
                        params = json_object_get(msg, "params");
                        state = json_string_value(json_object_get(params, "state"));
                        if (json_integer_value(json_object_get(params, "id")) == job)
                                timeline_note(tl, json_object_get(params, "phases"), bench_now_usec());
                        if (json_integer_value(json_object_get(params, "id")) == job && state &&
                            strcmp(state, "running") != 0) {
                                (void) snprintf(ret_state, size, "%s%s%s", state,
                                                strcmp(state, "done") == 0 ? "" : ": ",
                                                strcmp(state, "done") == 0 ? ""
                                                : json_string_value(json_object_get(json_object_get(params, "error"),
                                                                                    "text")) ?: "");
                                *ret_end = bench_now_usec();
                                json_decref(msg);
                                return 0;
                        }
                        json_decref(msg);
                }
        }
        return -ETIMEDOUT;
}

/* Start a job (method, params) and time it on the bus. */
/* *ret_usec (may be NULL): first erase to last write ack, 0 without a figure. */
static int time_job(BenchJson *j, int bus_fd, const char *label, const char *method, json_t *params, uint32_t bitrate,
                    size_t image_len, double time_scale, uint64_t *ret_usec) {
        json_t *result = NULL;
        Timeline tl = {};
        InstallFloor fl;
        BusWatch w = {};
        uint64_t start, end = 0;
        char state[256] = "";
        json_int_t job;
        int r;

        if (ret_usec)
                *ret_usec = 0;
        start = bench_now_usec();
        r = bench_json_call(j, method, params, SETUP_TIMEOUT_MS, &result);
        if (r < 0)
                return r;
        job = json_integer_value(json_object_get(result, "id"));
        timeline_note(&tl, json_object_get(result, "phases"), bench_now_usec());
        json_decref(result);
        r = follow_job(j, bus_fd, job, &w, &tl, state, sizeof state, &end);
        if (r < 0)
                return r;
        if (strcmp(state, "done") != 0 || w.acks == 0) {
                printf("bench-flash: %s job %lld ended %s (%u write acks seen): no figure\n", label, (long long) job,
                       state, w.acks);
                printf("bench-flash: %s phases (s), from the call to the end:\n", method);
                timeline_print(&tl, start, end ?: bench_now_usec());
                return 0;
        }
        report(label, w.last_ack_usec - w.first_erase_usec, &w.at_last_ack, w.erase_usec, bitrate);
        if (ret_usec)
                *ret_usec = w.last_ack_usec - w.first_erase_usec;
        printf("bench-flash: %s job: %.2f s before the first erase (checking, config backup), "
               "%.2f s after the last ack (commit, reboot, confirm, restore), %.2f s in all; %u chunks acked\n",
               method, (double) (w.first_erase_usec - start) / 1e6, (double) (end - w.last_ack_usec) / 1e6,
               (double) (end - start) / 1e6, w.acks);
        /* The whole job against its floor: the staging limit (one erase +
         * the wire time of every frame sent) + what the firmware itself
         * takes after the last chunk (the sides install in parallel). */
        install_floor(image_len, time_scale, &fl);
        double staging_limit = (double) w.erase_usec / 1e6 + (double) w.at_last_ack.bits_tx / bitrate;
        double floor = staging_limit + (double) fl.total / 1e6;
        printf("bench-flash: %s whole job (checking → done): %.2f s | floor %.2f s = staging limit %.2f + "
               "the firmware's install %.2f (header check %.2f, erase %.2f, copy %.2f, %u starts %.2f, "
               "restore's %u config writes %.2f; vesc-sim's model) | ratio %.2f\n",
               method, (double) (end - start) / 1e6, floor, staging_limit, (double) fl.total / 1e6,
               (double) fl.header / 1e6, (double) fl.erase / 1e6, (double) fl.copy / 1e6, FLOOR_STARTS,
               (double) fl.starts / 1e6, FLOOR_CONF_WRITES, (double) fl.restore / 1e6,
               floor > 0 ? (double) (end - start) / 1e6 / floor : 0.0);
        printf("bench-flash: %s phases (s), from the call to the end:\n", method);
        timeline_print(&tl, start, end);
        return 0;
}

/* vescd's own update on a new hub with the same preset: the pair (both at once,
 * interleaved), then (@single) controller A alone.  @drop > 0: every
 * controller of vesc-sim loses that fraction of the frames it receives.
 * *ret_pair_usec: the pair's staging time, 0 without a figure. */
static int part_b(const Args *a, const uint8_t *img, size_t img_len, double drop, bool single, uint64_t *ret_pair_usec) {
        char rate[32], tar[700], vescd_exe[512];
        char scale[32], offline[32], loss[32];
        char uuids[2][BENCH_UUID_LEN + 1];
        BenchStack st = {};
        BenchJson j = { .fd = -1 };
        _cleanup_close_ int bus_fd = -1;
        json_t *result = NULL;
        const char *why = NULL;
        char set[64] = "";
        size_t found;
        int r;

        if (bench_find_exe("daemon/vescd", vescd_exe, sizeof vescd_exe) < 0) {
                printf("bench-flash: part B (vescd pair update, interleaved): not measured: daemon/vescd is not built\n");
                return 0;
        }
        r = bench_stack_init(&st, "bench-flash-b");
        if (r < 0)
                return r;
        r = build_set(st.dir, img, img_len, tar, sizeof tar);
        if (r < 0) {
                why = "cannot build the image set (firmware/vescfw)";
                goto out;
        }
        (void) snprintf(rate, sizeof rate, "%u", a->bitrate);
        (void) snprintf(scale, sizeof scale, "%g", a->time_scale);
        /* vescd scales its offline timeout but polls a silent controller at
         * the unscaled rate: keep the scaled timeout above the poll period */
        (void) snprintf(offline, sizeof offline, "%.0f", 1000.0 / a->time_scale);
        (void) snprintf(loss, sizeof loss, "%g", drop);
        const char *sim_extra[] = { "--bitrate", rate, "--time-scale", scale, drop > 0 ? "--drop" : NULL, loss, NULL };
        const char *vescd_extra[8];
        size_t nx = 0;
        if (a->time_scale != 1.0) {
                vescd_extra[nx++] = "--time-scale";
                vescd_extra[nx++] = scale;
                vescd_extra[nx++] = "--offline-timeout-ms";
                vescd_extra[nx++] = offline;
        }
        if (a->debug) {
                vescd_extra[nx++] = "--log-level";
                vescd_extra[nx++] = "debug";
        }
        vescd_extra[nx] = NULL;
        r = bench_stack_start(&st, "dual-old-bootloader", sim_extra, vescd_extra, &why);
        if (r < 0)
                goto out;
        r = bench_json_open(&j, st.json_path, SETUP_TIMEOUT_MS);
        if (r < 0) {
                why = "vescd's JSON socket does not answer";
                goto out;
        }
        r = bench_json_wait_controllers(&j, 2, SETUP_TIMEOUT_MS, uuids, &found);
        if (r < 0) {
                why = "vescd did not identify the pair";
                goto out;
        }
        r = bench_json_call(&j, "firmware.install", json_pack("{s:s}", "path", tar), SETUP_TIMEOUT_MS, &result);
        if (r < 0) {
                why = "vescd refused firmware.install (run as root or in vescd's admin group)";
                goto out;
        }
        (void) snprintf(set, sizeof set, "%s", json_string_value(json_object_get(result, "set")) ?: "");
        json_decref(result);
        bus_fd = bench_unix_connect(st.bus, SOCK_SEQPACKET);
        if (bus_fd < 0) {
                r = bus_fd;
                goto out;
        }
        r = watch_join(bus_fd);
        if (r < 0)
                goto out;

        printf("bench-flash: part B: vescd's update through the JSON socket, same preset and bitrate, set %s, "
               "frame loss %g %%%s\n", set, 100 * drop,
               a->time_scale != 1.0 ? " (--time-scale: the figures are not comparable)" : "");
        r = time_job(&j, bus_fd, drop > 0 ? "part B pair with frame loss:" : "part B pair (interleaved):",
                     "firmware.pair", json_pack("{s:s}", "set", set), a->bitrate, img_len, a->time_scale,
                     ret_pair_usec);
        if (r >= 0 && single)
                r = time_job(&j, bus_fd, "part B single controller:", "firmware.update",
                             json_pack("{s:s, s:[s]}", "set", set, "controllers", uuids[0]), a->bitrate, img_len,
                             a->time_scale, NULL);
out:
        if (r < 0)
                printf("bench-flash: part B (vescd pair update, interleaved): not measured: %s (%s)\n",
                       why ?: "failed", strerror(-r));
        bench_json_close(&j);
        bench_stack_stop(&st);
        return 0;
}

/* ------------------------------------------- part A: stop-and-wait */

static int part_a(const Args *a, const uint8_t *stream, size_t len) {
        char rate[32];
        FlashResult ra, rb;
        Flasher fl = { .fd = -1 };
        BenchStack st = {};
        BusCount pair;
        int r;

        r = bench_stack_init(&st, "bench-flash");
        if (r < 0) {
                fprintf(stderr, "bench-flash: mkdtemp: %s\n", strerror(-r));
                return r;
        }
        (void) snprintf(rate, sizeof rate, "%u", a->bitrate);
        const char *extra[] = { "--bitrate", rate, NULL };
        r = bench_sim_start(&st.sim, st.dir, "dual-old-bootloader", extra);
        if (r == -ENOENT) {
                bench_stack_stop(&st);
                bench_skip("bench-flash: sim/vesc-sim is not built");
        }
        if (r < 0)
                goto out;
        fl.fd = bench_unix_connect(st.bus, SOCK_SEQPACKET);
        if (fl.fd < 0) {
                r = fl.fd;
                goto out;
        }
        vesc_reassembler_init(&fl.ra, OWN_ID, VESC_REASSEMBLER_TIMEOUT_USEC);
        r = flasher_join(&fl, ID_A);
        if (r < 0) {
                fprintf(stderr, "bench-flash: no PONG from controller %u\n", ID_A);
                goto out;
        }

        printf("bench-flash: part A: stop-and-wait flasher, vesc-sim dual-old-bootloader, vbus at %u bit/s\n",
               a->bitrate);
        printf("bench-flash: stream: %zu bytes (5.03-style image, %u KiB of code), %zu chunks of %u bytes, "
               "every chunk sent\n", len, (unsigned) (a->size > 0 ? MIN(a->size, (size_t) CODE_SIZE) : CODE_SIZE) / 1024,
               (len + CHUNK - 1) / CHUNK, CHUNK);

        fl.count = (BusCount) {};
        r = flash_one(&fl, ID_A, stream, len, &ra);
        if (r >= 0)
                r = flash_one(&fl, ID_B, stream, len, &rb);
        if (r < 0) {
                fprintf(stderr, "bench-flash: staging failed: %s\n", strerror(-r));
                goto out;
        }
        pair = fl.count;

        report("part A single controller:", ra.end_usec - ra.start_usec, &ra.count, ra.erase_usec, a->bitrate);
        report("part A pair (one by one):", rb.end_usec - ra.start_usec, &pair, ra.erase_usec, a->bitrate);
        printf("bench-flash: part A erase round trips: %.2f s and %.2f s; write retries: %llu\n",
               (double) ra.erase_usec / 1e6, (double) rb.erase_usec / 1e6, (unsigned long long) fl.retries);
out:
        /* part A's hub goes first: part B needs the CPU and a fresh pair */
        if (fl.fd >= 0)
                close(fl.fd);
        bench_stack_stop(&st);
        return r;
}

/* ------------------------------------------------------------ main */

static void usage(void) {
        printf("Usage: bench-flash [--bitrate BITS_PER_S] [--size BYTES] [--drop F] [--part-a 0] [--debug 1]\n\n"
               "  --bitrate N   pace the vbus at N bit/s (default 500000)\n"
                "  --size N      part A: stage only the first N bytes of the upload stream (default: all);\n"
               "                part B: an image with N bytes of code (default 300 KiB)\n"
               "  --time-scale F  part B only: vesc-sim's and vescd's --time-scale (default 1; for smoke tests)\n"
               "  --drop F      part B: then the pair again with a fraction F of the frames each controller\n"
               "                receives lost (vesc-sim --drop), and at 5 %% unless F is 0.05; the ratio to\n"
               "                the loss-free pair is printed\n"
               "  --part-a 0    skip part A (the stop-and-wait flasher)\n"
               "  --debug 1     run vescd with --log-level debug (its log goes to stderr)\n");
}

int main(int argc, char **argv) {
        _cleanup_free_ uint8_t *img = NULL, *stream = NULL;
        size_t img_len = 0, len = 0;
        Args a = { .bitrate = 500000, .time_scale = 1.0, .part_a = 1 };
        const BenchOption options[] = {
                { .name = "bitrate", .type = BENCH_OPT_UNSIGNED, .value = &a.bitrate, .min = 10000, .max = 1000000 },
                { .name = "size", .type = BENCH_OPT_SIZE, .value = &a.size, .min = 1, .max = (double) SIZE_MAX },
                { .name = "time-scale", .type = BENCH_OPT_DOUBLE, .value = &a.time_scale, .min = 0.01, .max = 100 },
                { .name = "drop", .type = BENCH_OPT_DOUBLE, .value = &a.drop, .min = 0, .max = 0.5 },
                { .name = "part-a", .type = BENCH_OPT_UNSIGNED, .value = &a.part_a, .min = 0, .max = 1 },
                { .name = "debug", .type = BENCH_OPT_UNSIGNED, .value = &a.debug, .min = 0, .max = 1 },
        };
        int r, exit_code = EXIT_FAILURE;

        if (bench_main_init(argc, argv, options, ELEMENTSOF(options), usage) < 0)
                return EXIT_FAILURE;

        img = realistic_image(a.size > 0 ? MIN(a.size, (size_t) CODE_SIZE) : CODE_SIZE, &img_len);
        if (!img)
                return EXIT_FAILURE;
        r = vesc_upload_stream_build(img, img_len, /* compress= */ false, &stream, &len);
        if (r < 0) {
                fprintf(stderr, "bench-flash: cannot build the upload stream: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        if (a.size > 0)
                len = MIN(len, a.size);

        if (a.part_a) {
                r = part_a(&a, stream, len);
                if (r < 0)
                        goto out;
        }
        uint64_t clean_usec = 0;
        r = part_b(&a, img, img_len, 0, true, &clean_usec);
        if (r < 0)
                goto out;
        /* the pair on a lossy bus: F, then 5 % (the goal: finishes) */
        for (unsigned k = 0; a.drop > 0 && k < 2; k++) {
                double drop = k == 0 ? a.drop : 0.05;
                uint64_t lossy_usec = 0;

                if (k == 1 && a.drop == 0.05)
                        break;
                r = part_b(&a, img, img_len, drop, false, &lossy_usec);
                if (r < 0)
                        goto out;
                if (lossy_usec > 0 && clean_usec > 0)
                        printf("bench-flash: part B pair at %g %% frame loss: %.2f s, %.2f× the loss-free %.2f s\n",
                               100 * drop, (double) lossy_usec / 1e6, (double) lossy_usec / (double) clean_usec,
                               (double) clean_usec / 1e6);
                else
                        printf("bench-flash: part B pair at %g %% frame loss: no figure (see above)\n", 100 * drop);
        }
        exit_code = EXIT_SUCCESS;
out:
        if (r < 0 && exit_code != EXIT_SUCCESS)
                fprintf(stderr, "bench-flash: failed: %s\n", strerror(-r));
        return exit_code;
}
