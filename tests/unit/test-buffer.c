/* Unit tests for daemon/proto/vesc-buffer: the segmenter (spec §8.1 sender
 * algorithm) and vescd's strict reassembler (§8.3, DESIGN.md "Receive
 * models").
 *
 * Payloads are the pattern P(n): byte i = i & 0xFF, so every frame's bytes
 * can be written by hand (byte at offset k is k & 0xFF).  CRCs of P(n) were
 * computed with a bitwise CRC-16/XMODEM in a scratch Python script:
 *   P(7) D90C  P(8) 26B3  P(13) 84D1  P(14) D1A1  P(18) DB13  P(19) 5B65
 *   P(20) ACCC  P(255) 0530  P(259) 2130  P(260) 3420  P(265) 2DDA
 *   P(389) E56E  P(512) 40DA
 * The frame model below (spec_frames) is the §8.1 algorithm written out in
 * the test, independent of the code under test. */

#include <errno.h>
#include <linux/can.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "proto/vesc-buffer.h"
#include "test-util.h"

#define EID(type, addr) (CAN_EFF_FLAG | ((canid_t) (type) << 8) | (canid_t) (addr))

#define ME 0xFD     /* vescd (§19) */
#define VESC 0x1F   /* controller 31 (§19) */
#define OTHER 0x4A  /* controller 74 */
#define T0 (UINT64_C(10) * 1000 * 1000)
#define TIMEOUT VESC_REASSEMBLER_TIMEOUT_USEC
#define MAX_FRAMES 90

static uint8_t P[VESC_BUFFER_MAX];

static uint16_t crc_of_P(size_t n) {
        switch (n) {
        case 7: return 0xD90C;
        case 8: return 0x26B3;
        case 13: return 0x84D1;
        case 14: return 0xD1A1;
        case 18: return 0xDB13;
        case 19: return 0x5B65;
        case 20: return 0xACCC;
        case 255: return 0x0530;
        case 259: return 0x2130;
        case 260: return 0x3420;
        case 265: return 0x2DDA;
        case 389: return 0xE56E;
        case 512: return 0x40DA;
        }
        fail_msg("no precomputed CRC for P(%zu)", n);
        return 0;
}

/* §19: the 19-byte FW_VERSION reply of a 3.58 "60" controller, CRC 0x7CF2. */
static const uint8_t fw358[] = {
        0x00, 0x03, 0x3A, 0x36, 0x30, 0x00, 0x3A, 0x00, 0x27, 0x00,
        0x0A, 0x51, 0x35, 0x30, 0x38, 0x33, 0x32, 0x34, 0x00,
};

/* ------------------------------------------------- frame builders */

static struct can_frame mk_fill(uint8_t dest, uint8_t off, const uint8_t *d, unsigned n) {
        uint8_t b[8] = { off };
        memcpy(b + 1, d, n);
        return tu_frame(EID(5, dest), b, 1 + n);
}
static struct can_frame mk_long(uint8_t dest, uint16_t off, const uint8_t *d, unsigned n) {
        uint8_t b[8] = { (uint8_t) (off >> 8), (uint8_t) off };
        memcpy(b + 2, d, n);
        return tu_frame(EID(6, dest), b, 2 + n);
}
static struct can_frame mk_process(uint8_t dest, uint8_t sender, uint8_t mode, uint16_t len, uint16_t crc) {
        uint8_t b[6] = { sender, mode, (uint8_t) (len >> 8), (uint8_t) len, (uint8_t) (crc >> 8), (uint8_t) crc };
        return tu_frame(EID(7, dest), b, 6);
}
static struct can_frame mk_short(uint8_t dest, uint8_t sender, uint8_t mode, const uint8_t *d, unsigned n) {
        uint8_t b[8] = { sender, mode };
        memcpy(b + 2, d, n);
        return tu_frame(EID(8, dest), b, 2 + n);
}
/* A frame with a given DLC but otherwise plausible content. */
static struct can_frame with_dlc(struct can_frame f, unsigned dlc) {
        f.can_dlc = (uint8_t) dlc;
        return f;
}

/* §8.1 sender algorithm: SHORT if len <= 6; else FILL at 0, 7, ... while
 * offset <= 255 (and < len), then FILL_LONG in steps of 6, then PROCESS.
 * Without the PROCESS frame when crc < 0. */
static size_t spec_frames(const uint8_t *p, size_t len, uint8_t dest, uint8_t sender, uint8_t mode, long crc,
                          struct can_frame *out) {
        size_t n = 0, off = 0;
        if (len <= 6) {
                out[n++] = mk_short(dest, sender, mode, p, (unsigned) len);
                return n;
        }
        while (off < len && off <= 255) {
                unsigned k = (unsigned) MIN((size_t) 7, len - off);
                out[n++] = mk_fill(dest, (uint8_t) off, p + off, k);
                off += 7;
        }
        while (off < len) {
                unsigned k = (unsigned) MIN((size_t) 6, len - off);
                out[n++] = mk_long(dest, (uint16_t) off, p + off, k);
                off += 6;
        }
        if (crc >= 0)
                out[n++] = mk_process(dest, sender, mode, (uint16_t) len, (uint16_t) crc);
        return n;
}

static int setup_pattern(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof P; i++)
                P[i] = (uint8_t) i;
        return 0;
}

/* ----------------------------------------------------- frame count */

static void test_frame_count(void **state) {
        (void) state;
        static const struct { size_t len, frames; } rows[] = {
                { 0, 0 },     /* invalid */
                { 1, 1 },     /* SHORT */
                { 6, 1 },     /* SHORT, the largest */
                { 7, 2 },     /* FILL 0 + PROCESS */
                { 8, 3 },     /* FILL 0, 7 + PROCESS */
                { 13, 3 }, { 14, 3 },
                { 15, 4 },    /* FILL 0, 7, 14 + PROCESS */
                { 255, 38 },  /* 37 FILLs (0..252) + PROCESS */
                { 259, 38 },  /* last FILL covers 252..258 */
                { 260, 39 },  /* + one LONG at 259 */
                { 265, 39 },  /* LONG 259..264 */
                { 266, 40 },
                { 389, 60 },  /* §8.1: 37 + 22 + 1 */
                { 512, 81 },  /* §8.1: 37 + 43 + 1 */
                { 513, 0 },   /* over the 512-byte buffer */
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char name[32];
                snprintf(name, sizeof name, "frame count len %zu", rows[i].len);
                assert_int(name, vesc_buffer_frame_count(rows[i].len), rows[i].frames);
        }
}

/* ------------------------------------------------------- segmenter */

typedef struct SegVector {
        size_t len, frames;
        canid_t first_id;
        unsigned first_dlc;
        uint8_t first[8];
        canid_t last_id;   /* the last data frame (before PROCESS) */
        unsigned last_dlc;
        uint8_t last[8];
} SegVector;

/* dest 31, sender 253, mode 0; P(n) payload.  PROCESS (when present) is
 * 0000071F FD 00 <len BE> <CRC BE>, checked separately. */
static const SegVector seg_vectors[] = {
        /* len 1: SHORT 0000081F: sender FD, mode 00, payload 00. */
        { 1, 1, 0x8000081F, 3, { 0xFD, 0x00, 0x00 }, 0x8000081F, 3, { 0xFD, 0x00, 0x00 } },
        /* len 6: SHORT with DLC 8. */
        { 6, 1, 0x8000081F, 8, { 0xFD, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05 },
          0x8000081F, 8, { 0xFD, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05 } },
        /* len 7: FILL 0000051F offset 00 + bytes 0..6. */
        { 7, 2, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 } },
        /* len 8: last FILL offset 07 with the single byte 07. */
        { 8, 3, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 2, { 0x07, 0x07 } },
        /* len 13: last FILL offset 07, bytes 7..12. */
        { 13, 3, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 7, { 0x07, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C } },
        /* len 14: last FILL offset 07, bytes 7..13 (full). */
        { 14, 3, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 8, { 0x07, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D } },
        /* len 255: last FILL at 252 (0xFC) carries bytes 252..254 = FC FD FE. */
        { 255, 38, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 4, { 0xFC, 0xFC, 0xFD, 0xFE } },
        /* len 259: last FILL at 252 covers 252..258 = FC FD FE FF 00 01 02. */
        { 259, 38, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000051F, 8, { 0xFC, 0xFC, 0xFD, 0xFE, 0xFF, 0x00, 0x01, 0x02 } },
        /* len 260: one FILL_LONG 0000061F at offset 259 = 01 03, byte 259 & FF = 03. */
        { 260, 39, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000061F, 3, { 0x01, 0x03, 0x03 } },
        /* len 265: LONG at 259 with bytes 259..264 = 03..08. */
        { 265, 39, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000061F, 8, { 0x01, 0x03, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 } },
        /* len 389: 22nd LONG at 259 + 21*6 = 385 = 01 81, bytes 385..388 = 81..84. */
        { 389, 60, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000061F, 6, { 0x01, 0x81, 0x81, 0x82, 0x83, 0x84 } },
        /* len 512: 43rd LONG at 259 + 42*6 = 511 = 01 FF, byte 511 & FF = FF. */
        { 512, 81, 0x8000051F, 8, { 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
          0x8000061F, 3, { 0x01, 0xFF, 0xFF } },
};

static size_t run_segmenter(uint8_t dest, uint8_t sender, VescSendMode mode, const uint8_t *p, size_t len,
                            struct can_frame *out) {
        VescSegmenter s;
        assert_int("segmenter init", vesc_segmenter_init(&s, dest, sender, mode, p, len), 0);
        size_t n = 0;
        for (;;) {
                struct can_frame f;
                memset(&f, 0xA5, sizeof f);
                int r = vesc_segmenter_next(&s, &f);
                assert_true(r == 0 || r == 1);
                if (r == 0)
                        break;
                assert_true(n < MAX_FRAMES);
                out[n++] = f;
        }
        /* Stays complete. */
        struct can_frame f;
        assert_int("next after done", vesc_segmenter_next(&s, &f), 0);
        return n;
}

static void test_segmenter(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(seg_vectors); i++) {
                const SegVector *v = &seg_vectors[i];
                struct can_frame got[MAX_FRAMES], model[MAX_FRAMES];
                char name[64];

                size_t n = run_segmenter(VESC, ME, VESC_MODE_PROCESS_REPLY, P, v->len, got);
                snprintf(name, sizeof name, "len %zu frame count", v->len);
                assert_int(name, n, v->frames);

                snprintf(name, sizeof name, "len %zu first frame", v->len);
                assert_frame(name, &got[0], v->first_id, v->first, v->first_dlc);

                size_t last_data = v->frames == 1 ? 0 : v->frames - 2;
                snprintf(name, sizeof name, "len %zu last data frame", v->len);
                assert_frame(name, &got[last_data], v->last_id, v->last, v->last_dlc);

                if (v->frames > 1) {
                        uint16_t crc = crc_of_P(v->len);
                        uint8_t proc[6] = { 0xFD, 0x00, (uint8_t) (v->len >> 8), (uint8_t) v->len,
                                            (uint8_t) (crc >> 8), (uint8_t) crc };
                        snprintf(name, sizeof name, "len %zu PROCESS", v->len);
                        assert_frame(name, &got[n - 1], 0x8000071F, proc, 6);
                }

                /* Every frame as the §8.1 model builds it. */
                size_t m = spec_frames(P, v->len, VESC, ME, 0, v->len > 6 ? crc_of_P(v->len) : -1, model);
                assert_int("model count", m, n);
                for (size_t k = 0; k < n; k++) {
                        snprintf(name, sizeof name, "len %zu frame %zu", v->len, k);
                        assert_frame(name, &got[k], model[k].can_id, model[k].data, model[k].can_dlc);
                }
        }
}

static void test_segmenter_invalid(void **state) {
        (void) state;
        VescSegmenter s;
        assert_int("len 0", vesc_segmenter_init(&s, VESC, ME, 0, P, 0), -EINVAL);
        static uint8_t big[VESC_BUFFER_MAX + 1];
        assert_int("len 513", vesc_segmenter_init(&s, VESC, ME, 0, big, sizeof big), -EINVAL);
}

/* §19 COMM_FW_VERSION over CAN, both directions, and the selective request. */
static void test_segmenter_examples(void **state) {
        (void) state;
        struct can_frame got[MAX_FRAMES];

        /* Request: ID 0000081F, data FD 00 00 (sender 253, mode 0, command 0). */
        size_t n = run_segmenter(VESC, ME, VESC_MODE_PROCESS_REPLY, (const uint8_t[]){ 0x00 }, 1, got);
        assert_int("request frames", n, 1);
        assert_frame("§19 FW_VERSION request", &got[0], 0x8000081F, ((const uint8_t[]){ 0xFD, 0x00, 0x00 }), 3);

        /* Reply from 31 to 253, mode 1: exactly the four frames of §19. */
        n = run_segmenter(ME, VESC, VESC_MODE_REPLY, fw358, sizeof fw358, got);
        assert_int("reply frames", n, 4);
        assert_frame("§19 FILL 0", &got[0], 0x800005FD,
                     ((const uint8_t[]){ 0x00, 0x00, 0x03, 0x3A, 0x36, 0x30, 0x00, 0x3A }), 8);
        assert_frame("§19 FILL 7", &got[1], 0x800005FD,
                     ((const uint8_t[]){ 0x07, 0x00, 0x27, 0x00, 0x0A, 0x51, 0x35, 0x30 }), 8);
        assert_frame("§19 FILL 14", &got[2], 0x800005FD, ((const uint8_t[]){ 0x0E, 0x38, 0x33, 0x32, 0x34, 0x00 }), 6);
        assert_frame("§19 PROCESS", &got[3], 0x800007FD, ((const uint8_t[]){ 0x1F, 0x01, 0x00, 0x13, 0x7C, 0xF2 }), 6);

        /* GET_VALUES_SELECTIVE mask 0x00008183: ID 0000081F, FD 00 32 00 00 81 83. */
        n = run_segmenter(VESC, ME, VESC_MODE_PROCESS_REPLY, (const uint8_t[]){ 0x32, 0x00, 0x00, 0x81, 0x83 }, 5, got);
        assert_int("selective frames", n, 1);
        assert_frame("§19 selective", &got[0], 0x8000081F,
                     ((const uint8_t[]){ 0xFD, 0x00, 0x32, 0x00, 0x00, 0x81, 0x83 }), 7);

        /* Mode 2 (no reply) goes in byte 1. */
        n = run_segmenter(VESC, ME, VESC_MODE_PROCESS_NOREPLY, (const uint8_t[]){ 0x01 }, 1, got);
        assert_frame("JUMP mode 2", &got[0], 0x8000081F, ((const uint8_t[]){ 0xFD, 0x02, 0x01 }), 3);
}

/* ----------------------------------------------------- reassembler */

static int feed(VescReassembler *r, const struct can_frame *f, uint64_t t, VescMessage *m) {
        memset(m, 0, sizeof *m);
        return vesc_reassembler_feed(r, f, t, m);
}

/* Feed frames that must all return 0 except the last, which must deliver. */
static void feed_expect_message(const char *name, VescReassembler *r, const struct can_frame *frames, size_t n,
                                uint64_t t, uint8_t sender, uint8_t mode, const uint8_t *payload, size_t len) {
        VescMessage m;
        for (size_t i = 0; i + 1 < n; i++)
                assert_int(name, feed(r, &frames[i], t, &m), 0);
        assert_int(name, feed(r, &frames[n - 1], t, &m), 1);
        assert_int(name, m.sender, sender);
        assert_int(name, m.mode, mode);
        assert_non_null(m.payload);
        assert_bytes(name, m.payload, m.len, payload, len);
}

static void deliver_fw358(const char *name, VescReassembler *r, uint64_t t) {
        struct can_frame fr[4];
        size_t n = spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF2, fr);
        assert_int("fw358 frames", n, 4);
        feed_expect_message(name, r, fr, n, t, VESC, 1, fw358, sizeof fw358);
}

static void test_reassembler_short(void **state) {
        (void) state;
        VescReassembler r;
        vesc_reassembler_init(&r, ME, TIMEOUT);
        /* A 2-byte ERASE_NEW_APP ack `02 01` from 31: 000008FD 1F 01 02 01. */
        struct can_frame f = mk_short(ME, VESC, 1, (const uint8_t[]){ 0x02, 0x01 }, 2);
        feed_expect_message("short ack", &r, &f, 1, T0, VESC, 1, (const uint8_t[]){ 0x02, 0x01 }, 2);
        /* Largest short: 6 bytes. */
        f = mk_short(ME, OTHER, 1, P, 6);
        feed_expect_message("short 6", &r, &f, 1, T0, OTHER, 1, P, 6);
        assert_int("messages", r.stats.messages, 2);
}

static void test_reassembler_long(void **state) {
        (void) state;
        VescReassembler r;
        vesc_reassembler_init(&r, ME, TIMEOUT);
        deliver_fw358("§19 FW_VERSION reply", &r, T0);

        static const size_t lens[] = { 7, 8, 13, 14, 255, 259, 260, 265, 389, 512 };
        for (size_t i = 0; i < ELEMENTSOF(lens); i++) {
                struct can_frame fr[MAX_FRAMES];
                char name[32];
                size_t n = spec_frames(P, lens[i], ME, OTHER, 1, crc_of_P(lens[i]), fr);
                snprintf(name, sizeof name, "P(%zu)", lens[i]);
                feed_expect_message(name, &r, fr, n, T0, OTHER, 1, P, lens[i]);
        }
        assert_int("messages", r.stats.messages, 1 + ELEMENTSOF(lens));
        assert_int("crc errors", r.stats.crc_errors, 0);
        assert_int("order errors", r.stats.order_errors, 0);
        assert_int("bound errors", r.stats.bound_errors, 0);
        assert_int("length errors", r.stats.length_errors, 0);
        assert_int("timeouts", r.stats.timeouts, 0);
}

/* Error scenarios: frames[error_at] must return `expect` and bump the named
 * counter by exactly one; no frame may deliver; afterwards a good transfer
 * is delivered (recovery). */
typedef struct ErrorScenario {
        const char *name;
        size_t (*build)(struct can_frame *out);
        size_t error_at;
        int expect;
        size_t counter;   /* offsetof(VescReassemblerStats, ...) */
} ErrorScenario;

static size_t build_bad_crc(struct can_frame *o) {
        /* P(19) with CRC 5B65 ^ 0001. */
        return spec_frames(P, 19, ME, VESC, 1, 0x5B64, o);
}
static size_t build_fw358_bad_crc(struct can_frame *o) {
        /* §19 frames with the CRC's low byte F2 -> F3. */
        return spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF3, o);
}
static size_t build_short_dlc1(struct can_frame *o) {
        /* SHORT with only the sender byte: no mode, no payload. */
        o[0] = with_dlc(mk_short(ME, VESC, 1, P, 1), 1);
        return 1;
}
static size_t build_short_dlc0(struct can_frame *o) {
        o[0] = with_dlc(mk_short(ME, VESC, 1, P, 1), 0);
        return 1;
}
static size_t build_fill_dlc0(struct can_frame *o) {
        /* FILL 0, then a FILL without even its offset byte, then the rest. */
        size_t n = spec_frames(P, 19, ME, VESC, 1, 0x5B65, o);
        o[1] = with_dlc(o[1], 0);
        return n;
}
static size_t build_fill_dlc9(struct can_frame *o) {
        size_t n = spec_frames(P, 19, ME, VESC, 1, 0x5B65, o);
        o[1] = with_dlc(o[1], 9);
        return n;
}
static size_t build_long_dlc1(struct can_frame *o) {
        /* P(260): 37 FILLs, then a LONG with half an offset. */
        size_t n = spec_frames(P, 260, ME, VESC, 1, 0x3420, o);
        o[37] = with_dlc(o[37], 1);
        return n;
}
static size_t build_process_dlc5(struct can_frame *o) {
        size_t n = spec_frames(P, 19, ME, VESC, 1, 0x5B65, o);
        o[3] = with_dlc(o[3], 5);
        return n;
}
static size_t build_long_past_512(struct can_frame *o) {
        /* 511 bytes in order (37 FILLs + 42 LONGs up to offset 505 ending at
         * 510), then a LONG at 511 with 2 bytes: would end at 513. */
        size_t n = spec_frames(P, 511, ME, VESC, 1, -1, o);
        assert_int("511 fills", n, 79);
        o[n++] = mk_long(ME, 511, (const uint8_t[]){ 0xFF, 0x00 }, 2);
        o[n++] = mk_process(ME, VESC, 1, 513, 0);
        return n;
}
static size_t build_long_at_512(struct can_frame *o) {
        /* All 512 bytes in order, then one more byte at offset 512. */
        size_t n = spec_frames(P, 512, ME, VESC, 1, -1, o);
        assert_int("512 fills", n, 80);
        o[n++] = mk_long(ME, 512, (const uint8_t[]){ 0x00 }, 1);
        o[n++] = mk_process(ME, VESC, 1, 512, 0x40DA);
        return n;
}
static size_t build_process_513(struct can_frame *o) {
        size_t n = spec_frames(P, 19, ME, VESC, 1, -1, o);
        o[n++] = mk_process(ME, VESC, 1, 513, 0x5B65);
        return n;
}
static size_t build_gap(struct can_frame *o) {
        /* FILL 0, FILL 14 (7 missing), PROCESS. */
        struct can_frame all[4];
        spec_frames(P, 19, ME, VESC, 1, 0x5B65, all);
        o[0] = all[0], o[1] = all[2], o[2] = all[3];
        return 3;
}
static size_t build_duplicate(struct can_frame *o) {
        /* FILL 0, 7, 7, 14, PROCESS. */
        struct can_frame all[4];
        spec_frames(P, 19, ME, VESC, 1, 0x5B65, all);
        o[0] = all[0], o[1] = all[1], o[2] = all[1], o[3] = all[2], o[4] = all[3];
        return 5;
}
static size_t build_starts_at_7(struct can_frame *o) {
        /* No FILL 0: FILL 7, 14, PROCESS. */
        struct can_frame all[4];
        spec_frames(P, 19, ME, VESC, 1, 0x5B65, all);
        o[0] = all[1], o[1] = all[2], o[2] = all[3];
        return 3;
}
static size_t build_backwards(struct can_frame *o) {
        /* FILL 0, 7, 14, then 7 again, PROCESS. */
        struct can_frame all[4];
        spec_frames(P, 19, ME, VESC, 1, 0x5B65, all);
        o[0] = all[0], o[1] = all[1], o[2] = all[2], o[3] = all[1], o[4] = all[3];
        return 5;
}
static size_t build_swapped(struct can_frame *o) {
        /* FILL 0, 14, 7, PROCESS: out of order (fails at 14). */
        struct can_frame all[4];
        spec_frames(P, 19, ME, VESC, 1, 0x5B65, all);
        o[0] = all[0], o[1] = all[2], o[2] = all[1], o[3] = all[3];
        return 4;
}
static size_t build_long_skip(struct can_frame *o) {
        /* P(271): 37 FILLs (259 bytes), then LONG 265 instead of 259. */
        size_t n = spec_frames(P, 271, ME, VESC, 1, -1, o);
        assert_int("271 fills", n, 39);
        o[37] = o[38];
        o[38] = mk_process(ME, VESC, 1, 271, 0);
        return 39;
}
static size_t build_long_duplicate(struct can_frame *o) {
        size_t n = spec_frames(P, 271, ME, VESC, 1, -1, o);
        o[38] = o[37];   /* LONG 259 twice */
        o[39] = mk_process(ME, VESC, 1, 271, 0);
        return n + 1;
}
static size_t build_process_short_len(struct can_frame *o) {
        /* 19 bytes received; PROCESS claims 18 with the right CRC of P(18). */
        size_t n = spec_frames(P, 19, ME, VESC, 1, -1, o);
        o[n++] = mk_process(ME, VESC, 1, 18, 0xDB13);
        return n;
}
static size_t build_process_long_len(struct can_frame *o) {
        /* 19 bytes received; PROCESS claims 20 (CRC of P(20)). */
        size_t n = spec_frames(P, 19, ME, VESC, 1, -1, o);
        o[n++] = mk_process(ME, VESC, 1, 20, 0xACCC);
        return n;
}
static size_t build_process_alone(struct can_frame *o) {
        /* PROCESS for 7 bytes that never came. */
        o[0] = mk_process(ME, VESC, 1, 7, 0xD90C);
        return 1;
}

#define STAT(f) offsetof(VescReassemblerStats, f)

static const ErrorScenario error_scenarios[] = {
        { "bad crc", build_bad_crc, 3, -EBADMSG, STAT(crc_errors) },
        { "§19 bad crc 7CF3", build_fw358_bad_crc, 3, -EBADMSG, STAT(crc_errors) },
        { "short dlc 1", build_short_dlc1, 0, -EBADMSG, STAT(bound_errors) },
        { "short dlc 0", build_short_dlc0, 0, -EBADMSG, STAT(bound_errors) },
        { "fill dlc 0", build_fill_dlc0, 1, -EBADMSG, STAT(bound_errors) },
        { "fill dlc 9", build_fill_dlc9, 1, -EBADMSG, STAT(bound_errors) },
        { "long dlc 1", build_long_dlc1, 37, -EBADMSG, STAT(bound_errors) },
        { "process dlc 5", build_process_dlc5, 3, -EBADMSG, STAT(bound_errors) },
        { "long fill past 512", build_long_past_512, 79, -EMSGSIZE, STAT(bound_errors) },
        { "long at offset 512", build_long_at_512, 80, -EMSGSIZE, STAT(bound_errors) },
        { "process length 513", build_process_513, 3, -EMSGSIZE, STAT(bound_errors) },
        { "gap", build_gap, 1, -EPROTO, STAT(order_errors) },
        { "duplicate fill", build_duplicate, 2, -EPROTO, STAT(order_errors) },
        { "first offset 7", build_starts_at_7, 0, -EPROTO, STAT(order_errors) },
        { "backwards fill", build_backwards, 3, -EPROTO, STAT(order_errors) },
        { "swapped fills", build_swapped, 1, -EPROTO, STAT(order_errors) },
        { "long skips 259", build_long_skip, 37, -EPROTO, STAT(order_errors) },
        { "duplicate long", build_long_duplicate, 38, -EPROTO, STAT(order_errors) },
        { "process length 18 != 19", build_process_short_len, 3, -EPROTO, STAT(length_errors) },
        { "process length 20 != 19", build_process_long_len, 3, -EPROTO, STAT(length_errors) },
        { "process without fills", build_process_alone, 0, -EPROTO, STAT(length_errors) },
};

static uint64_t stat_at(const VescReassembler *r, size_t off) {
        uint64_t v;
        memcpy(&v, (const uint8_t *) &r->stats + off, sizeof v);
        return v;
}

static void test_reassembler_errors(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(error_scenarios); i++) {
                const ErrorScenario *s = &error_scenarios[i];
                struct can_frame fr[MAX_FRAMES];
                VescReassembler r;
                VescMessage m;
                char name[96];

                size_t n = s->build(fr);
                assert_true(n <= MAX_FRAMES && s->error_at < n);
                vesc_reassembler_init(&r, ME, TIMEOUT);
                for (size_t k = 0; k < s->error_at; k++) {
                        snprintf(name, sizeof name, "%s: frame %zu before the error", s->name, k);
                        assert_int(name, feed(&r, &fr[k], T0, &m), 0);
                }
                snprintf(name, sizeof name, "%s: frame %zu", s->name, s->error_at);
                assert_int(name, feed(&r, &fr[s->error_at], T0, &m), s->expect);
                snprintf(name, sizeof name, "%s: counter", s->name);
                assert_int(name, stat_at(&r, s->counter), 1);

                /* The partial transfer is gone: nothing after it delivers. */
                for (size_t k = s->error_at + 1; k < n; k++) {
                        snprintf(name, sizeof name, "%s: trailing frame %zu must not deliver", s->name, k);
                        int ret = feed(&r, &fr[k], T0, &m);
                        if (ret == 1)
                                fail_msg("%s", name);
                }
                snprintf(name, sizeof name, "%s: messages", s->name);
                assert_int(name, r.stats.messages, 0);

                /* Recovery: a good long and a good short transfer are delivered. */
                snprintf(name, sizeof name, "%s: recovery long", s->name);
                deliver_fw358(name, &r, T0 + 1000);
                snprintf(name, sizeof name, "%s: recovery short", s->name);
                struct can_frame sf = mk_short(ME, VESC, 1, (const uint8_t[]){ 0x49, 0x01 }, 2);
                feed_expect_message(name, &r, &sf, 1, T0 + 2000, VESC, 1, (const uint8_t[]){ 0x49, 0x01 }, 2);
                snprintf(name, sizeof name, "%s: messages after recovery", s->name);
                assert_int(name, r.stats.messages, 2);
        }
}

/* Two senders' replies interleaving their FILL frames to vescd's one id
 * (§8.3): whatever the reassembler does with them, nothing is delivered. */
static void test_reassembler_interleaved(void **state) {
        (void) state;
        struct can_frame a[4], b[4], seq[8];
        VescReassembler r;
        VescMessage m;

        /* A = P(19) from 31, B = the §19 reply from 74. */
        assert_int("A frames", spec_frames(P, 19, ME, VESC, 1, 0x5B65, a), 4);
        assert_int("B frames", spec_frames(fw358, sizeof fw358, ME, OTHER, 1, 0x7CF2, b), 4);

        /* A0 B0 A7 B7 A14 B14 PA PB */
        size_t n = 0;
        for (size_t k = 0; k < 4; k++)
                seq[n++] = a[k], seq[n++] = b[k];
        vesc_reassembler_init(&r, ME, TIMEOUT);
        int errors = 0;
        for (size_t k = 0; k < n; k++) {
                int ret = feed(&r, &seq[k], T0, &m);
                if (ret == 1)
                        fail_msg("interleaved frame %zu delivered a message", k);
                errors += ret < 0;
        }
        assert_true(errors > 0);
        assert_int("messages", r.stats.messages, 0);
        deliver_fw358("after interleave 1", &r, T0 + 1);

        /* A's fills complete, B's FILL 0 slips in before A's PROCESS; then B
         * continues: A0 A7 A14 B0 PA B7 B14 PB. */
        struct can_frame seq2[8] = { a[0], a[1], a[2], b[0], a[3], b[1], b[2], b[3] };
        vesc_reassembler_init(&r, ME, TIMEOUT);
        errors = 0;
        for (size_t k = 0; k < 8; k++) {
                int ret = feed(&r, &seq2[k], T0, &m);
                if (ret == 1)
                        fail_msg("interleaved (2) frame %zu delivered a message", k);
                errors += ret < 0;
        }
        assert_true(errors > 0);
        assert_int("messages", r.stats.messages, 0);
        deliver_fw358("after interleave 2", &r, T0 + 1);
}

/* Frames for another destination, and non-buffer types addressed to us,
 * are ignored (return 0) and do not disturb a transfer in progress. */
static void test_reassembler_other_dest(void **state) {
        (void) state;
        struct can_frame a[4];
        VescReassembler r;
        VescMessage m;
        spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF2, a);

        struct can_frame noise[] = {
                mk_fill(VESC, 0, P, 7),                      /* FILL to 31 */
                mk_fill(VESC, 14, P, 7),                     /* FILL to 31, "out of order" */
                mk_long(OTHER, 300, P, 6),                   /* LONG to 74 */
                mk_process(VESC, ME, 0, 7, 0xD90C),          /* PROCESS to 31 */
                mk_short(0xFE, VESC, 1, P, 2),               /* SHORT to 254 */
                mk_short(VESC_ID_BROADCAST, VESC, 0, P, 2),  /* SHORT to 255 */
                tu_frame(EID(9, ME), P, 8),                  /* STATUS "from" 253 */
                tu_frame(EID(1, ME), P, 4),                  /* SET_CURRENT to 253 */
                tu_frame(EID(18, ME), P, 2),                 /* PONG to 253 */
        };
        vesc_reassembler_init(&r, ME, TIMEOUT);
        assert_int("A0", feed(&r, &a[0], T0, &m), 0);
        for (size_t k = 0; k < ELEMENTSOF(noise); k++) {
                char name[48];
                snprintf(name, sizeof name, "noise %zu ignored", k);
                assert_int(name, feed(&r, &noise[k], T0, &m), 0);
        }
        assert_int("A7", feed(&r, &a[1], T0, &m), 0);
        assert_int("noise 0 again", feed(&r, &noise[0], T0, &m), 0);
        assert_int("A14", feed(&r, &a[2], T0, &m), 0);
        assert_int("PA", feed(&r, &a[3], T0, &m), 1);
        assert_bytes("payload", m.payload, m.len, fw358, sizeof fw358);
        assert_int("sender", m.sender, VESC);
        assert_int("crc", r.stats.crc_errors, 0);
        assert_int("order", r.stats.order_errors, 0);
        assert_int("bound", r.stats.bound_errors, 0);
        assert_int("length", r.stats.length_errors, 0);
        assert_int("messages", r.stats.messages, 1);
}

static void test_reassembler_expire(void **state) {
        (void) state;
        struct can_frame a[4];
        VescReassembler r;
        VescMessage m;
        spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF2, a);

        vesc_reassembler_init(&r, ME, TIMEOUT);
        assert_int("expire idle", vesc_reassembler_expire(&r, T0), 0);
        assert_int("A0", feed(&r, &a[0], T0, &m), 0);
        assert_int("A7", feed(&r, &a[1], T0, &m), 0);
        /* Idle for less than the timeout: kept. */
        assert_int("expire early", vesc_reassembler_expire(&r, T0 + TIMEOUT - 1), 0);
        assert_int("timeouts", r.stats.timeouts, 0);
        /* Idle for longer: dropped. */
        assert_int("expire late", vesc_reassembler_expire(&r, T0 + TIMEOUT + 1), 1);
        assert_int("timeouts", r.stats.timeouts, 1);
        assert_int("expire again", vesc_reassembler_expire(&r, T0 + TIMEOUT + 2), 0);
        assert_int("timeouts", r.stats.timeouts, 1);
        /* The rest of the stale transfer cannot complete it. */
        int ret = feed(&r, &a[2], T0 + TIMEOUT + 3, &m);
        assert_true(ret != 1);
        ret = feed(&r, &a[3], T0 + TIMEOUT + 3, &m);
        assert_true(ret != 1);
        assert_int("messages", r.stats.messages, 0);
        deliver_fw358("after expire", &r, T0 + 2 * TIMEOUT);

        /* Each frame refreshes the idle timer: frames 0.8 timeouts apart complete. */
        vesc_reassembler_init(&r, ME, TIMEOUT);
        uint64_t step = TIMEOUT * 8 / 10, t = T0;
        for (size_t k = 0; k < 3; k++, t += step) {
                assert_int("expire between frames", vesc_reassembler_expire(&r, t), 0);
                assert_int("slow fill", feed(&r, &a[k], t, &m), 0);
        }
        assert_int("expire before process", vesc_reassembler_expire(&r, t), 0);
        assert_int("slow process", feed(&r, &a[3], t, &m), 1);
        assert_bytes("slow payload", m.payload, m.len, fw358, sizeof fw358);
        assert_int("timeouts", r.stats.timeouts, 0);
}

static void test_reassembler_stale_feed(void **state) {
        (void) state;
        struct can_frame a[4], b[4];
        VescReassembler r;
        VescMessage m;
        spec_frames(P, 19, ME, OTHER, 1, 0x5B65, a);
        spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF2, b);

        /* A stalls after two fills; after the timeout B starts at offset 0 and
         * is delivered whole (no expire() call in between). */
        vesc_reassembler_init(&r, ME, TIMEOUT);
        assert_int("A0", feed(&r, &a[0], T0, &m), 0);
        assert_int("A7", feed(&r, &a[1], T0, &m), 0);
        uint64_t t = T0 + TIMEOUT + 1000;
        feed_expect_message("fresh transfer after stale", &r, b, 4, t, VESC, 1, fw358, sizeof fw358);
        assert_int("timeouts", r.stats.timeouts, 1);
        assert_int("order errors", r.stats.order_errors, 0);

        /* A stalls; its continuation after the timeout is not accepted. */
        vesc_reassembler_init(&r, ME, TIMEOUT);
        assert_int("A0", feed(&r, &a[0], T0, &m), 0);
        assert_int("A7", feed(&r, &a[1], T0, &m), 0);
        int ret = feed(&r, &a[2], t, &m);
        assert_true(ret < 0);
        ret = feed(&r, &a[3], t, &m);
        assert_true(ret != 1);
        assert_int("timeouts", r.stats.timeouts, 1);
        assert_int("messages", r.stats.messages, 0);
        deliver_fw358("after stale continuation", &r, t + 1);
}

static void test_reassembler_reset(void **state) {
        (void) state;
        struct can_frame a[4];
        VescReassembler r;
        VescMessage m;
        spec_frames(fw358, sizeof fw358, ME, VESC, 1, 0x7CF2, a);
        vesc_reassembler_init(&r, ME, TIMEOUT);
        assert_int("A0", feed(&r, &a[0], T0, &m), 0);
        assert_int("A7", feed(&r, &a[1], T0, &m), 0);
        vesc_reassembler_reset(&r);
        /* After a reset a new transfer starts cleanly at 0. */
        deliver_fw358("after reset", &r, T0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frame_count),
                cmocka_unit_test(test_segmenter),
                cmocka_unit_test(test_segmenter_invalid),
                cmocka_unit_test(test_segmenter_examples),
                cmocka_unit_test(test_reassembler_short),
                cmocka_unit_test(test_reassembler_long),
                cmocka_unit_test(test_reassembler_errors),
                cmocka_unit_test(test_reassembler_interleaved),
                cmocka_unit_test(test_reassembler_other_dest),
                cmocka_unit_test(test_reassembler_expire),
                cmocka_unit_test(test_reassembler_stale_feed),
                cmocka_unit_test(test_reassembler_reset),
        };
        return cmocka_run_group_tests(tests, setup_pattern, NULL);
}
