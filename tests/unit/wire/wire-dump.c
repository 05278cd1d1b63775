/* The bytes vescd puts on the wire and on disk must not depend on the
 * machine it runs on: a Raspberry Pi with armhf (32-bit long and time_t),
 * arm64 and amd64 must send the same vbus frames and write the same job
 * files.  This program produces a fixed set of both from fixed inputs:
 *
 *   - frames.bin: the 16-byte struct can_frame messages a vbus carries
 *     (status frames 1-6, commands, PING/PONG, boot notice, a 300-byte
 *     COMM payload segmented by the buffer transport), padding included;
 *   - frames.txt: the same frames in the candump syntax of the vbus tools;
 *   - firmware/jobs/job-7.json: a pair job file written by the update
 *     store, with 64-bit counters above 2^32 and blobs.
 *
 *   wire-dump DIR   writes them into DIR (scripts/cross-test runs it
 *                   natively and under qemu-user and compares the bytes);
 *   wire-dump       (as a test) writes them into a temporary directory and
 *                   checks that they read back: every frame parses to the
 *                   same frame, the job file reads back and is written
 *                   again byte for byte (less the gates, which a snapshot
 *                   keeps for people only).  Exit 0 or 1. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "update/update-store.h"
#include "vbus-frame.h"

#define MAX_FRAMES 128

static struct can_frame frames[MAX_FRAMES];
static size_t n_frames;

static struct can_frame *next_frame(void) {
        if (n_frames >= MAX_FRAMES) {
                fprintf(stderr, "wire-dump: too many frames\n");
                exit(1);
        }
        memset(&frames[n_frames], 0, sizeof(frames[n_frames]));
        return &frames[n_frames++];
}

static int build_frames(void) {
        static const uint8_t types[] = { CAN_PACKET_STATUS, CAN_PACKET_STATUS_2, CAN_PACKET_STATUS_3,
                                         CAN_PACKET_STATUS_4, CAN_PACKET_STATUS_5, CAN_PACKET_STATUS_6 };
        uint8_t payload[300];
        VescSegmenter seg;
        int r;

        for (size_t i = 0; i < sizeof(types); i++) {
                VescStatus st = { .type = types[i], .sender = 0x2a };

                switch (types[i]) {
                case CAN_PACKET_STATUS:
                        st.s1.erpm = -123456; st.s1.current = -12.3; st.s1.duty = 0.456; break;
                case CAN_PACKET_STATUS_2:
                        st.s2.ah = 1.2345; st.s2.ah_charged = 0.0678; break;
                case CAN_PACKET_STATUS_3:
                        st.s3.wh = 98.7654; st.s3.wh_charged = 1.5; break;
                case CAN_PACKET_STATUS_4:
                        st.s4.temp_fet = 41.7; st.s4.temp_motor = -5.2; st.s4.current_in = 3.3; st.s4.pid_pos = 359.9; break;
                case CAN_PACKET_STATUS_5:
                        st.s5.tachometer = -2000000000; st.s5.v_in = 50.4; break;
                default:
                        st.s6.adc1 = 0.5; st.s6.adc2 = 3.3; st.s6.adc3 = -1.25; st.s6.ppm = -0.999; break;
                }
                r = vesc_status_encode(&st, next_frame());
                if (r < 0)
                        return r;
        }
        r = vesc_cmd_encode(next_frame(), 7, CAN_PACKET_SET_CURRENT, -25.125);
        if (r < 0)
                return r;
        vesc_ping_encode(next_frame(), 7, 0xfe);
        vesc_pong_encode(next_frame(), 0xfe, 7, 0);
        vesc_notify_boot_encode(next_frame(), 7, "60_MK5");

        for (size_t i = 0; i < sizeof(payload); i++)
                payload[i] = (uint8_t) (i * 37 + 11);
        r = vesc_segmenter_init(&seg, 7, 0xfe, VESC_MODE_PROCESS_REPLY, payload, sizeof(payload));
        if (r < 0)
                return r;
        for (;;) {
                struct can_frame f = {};

                r = vesc_segmenter_next(&seg, &f);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                *next_frame() = f;
        }
        return 0;
}

static uint8_t blob_mc[40], blob_app[24];

static void build_job(FwJobFile *f) {
        static const uint8_t uuid0[VESC_UUID_LEN] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51,
                                                      0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

        memset(f, 0, sizeof(*f));
        f->id = 7;
        snprintf(f->kind, sizeof(f->kind), "pair");
        snprintf(f->set_id, sizeof(f->set_id), "0123456789abcdef");
        f->n = 2;
        for (size_t i = 0; i < 2; i++) {
                FwIdentity *id = &f->controllers[i];

                memcpy(id->uuid, uuid0, sizeof(id->uuid));
                id->uuid[VESC_UUID_LEN - 1] = (uint8_t) (0x31 + 2 * i);
                id->can_id = (uint8_t) (i ? 0x2b : 0x2a);
                id->major = (uint8_t) (i ? 3 : 5);
                id->minor = (uint8_t) (i ? 58 : 3);
                id->test_build = (uint8_t) (i ? 0 : 2);
                snprintf(id->hw_name, sizeof(id->hw_name), "60_MK5");
                snprintf(id->fw_name, sizeof(id->fw_name), "%s", i ? "" : "no_hw_limits");
        }
        f->opts.skip_can_id_restore = true;
        f->opts.skip_config_migration = true;
        /* above 2^32 µs and above 2^31 s/1e6: a 32-bit long or time_t would show */
        f->started_realtime_usec = UINT64_C(1796601600123456);

        f->engine.state = FW_JOB_RUNNING;
        f->engine.phase = FW_PHASE_WRITING;
        f->engine.error = FW_ERROR_NONE;
        snprintf(f->engine.text, sizeof(f->engine.text), "writing 2f00…31: 41 %%");
        f->engine.resumes = 1;
        f->engine.units_total = UINT64_C(0x100000003);
        f->engine.units_done = UINT64_C(0x80000001);
        f->engine.bytes_total = UINT64_C(5000000000);
        f->engine.bytes_done = UINT64_C(2050000000);
        f->engine.percent = 41;
        f->engine.n = 2;
        for (size_t i = 0; i < sizeof(blob_mc); i++)
                blob_mc[i] = (uint8_t) (0xa5 ^ i);
        for (size_t i = 0; i < sizeof(blob_app); i++)
                blob_app[i] = (uint8_t) (0x3c + 3 * i);
        for (size_t i = 0; i < 2; i++) {
                FwSideSnapshot *s = &f->engine.sides[i];

                memcpy(s->uuid, f->controllers[i].uuid, sizeof(s->uuid));
                s->phase = i ? FW_PHASE_STAGED : FW_PHASE_WRITING;
                s->before = f->controllers[i];
                s->running = f->controllers[i];
                snprintf(s->target, sizeof(s->target), "5.03");
                s->stream_len = UINT64_C(393216) + i;
                s->stream_crc = (uint16_t) (0xbeef - i);
                s->bootloader_started = true;
                s->bootloader_done = i == 1;
                s->app_erased = true;
                s->commits = (unsigned) i;
                s->restages = 2;
                s->mcconf = blob_mc;
                s->mcconf_len = sizeof(blob_mc);
                s->appconf = i ? NULL : blob_app;
                s->appconf_len = i ? 0 : sizeof(blob_app);
                s->error = FW_ERROR_NONE;
                s->have_telemetry = true;
                s->motor_stopped = true;
                s->voltage_ok = true;
                s->fault_ok = true;
                s->tel.erpm = 12.5;
                s->tel.current_motor = -0.1;
                s->tel.current_in = 0.02;
                s->tel.v_in = 41.9;
                s->v_in_min = 10.0;
                s->v_in_max = 60.0;
        }
}

static int write_file(const char *dir, const char *name, const void *p, size_t n) {
        char path[4096];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "we");
        if (!fp)
                return -errno;
        if (n > 0 && fwrite(p, 1, n, fp) != n) {
                fclose(fp);
                return -EIO;
        }
        return fclose(fp) == 0 ? 0 : -errno;
}

static int dump(const char *dir) {
        FwJobFile job;
        char *text = NULL;
        size_t text_len = 0;
        FILE *mem;
        int r;

        r = write_file(dir, "frames.bin", frames, n_frames * sizeof(frames[0]));
        if (r < 0)
                return r;
        mem = open_memstream(&text, &text_len);
        if (!mem)
                return -ENOMEM;
        for (size_t i = 0; i < n_frames; i++) {
                char line[VBUS_FRAME_TEXT_MAX];

                r = vbus_frame_format(&frames[i], line, sizeof(line));
                if (r < 0) {
                        fclose(mem);
                        free(text);
                        return r;
                }
                fprintf(mem, "%s\n", line);
        }
        fclose(mem);
        r = write_file(dir, "frames.txt", text, text_len);
        free(text);
        if (r < 0)
                return r;
        build_job(&job);
        return update_store_job_write(dir, &job);
}

static char *slurp(const char *path, size_t *ret_len) {
        FILE *fp = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!fp)
                return NULL;
        buf = malloc(1 << 16);
        if (buf)
                len = fread(buf, 1, (1 << 16) - 1, fp);
        fclose(fp);
        if (buf)
                buf[len] = 0;
        *ret_len = len;
        return buf;
}

/* The self-check of `wire-dump` without arguments. */
static int check(void) {
        char dir[] = "/tmp/wire-dump.XXXXXX", path[4096], path2[4096];
        FwJobFile back;
        char *a = NULL, *b = NULL;
        size_t a_len = 0, b_len = 0;
        int r, failed = 0;

        if (!mkdtemp(dir)) {
                perror("wire-dump: mkdtemp");
                return 1;
        }
        r = dump(dir);
        if (r < 0) {
                fprintf(stderr, "wire-dump: writing into %s: %s\n", dir, strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < n_frames; i++) {
                char line[VBUS_FRAME_TEXT_MAX];
                struct can_frame f = {};

                if (vbus_frame_format(&frames[i], line, sizeof(line)) < 0 || vbus_frame_parse(line, &f) < 0 ||
                    f.can_id != frames[i].can_id || f.len != frames[i].len ||
                    memcmp(f.data, frames[i].data, frames[i].len) != 0) {
                        fprintf(stderr, "wire-dump: frame %zu (%s) does not read back\n", i, line);
                        failed = 1;
                }
        }
        if (sizeof(struct can_frame) != 16) {
                fprintf(stderr, "wire-dump: struct can_frame is %zu bytes, the vbus carries 16\n",
                        sizeof(struct can_frame));
                failed = 1;
        }
        snprintf(path, sizeof(path), "%s/firmware/jobs/job-7.json", dir);
        memset(&back, 0, sizeof(back));
        r = update_store_job_read(path, &back);
        if (r < 0) {
                fprintf(stderr, "wire-dump: %s does not read back: %s\n", path, strerror(-r));
                failed = 1;
        } else {
                if (back.started_realtime_usec != UINT64_C(1796601600123456) ||
                    back.engine.units_total != UINT64_C(0x100000003) ||
                    back.engine.bytes_total != UINT64_C(5000000000)) {
                        fprintf(stderr, "wire-dump: the job's 64-bit values changed on the way back\n");
                        failed = 1;
                }
                /* what the store reads back is written again byte for byte:
                 * the job as built, less what a snapshot keeps for people
                 * only (the gates) */
                FwJobFile ref;

                build_job(&ref);
                for (size_t i = 0; i < ref.engine.n; i++) {
                        FwSideSnapshot *s = &ref.engine.sides[i];

                        s->have_telemetry = s->motor_stopped = s->voltage_ok = s->fault_ok = false;
                        memset(&s->tel, 0, sizeof(s->tel));
                        s->v_in_min = s->v_in_max = 0;
                }
                ref.id = 9;
                back.id = 8;
                r = update_store_job_write(dir, &back);
                if (r >= 0)
                        r = update_store_job_write(dir, &ref);
                snprintf(path, sizeof(path), "%s/firmware/jobs/job-9.json", dir);
                snprintf(path2, sizeof(path2), "%s/firmware/jobs/job-8.json", dir);
                a = slurp(path, &a_len);
                b = slurp(path2, &b_len);
                /* the two differ only in their ids */
                if (r < 0 || !a || !b || a_len != b_len || !strstr(a, "\"id\":9,") || !strstr(b, "\"id\":8,") ||
                    memcmp(a, b, (size_t) (strstr(a, "\"id\":9,") - a)) != 0 ||
                    strcmp(strstr(a, "\"id\":9,") + 7, strstr(b, "\"id\":8,") + 7) != 0) {
                        fprintf(stderr, "wire-dump: the job file does not read back as written\n  %s\n  %s\n",
                                a ? a : "(none)", b ? b : "(none)");
                        failed = 1;
                }
                update_store_job_remove(dir, 9);
                update_store_job_remove(dir, 8);
        }
        update_store_job_done(&back);
        free(a);
        free(b);
        update_store_job_remove(dir, 7);
        snprintf(path, sizeof(path), "%s/frames.bin", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/frames.txt", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/firmware/jobs", dir);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/firmware", dir);
        rmdir(path);
        rmdir(dir);
        if (!failed)
                printf("wire-dump: %zu frames and a job file read back\n", n_frames);
        return failed;
}

int main(int argc, char **argv) {
        int r;

        if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
                fprintf(stderr, "usage: wire-dump [DIR]\n");
                return 2;
        }
        r = build_frames();
        if (r < 0) {
                fprintf(stderr, "wire-dump: encoding the frames: %s\n", strerror(-r));
                return 1;
        }
        if (argc == 1)
                return check();
        r = dump(argv[1]);
        if (r < 0) {
                fprintf(stderr, "wire-dump: writing into %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
