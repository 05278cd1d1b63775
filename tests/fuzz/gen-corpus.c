/* Writes the seed corpora of the codec fuzz targets, and the list of files
 * for the build (corpus.mk), from the codec's own encoders and the spec's
 * worked examples (§19).  Run it after changing the seeds:
 *
 *     make tests/fuzz/gen-corpus && tests/fuzz/gen-corpus $(srcdir)/tests/fuzz
 *
 * (or `make fuzz-corpus`).  The output is deterministic, so regenerating
 * without changes leaves the tree untouched. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crc.h"
#include "proto/vesc-buffer.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "proto/vesc-serial.h"
#include "wire.h"

typedef struct Gen {
        const char *top; /* tests/fuzz directory */
        FILE *mk;
        const char *target;
        int failed;
} Gen;

static void emit(Gen *g, const char *name, const void *data, size_t len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/corpus/%s/%s", g->top, g->target, name);
        FILE *f = fopen(path, "we");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                g->failed = 1;
                return;
        }
        fprintf(g->mk, " \\\n\ttests/fuzz/corpus/%s/%s", g->target, name);
}

static void begin(Gen *g, const char *target) {
        char path[4096];
        g->target = target;
        snprintf(path, sizeof path, "%s/corpus", g->top);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/corpus/%s", g->top, target);
        (void) mkdir(path, 0755);
}

/* ------------------------------------------------------------ fuzz-can */

static void can_seed(Gen *g, const char *name, const struct can_frame *f, uint8_t major) {
        uint8_t b[14] = {};
        be32_put(b, f->can_id);
        b[4] = f->len;
        memcpy(b + 5, f->data, 8);
        b[13] = major;
        emit(g, name, b, sizeof b);
}

static void gen_can(Gen *g) {
        struct can_frame f;
        VescStatus st;

        begin(g, "fuzz-can");

        st = (VescStatus){ .type = CAN_PACKET_STATUS, .sender = 31, .s1 = { .erpm = -12345, .current = -12.37, .duty = 0.55 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status1", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS_2, .sender = 31, .s2 = { .ah = 1.2345, .ah_charged = 0.1 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status2", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS_3, .sender = 31, .s3 = { .wh = 55.5, .wh_charged = 3.25 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status3", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS_4, .sender = 31,
                           .s4 = { .temp_fet = 41.3, .temp_motor = -5.5, .current_in = 3.2, .pid_pos = 359.98 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status4", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS_5, .sender = 31, .s5 = { .tachometer = -600, .v_in = 42.1 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status5", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS_6, .sender = 31, .s6 = { .adc1 = 3.3, .adc2 = 0.001, .adc3 = 0, .ppm = -1 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status6", &f, 6);
        st = (VescStatus){ .type = CAN_PACKET_STATUS, .sender = 0, .s1 = { .erpm = INT32_MIN, .current = 1e9, .duty = -1e9 } };
        vesc_status_encode(&st, &f);
        can_seed(g, "status1-saturated", &f, 6);
        f.len = 7;
        can_seed(g, "status1-dlc7", &f, 6);

        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT, 10.0);
        can_seed(g, "set-current-10A", &f, 6);
        f.len = 6;
        f.data[4] = 0x01;
        f.data[5] = 0xF4;
        can_seed(g, "set-current-6byte-fw6", &f, 6);
        can_seed(g, "set-current-6byte-fw5", &f, 5);
        can_seed(g, "set-current-6byte-fw3", &f, 3);
        vesc_cmd_encode(&f, 23, CAN_PACKET_SET_CURRENT, 51.0);
        can_seed(g, "set-current-51A", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_DUTY, -0.25);
        can_seed(g, "set-duty", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT_BRAKE, 20.5);
        can_seed(g, "set-brake", &f, 6);
        vesc_cmd_encode(&f, 255, CAN_PACKET_SET_RPM, -25000);
        can_seed(g, "set-rpm-broadcast", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_POS, 180.5);
        can_seed(g, "set-pos", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT_REL, 0.3);
        can_seed(g, "set-current-rel", &f, 6);
        vesc_cmd_current_rel_off_delay_encode(&f, 31, 0.3, 0.5);
        can_seed(g, "set-current-rel-off-delay", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT_BRAKE_REL, 1.0);
        can_seed(g, "set-brake-rel", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT_HANDBRAKE, 4.0);
        can_seed(g, "set-handbrake", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT_HANDBRAKE_REL, 0.1);
        can_seed(g, "set-handbrake-rel", &f, 6);
        vesc_conf_pair_encode(&f, 31, CAN_PACKET_CONF_CURRENT_LIMITS, -60, 60);
        can_seed(g, "conf-current-limits", &f, 6);
        vesc_conf_pair_encode(&f, 31, CAN_PACKET_CONF_STORE_BATTERY_CUT, 40.0, 38.5);
        can_seed(g, "conf-store-battery-cut", &f, 6);

        vesc_ping_encode(&f, 31, 253);
        can_seed(g, "ping", &f, 6);
        vesc_pong_encode(&f, 253, 31, 0);
        can_seed(g, "pong-2byte", &f, 6);
        vesc_pong_encode(&f, 253, 31, -1);
        can_seed(g, "pong-1byte", &f, 3);
        vesc_notify_boot_encode(&f, 31, "60_MK6_HP");
        can_seed(g, "notify-boot-long-name", &f, 6);
        vesc_notify_boot_encode(&f, 31, "60");
        can_seed(g, "notify-boot", &f, 6);

        vesc_status_encode(&(VescStatus){ .type = CAN_PACKET_STATUS, .sender = 31 }, &f);
        f.can_id = 0x123;
        can_seed(g, "standard-frame", &f, 6);
        f.can_id = CAN_EFF_FLAG | CAN_RTR_FLAG | 0x91F;
        can_seed(g, "rtr-frame", &f, 6);
        f.can_id = CAN_EFF_FLAG | (1u << 16) | 0x91F;
        can_seed(g, "high-id-bits", &f, 6);
        f.can_id = CAN_ERR_FLAG | 0x40;
        can_seed(g, "error-frame", &f, 6);
        vesc_cmd_encode(&f, 31, CAN_PACKET_SET_CURRENT, 1.0);
        f.len = 12;
        can_seed(g, "dlc-12", &f, 6);
}

/* ---------------------------------------------------- fuzz-reassembler */

typedef struct Rec {
        uint8_t b[4096];
        size_t n;
} Rec;

static void rec_frame(Rec *r, const struct can_frame *f, uint8_t dt) {
        uint8_t type = 0, addr = 0;
        size_t n = f->len < 8 ? f->len : 8;
        (void) vesc_can_id_unpack(f->can_id, &type, &addr);
        r->b[r->n++] = type;
        r->b[r->n++] = addr;
        r->b[r->n++] = f->len;
        r->b[r->n++] = dt;
        memcpy(r->b + r->n, f->data, n);
        r->n += n;
}

/* Append the whole frame sequence of a payload; returns the frame count. */
static size_t rec_payload(Rec *r, uint8_t dest, uint8_t sender, const uint8_t *p, size_t len) {
        VescSegmenter s;
        struct can_frame f;
        size_t n = 0;
        vesc_segmenter_init(&s, dest, sender, VESC_MODE_REPLY, p, len);
        while (vesc_segmenter_next(&s, &f) > 0) {
                rec_frame(r, &f, 0);
                n++;
        }
        return n;
}

static size_t frames_of(uint8_t dest, uint8_t sender, const uint8_t *p, size_t len, struct can_frame *out) {
        VescSegmenter s;
        size_t n = 0;
        vesc_segmenter_init(&s, dest, sender, VESC_MODE_REPLY, p, len);
        while (vesc_segmenter_next(&s, &out[n]) > 0)
                n++;
        return n;
}

static const VescFwVersion fw358 = {
        .major = 3, .minor = 58, .hw_name = "60",
        .uuid = { 0x3A, 0x00, 0x27, 0x00, 0x0A, 0x51, 0x35, 0x30, 0x38, 0x33, 0x32, 0x34 },
};

static VescValues sample_values(void) {
        return (VescValues){
                .temp_fet = 35.4, .temp_motor = 28.1, .current_motor = 12.34, .current_in = 5.67,
                .id = -0.5, .iq = 12.3, .duty = 0.456, .erpm = 15000, .v_in = 41.8,
                .ah = 1.2345, .ah_charged = 0.0123, .wh = 51.2, .wh_charged = 0.5,
                .tacho = 123456, .tacho_abs = 234567, .fault = 0, .pid_pos = 123.456789,
                .controller_id = 31, .temp_mos = { 35.1, 35.2, 35.3 }, .vd = -1.234, .vq = 20.5, .status = 1,
        };
}

static void gen_reassembler(Gen *g) {
        uint8_t p[512];
        struct can_frame fa[100], fb[100];
        Rec r;
        ssize_t n;

        begin(g, "fuzz-reassembler");

        n = vesc_fw_version_encode(&fw358, p, sizeof p);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, (size_t) n);
        emit(g, "fw-version-358", r.b, r.n);

        VescFwVersion v = fw358;
        v.major = 6, v.minor = 5;
        n = vesc_fw_version_encode(&v, p, sizeof p);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, (size_t) n);
        emit(g, "fw-version-605", r.b, r.n);

        VescValues val = sample_values();
        n = vesc_values_encode(&val, 5, 3, p, sizeof p);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, (size_t) n);
        emit(g, "get-values-503", r.b, r.n);

        for (size_t i = 0; i < sizeof p; i++)
                p[i] = (uint8_t) (i * 13 + 7);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, 512);
        emit(g, "max-512", r.b, r.n);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, 389);
        emit(g, "write-389", r.b, r.n);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, 259);
        rec_payload(&r, 0xFD, 31, p, 260);
        emit(g, "fill-boundary-259-260", r.b, r.n);

        /* Short replies: an erase ack, then a write ack with offset echo. */
        VescFlashReply fr = { .cmd = COMM_ERASE_NEW_APP, .ok = true };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        r.n = 0;
        rec_payload(&r, 0xFD, 31, p, (size_t) n);
        fr = (VescFlashReply){ .cmd = COMM_WRITE_NEW_APP_DATA, .ok = true, .has_offset = true, .offset = 384 };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        rec_payload(&r, 0xFD, 31, p, (size_t) n);
        emit(g, "short-replies", r.b, r.n);

        /* A short reply from another controller in the middle of a long one. */
        n = vesc_fw_version_encode(&fw358, p, sizeof p);
        size_t na = frames_of(0xFD, 31, p, (size_t) n, fa);
        uint8_t ack[] = { COMM_ERASE_NEW_APP, 1 };
        size_t nb = frames_of(0xFD, 32, ack, sizeof ack, fb);
        r.n = 0;
        rec_frame(&r, &fa[0], 0);
        rec_frame(&r, &fb[0], 0);
        for (size_t i = 1; i < na; i++)
                rec_frame(&r, &fa[i], 0);
        (void) nb;
        emit(g, "short-inside-long", r.b, r.n);

        /* Two controllers interleaving their FILL frames: must be rejected. */
        v = fw358;
        v.uuid[11] ^= 0xFF;
        n = vesc_fw_version_encode(&v, p, sizeof p);
        nb = frames_of(0xFD, 32, p, (size_t) n, fb);
        r.n = 0;
        for (size_t i = 0; i < na || i < nb; i++) {
                if (i < na)
                        rec_frame(&r, &fa[i], 0);
                if (i < nb)
                        rec_frame(&r, &fb[i], 0);
        }
        emit(g, "interleaved", r.b, r.n);

        /* Gap, duplicate, bad CRC, wrong length, stale. */
        r.n = 0;
        rec_frame(&r, &fa[0], 0);
        rec_frame(&r, &fa[2], 0);
        rec_frame(&r, &fa[3], 0);
        emit(g, "gap", r.b, r.n);
        r.n = 0;
        rec_frame(&r, &fa[0], 0);
        rec_frame(&r, &fa[1], 0);
        rec_frame(&r, &fa[1], 0);
        rec_frame(&r, &fa[2], 0);
        rec_frame(&r, &fa[3], 0);
        emit(g, "duplicate", r.b, r.n);
        r.n = 0;
        for (size_t i = 0; i < na; i++) {
                struct can_frame f = fa[i];
                if (i == na - 1)
                        f.data[5] ^= 1;
                rec_frame(&r, &f, 0);
        }
        emit(g, "bad-crc", r.b, r.n);
        r.n = 0;
        for (size_t i = 0; i < na; i++) {
                struct can_frame f = fa[i];
                if (i == na - 1)
                        f.data[3]++;
                rec_frame(&r, &f, 0);
        }
        emit(g, "bad-length", r.b, r.n);
        r.n = 0;
        for (size_t i = 0; i < na; i++)
                rec_frame(&r, &fa[i], i == 2 ? 60 : 1);
        emit(g, "stale", r.b, r.n);
        r.n = 0;
        rec_frame(&r, &fa[0], 0);
        rec_frame(&r, &fa[1], 0);
        for (size_t i = 0; i < na; i++)
                rec_frame(&r, &fa[i], 0);
        emit(g, "abandoned-then-complete", r.b, r.n);

        /* Frames for someone else, a DLC beyond 8, a LONG fill past 512. */
        n = vesc_fw_version_encode(&fw358, p, sizeof p);
        na = frames_of(0x10, 31, p, (size_t) n, fa);
        r.n = 0;
        for (size_t i = 0; i < na; i++)
                rec_frame(&r, &fa[i], 0);
        emit(g, "other-destination", r.b, r.n);
        r.n = 0;
        struct can_frame f = fb[0];
        f.len = 15;
        rec_frame(&r, &f, 0);
        emit(g, "dlc-15", r.b, r.n);
        r.n = 0;
        memset(&f, 0, sizeof f);
        f.can_id = vesc_can_id(CAN_PACKET_FILL_RX_BUFFER_LONG, 0xFD);
        f.len = 8;
        be16_put(f.data, 508);
        rec_frame(&r, &f, 0);
        emit(g, "long-past-512", r.b, r.n);
        r.n = 0;
        f.can_id = vesc_can_id(CAN_PACKET_PROCESS_RX_BUFFER, 0xFD);
        f.len = 6;
        f.data[0] = 31;
        f.data[1] = 1;
        be16_put(f.data + 2, 600);
        rec_frame(&r, &f, 0);
        emit(g, "process-600", r.b, r.n);
}

/* -------------------------------------------------------- fuzz-serial */

typedef struct Stream {
        uint8_t b[4096];
        size_t n;
} Stream;

static void st_frame(Stream *s, const uint8_t *p, size_t len) {
        ssize_t n = vesc_serial_encode(p, len, s->b + s->n, sizeof s->b - s->n);
        if (n > 0)
                s->n += (size_t) n;
}
static void st_bytes(Stream *s, const uint8_t *p, size_t len) {
        memcpy(s->b + s->n, p, len);
        s->n += len;
}
static void st_begin(Stream *s, uint16_t seed) {
        s->n = 0;
        s->b[s->n++] = (uint8_t) (seed >> 8);
        s->b[s->n++] = (uint8_t) seed;
}

static void gen_serial(Gen *g) {
        Stream s;
        uint8_t p[512];

        begin(g, "fuzz-serial");

        static const uint8_t fwv[] = { COMM_FW_VERSION }, gv[] = { COMM_GET_VALUES }, ping[] = { COMM_PING_CAN },
                             fwd[] = { COMM_FORWARD_CAN, 0x45, COMM_GET_VALUES }, ack[] = { 49 };
        st_begin(&s, 1);
        st_frame(&s, fwv, 1);
        emit(g, "fw-version-request", s.b, s.n);
        st_begin(&s, 2);
        st_frame(&s, gv, 1);
        st_frame(&s, ping, 1);
        st_frame(&s, fwd, sizeof fwd);
        st_frame(&s, ack, 1);
        emit(g, "spec-examples", s.b, s.n);

        VescMcconfTemp t = { .forward_can = 1, .ack = 1, .current_min_scale = 1.0f, .current_max_scale = 0.8f,
                             .min_erpm = -10.0f, .max_erpm = 12.5f, .min_duty = 0.005f, .max_duty = 0.95f,
                             .watt_min = -1.5e6f, .watt_max = 1.5e6f };
        ssize_t n = vesc_mcconf_temp_encode(&t, COMM_SET_MCCONF_TEMP_SETUP, p, sizeof p);
        st_begin(&s, 3);
        st_frame(&s, p, (size_t) n);
        emit(g, "mcconf-temp-setup", s.b, s.n);

        for (size_t i = 0; i < sizeof p; i++)
                p[i] = (uint8_t) (i * 31 + 1);
        st_begin(&s, 4);
        st_frame(&s, p, 255);
        emit(g, "len-255-short-form", s.b, s.n);
        st_begin(&s, 5);
        st_frame(&s, p, 256);
        emit(g, "len-256-long-form", s.b, s.n);
        st_begin(&s, 6);
        st_frame(&s, p, 512);
        emit(g, "len-512", s.b, s.n);

        /* 255 in the 16-bit form: accepted by the firmware (only < 255 is refused). */
        st_begin(&s, 7);
        uint8_t hdr255[] = { 0x03, 0x00, 0xFF };
        st_bytes(&s, hdr255, 3);
        st_bytes(&s, p, 255);
        uint8_t tail[3];
        be16_put(tail, crc16(p, 255));
        tail[2] = 0x03;
        st_bytes(&s, tail, 3);
        emit(g, "len-255-long-form", s.b, s.n);

        /* 16-bit length 254: refused; the frame after it must still be found. */
        st_begin(&s, 8);
        uint8_t hdr254[] = { 0x03, 0x00, 0xFE };
        st_bytes(&s, hdr254, 3);
        st_bytes(&s, p, 254);
        be16_put(tail, crc16(p, 254));
        st_bytes(&s, tail, 3);
        st_frame(&s, gv, 1);
        emit(g, "len-254-long-form-refused", s.b, s.n);

        st_begin(&s, 9);
        uint8_t garbage[] = { 0x00, 0x02, 0x00, 0x03, 0xFF, 0x02, 0x05, 0x03, 0x02 };
        st_bytes(&s, garbage, sizeof garbage);
        st_frame(&s, fwd, sizeof fwd);
        emit(g, "garbage-then-frame", s.b, s.n);

        st_begin(&s, 10);
        size_t at = s.n;
        st_frame(&s, fwd, sizeof fwd);
        s.b[at + 5] ^= 0x40; /* CRC */
        st_frame(&s, fwd, sizeof fwd);
        at = s.n;
        st_frame(&s, gv, 1);
        s.b[s.n - 1] = 0x04; /* stop byte */
        st_frame(&s, ping, 1);
        emit(g, "bad-crc-bad-stop", s.b, s.n);

        st_begin(&s, 11);
        uint8_t zero[] = { 0x02, 0x00, 0x00, 0x00, 0x03 };
        st_bytes(&s, zero, sizeof zero);
        uint8_t big[] = { 0x03, 0x02, 0x01 }; /* 513 */
        st_bytes(&s, big, sizeof big);
        st_frame(&s, fwv, 1);
        emit(g, "zero-and-513", s.b, s.n);

        /* A frame that starts in the middle of a long frame's payload. */
        st_begin(&s, 12);
        uint8_t inner[300];
        memset(inner, 0x55, sizeof inner);
        ssize_t k = vesc_serial_encode(fwd, sizeof fwd, inner + 100, sizeof inner - 100);
        (void) k;
        st_frame(&s, inner, sizeof inner);
        emit(g, "nested", s.b, s.n);
}

/* --------------------------------------------------------- fuzz-comm */

static void gen_comm(Gen *g) {
        uint8_t p[600];
        ssize_t n;

        begin(g, "fuzz-comm");

        static const struct { uint8_t major, minor; const char *name; } fws[] = {
                { 3, 58, "fw-version-358" }, { 5, 0, "fw-version-500" }, { 5, 2, "fw-version-502" },
                { 5, 3, "fw-version-503" }, { 6, 0, "fw-version-600" }, { 6, 5, "fw-version-605" },
                { 7, 0, "fw-version-700" },
        };
        for (size_t i = 0; i < sizeof fws / sizeof fws[0]; i++) {
                VescFwVersion v = fw358;
                v.major = fws[i].major;
                v.minor = fws[i].minor;
                v.test_build = 0;
                v.hw_type = 0;
                v.qml_hw = 1;
                v.nrf_flags = 3;
                v.hw_crc = 0xDEADBEEF;
                n = vesc_fw_version_encode(&v, p, sizeof p);
                emit(g, fws[i].name, p, (size_t) n);
        }
        VescFwVersion v = fw358;
        v.major = 6, v.minor = 6;
        strcpy(v.hw_name, "STORMCORE_100D_V2");
        strcpy(v.fw_name, "no_hw_limits");
        v.test_build = 3;
        n = vesc_fw_version_encode(&v, p, sizeof p);
        emit(g, "fw-version-606-named", p, (size_t) n);
        emit(g, "fw-version-truncated", p, 10);

        VescValues val = sample_values();
        n = vesc_values_encode(&val, 3, 58, p, sizeof p);
        emit(g, "get-values-358", p, (size_t) n);
        n = vesc_values_encode(&val, 3, 60, p, sizeof p);
        emit(g, "get-values-360", p, (size_t) n);
        n = vesc_values_encode(&val, 5, 3, p, sizeof p);
        emit(g, "get-values-503", p, (size_t) n);
        n = vesc_values_selective_encode(&val, 0x00008183, 5, 3, p, sizeof p);
        emit(g, "get-values-selective", p, (size_t) n);
        n = vesc_values_selective_encode(&val, 0x003FFFFF, 3, 58, p, sizeof p);
        emit(g, "get-values-selective-all-358", p, (size_t) n);
        n = vesc_get_values_selective_request(0x00008183, p, sizeof p);
        emit(g, "get-values-selective-request", p, (size_t) n);

        VescMcconfTemp t = { .forward_can = 1, .ack = 1, .current_min_scale = 1.0f, .current_max_scale = 0.8f,
                             .min_erpm = -10.0f, .max_erpm = 12.5f, .min_duty = 0.005f, .max_duty = 0.95f,
                             .watt_min = -1.5e6f, .watt_max = 1.5e6f };
        n = vesc_mcconf_temp_encode(&t, COMM_SET_MCCONF_TEMP_SETUP, p, sizeof p);
        emit(g, "set-mcconf-temp-setup", p, (size_t) n);
        t.has_in_current = true;
        t.in_current_min = -20;
        t.in_current_max = 60;
        t.min_erpm = -50000;
        t.max_erpm = 50000;
        n = vesc_mcconf_temp_encode(&t, COMM_SET_MCCONF_TEMP, p, sizeof p);
        emit(g, "set-mcconf-temp-in-current", p, (size_t) n);
        VescMcconfTempReply mt = { 1, 1, -50000, 50000, 0.005f, 0.95f, -1.5e6f, 1.5e6f, -20, 60, 14, 3.0f, 0.083f };
        n = vesc_get_mcconf_temp_encode(&mt, p, sizeof p);
        emit(g, "get-mcconf-temp", p, (size_t) n);

        static const struct { VescConfKind kind; uint8_t cmd, major, minor; const char *name; } confs[] = {
                { VESC_CONF_APP, COMM_GET_APPCONF, 3, 58, "get-appconf-358" },
                { VESC_CONF_APP, COMM_GET_APPCONF, 6, 5, "get-appconf-605" },
                { VESC_CONF_MC, COMM_GET_MCCONF, 3, 58, "get-mcconf-358" },
                { VESC_CONF_MC, COMM_SET_MCCONF, 7, 0, "set-mcconf-700" },
                { VESC_CONF_APP, COMM_SET_APPCONF_NO_STORE, 6, 6, "set-appconf-no-store-606" },
        };
        for (size_t i = 0; i < sizeof confs / sizeof confs[0]; i++) {
                uint8_t data[512];
                size_t len = vesc_conf_size(confs[i].kind, confs[i].major, confs[i].minor);
                memset(data, 0, sizeof data);
                be32_put(data, vesc_conf_signature(confs[i].kind, confs[i].major, confs[i].minor));
                data[4] = 31;
                n = vesc_conf_blob_encode(confs[i].cmd, data, len, p, sizeof p);
                emit(g, confs[i].name, p, (size_t) n);
        }

        VescFlashReply fr = { .cmd = COMM_ERASE_NEW_APP, .ok = true };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        emit(g, "erase-new-app-ok", p, (size_t) n);
        fr = (VescFlashReply){ .cmd = COMM_WRITE_NEW_APP_DATA, .ok = true, .has_offset = true, .offset = 393216 };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        emit(g, "write-reply-offset", p, (size_t) n);
        fr = (VescFlashReply){ .cmd = COMM_WRITE_NEW_APP_DATA, .ok = false };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        emit(g, "write-reply-failed-358", p, (size_t) n);
        fr = (VescFlashReply){ .cmd = COMM_ERASE_BOOTLOADER, .ok = true };
        n = vesc_flash_reply_encode(&fr, p, sizeof p);
        emit(g, "erase-bootloader-ok", p, (size_t) n);
        n = vesc_erase_new_app_encode(524280, p, sizeof p);
        emit(g, "erase-new-app-request", p, (size_t) n);
        uint8_t chunk[384];
        for (size_t i = 0; i < sizeof chunk; i++)
                chunk[i] = (uint8_t) (i ^ 0xA5);
        n = vesc_write_new_app_encode(768, chunk, sizeof chunk, p, sizeof p);
        emit(g, "write-new-app-request", p, (size_t) n);
        n = vesc_app_disable_output_encode(true, -1, p, sizeof p);
        emit(g, "app-disable-output", p, (size_t) n);
        n = vesc_simple_encode(COMM_FW_VERSION, p, sizeof p);
        emit(g, "fw-version-request", p, (size_t) n);
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s TESTS_FUZZ_DIR\n", argv[0]);
                return EXIT_FAILURE;
        }

        char path[4096];
        snprintf(path, sizeof path, "%s/corpus.mk", argv[1]);
        Gen g = { .top = argv[1], .mk = fopen(path, "we") };
        if (!g.mk) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return EXIT_FAILURE;
        }
        fprintf(g.mk, "# Generated by tests/fuzz/gen-corpus; do not edit.\nFUZZ_CORPUS =");
        gen_can(&g);
        gen_reassembler(&g);
        gen_serial(&g);
        gen_comm(&g);
        fprintf(g.mk, "\n");
        if (fclose(g.mk) != 0)
                g.failed = 1;
        return g.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
