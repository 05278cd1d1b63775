/* Unit tests for daemon/proto/vesc-serial: the serial/USB framing of
 * spec §1 (02 len | 03 len16, payload, CRC16 high byte first, 03) and the
 * resynchronising stream decoder.
 *
 * Expected frames are the spec's own examples (§1, §19) or built by hand:
 * start/length bytes written out, payload P(n) (byte i = i & 0xFF), CRCs of
 * P(n) computed with a bitwise CRC-16/XMODEM in a scratch Python script:
 * P(255) 0530, P(256) 7E55, P(300) C176, P(512) 40DA; 513 x 0x55: E067. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "macro.h"
#include "proto/vesc-serial.h"
#include "test-util.h"

static uint8_t P[1024];

static int setup_pattern(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof P; i++)
                P[i] = (uint8_t) i;
        return 0;
}

/* §19 COMM_SET_MCCONF_TEMP_SETUP payload (37 bytes), framed with CRC CD 88. */
static const uint8_t temp_setup[] = {
        0x31, 0x00, 0x01, 0x01, 0x00, 0x3F, 0x80, 0x00, 0x00, 0x3F, 0x4C, 0xCC, 0xCD,
        0xC1, 0x20, 0x00, 0x00, 0x41, 0x48, 0x00, 0x00, 0x3B, 0xA3, 0xD7, 0x0A, 0x3F,
        0x73, 0x33, 0x33, 0xC9, 0xB7, 0x1B, 0x00, 0x49, 0xB7, 0x1B, 0x00,
};
static uint8_t temp_setup_frame[2 + 37 + 3];

/* Long frames assembled from hand-written header and trailer bytes. */
static uint8_t frame_255[2 + 255 + 3], frame_256[3 + 256 + 3], frame_300[3 + 300 + 3], frame_512[3 + 512 + 3];

static void assemble(uint8_t *out, const uint8_t *head, size_t hlen, const uint8_t *payload, size_t plen,
                     uint8_t crc_hi, uint8_t crc_lo) {
        memcpy(out, head, hlen);
        memcpy(out + hlen, payload, plen);
        out[hlen + plen] = crc_hi;
        out[hlen + plen + 1] = crc_lo;
        out[hlen + plen + 2] = 0x03;
}

static int setup_frames(void **state) {
        setup_pattern(state);
        /* 02 25 (37) <payload> CD 88 03 (§19). */
        assemble(temp_setup_frame, (const uint8_t[]){ 0x02, 0x25 }, 2, temp_setup, 37, 0xCD, 0x88);
        /* 255 still fits the short form: 02 FF. */
        assemble(frame_255, (const uint8_t[]){ 0x02, 0xFF }, 2, P, 255, 0x05, 0x30);
        /* 256 and up: 03 + u16 BE length. */
        assemble(frame_256, (const uint8_t[]){ 0x03, 0x01, 0x00 }, 3, P, 256, 0x7E, 0x55);
        assemble(frame_300, (const uint8_t[]){ 0x03, 0x01, 0x2C }, 3, P, 300, 0xC1, 0x76);
        assemble(frame_512, (const uint8_t[]){ 0x03, 0x02, 0x00 }, 3, P, 512, 0x40, 0xDA);
        return 0;
}

typedef struct SerialVector {
        const char *name;
        const uint8_t *payload;
        size_t plen;
        const uint8_t *frame;
        size_t flen;
} SerialVector;

static const uint8_t fw_req[] = { 0x02, 0x01, 0x00, 0x00, 0x00, 0x03 };          /* §1 */
static const uint8_t values_req[] = { 0x02, 0x01, 0x04, 0x40, 0x84, 0x03 };      /* §1 */
static const uint8_t ping_can[] = { 0x02, 0x01, 0x3E, 0xD7, 0x9D, 0x03 };        /* §19 */
static const uint8_t fwd[] = { 0x02, 0x03, 0x22, 0x45, 0x04, 0x5A, 0x1B, 0x03 }; /* §19 */
static const uint8_t ack49[] = { 0x02, 0x01, 0x31, 0x26, 0x72, 0x03 };           /* §19 reply */

static const SerialVector serial_vectors[] = {
        { "§1 FW_VERSION", (const uint8_t[]){ 0x00 }, 1, fw_req, sizeof fw_req },
        { "§1 GET_VALUES", (const uint8_t[]){ 0x04 }, 1, values_req, sizeof values_req },
        { "§19 PING_CAN", (const uint8_t[]){ 0x3E }, 1, ping_can, sizeof ping_can },
        { "§19 FORWARD_CAN GET_VALUES to 0x45", (const uint8_t[]){ 0x22, 0x45, 0x04 }, 3, fwd, sizeof fwd },
        { "§19 MCCONF_TEMP_SETUP", temp_setup, sizeof temp_setup, temp_setup_frame, sizeof temp_setup_frame },
        { "§19 [49] ack", (const uint8_t[]){ 0x31 }, 1, ack49, sizeof ack49 },
        { "255 bytes short form", P, 255, frame_255, sizeof frame_255 },
        { "256 bytes long form", P, 256, frame_256, sizeof frame_256 },
        { "300 bytes long form", P, 300, frame_300, sizeof frame_300 },
        { "512 bytes", P, 512, frame_512, sizeof frame_512 },
};

static void test_encode(void **state) {
        (void) state;
        static uint8_t buf[VESC_SERIAL_MAX_FRAME + 16];
        for (size_t i = 0; i < ELEMENTSOF(serial_vectors); i++) {
                const SerialVector *v = &serial_vectors[i];
                memset(buf, 0xEE, sizeof buf);
                ssize_t n = vesc_serial_encode(v->payload, v->plen, buf, sizeof buf);
                assert_bytes(v->name, buf, n, v->frame, v->flen);
                /* Exact size fits, one less does not. */
                assert_int(v->name, vesc_serial_encode(v->payload, v->plen, buf, v->flen), (ssize_t) v->flen);
                assert_int(v->name, vesc_serial_encode(v->payload, v->plen, buf, v->flen - 1), -ENOBUFS);
        }
        assert_int("513 refused", vesc_serial_encode(P, 513, buf, sizeof buf), -EINVAL);
        assert_int("0 refused", vesc_serial_encode(P, 0, buf, sizeof buf), -EINVAL);
}

/* ----------------------------------------------------------- decoder */

typedef struct Collected {
        size_t n;
        size_t len[8];
        uint8_t payload[8][VESC_SERIAL_MAX_PAYLOAD];
} Collected;

static void collect(Collected *c, const uint8_t *p, size_t len) {
        assert_true(c->n < ELEMENTSOF(c->len));
        assert_non_null(p);
        assert_true(len >= 1 && len <= VESC_SERIAL_MAX_PAYLOAD);
        memcpy(c->payload[c->n], p, len);
        c->len[c->n++] = len;
}

/* Push data in pieces of `chunk` bytes, following the API contract: a
 * return of 1 hands out a frame and the caller continues with the rest; 0
 * means everything given was taken.  At the end, drain frames the decoder
 * may still hold (a resync can uncover more than one). */
static void feed_all(VescSerialDecoder *d, const uint8_t *data, size_t len, size_t chunk, Collected *c) {
        static const uint8_t dummy[1] = { 0 };
        size_t pos = 0, guard = 0;
        while (pos < len) {
                size_t k = MIN(chunk, len - pos);
                size_t consumed = SIZE_MAX;
                const uint8_t *pl = NULL;
                size_t pll = 0;
                int r = vesc_serial_decoder_push(d, data + pos, k, &consumed, &pl, &pll);
                assert_true(r == 0 || r == 1);
                assert_true(consumed <= k);
                pos += consumed;
                if (r == 1)
                        collect(c, pl, pll);
                else
                        assert_int("consumed all on 0", consumed, k);
                assert_true(++guard < 100000);
        }
        for (int i = 0; i < 8; i++) {
                size_t consumed = SIZE_MAX;
                const uint8_t *pl = NULL;
                size_t pll = 0;
                int r = vesc_serial_decoder_push(d, dummy, 0, &consumed, &pl, &pll);
                assert_true(r == 0 || r == 1);
                assert_int("drain consumes nothing", consumed, 0);
                if (r == 0)
                        break;
                collect(c, pl, pll);
        }
}

static void test_decode_vectors(void **state) {
        (void) state;
        static const size_t chunks[] = { 1, 2, 3, 7, SIZE_MAX };
        for (size_t i = 0; i < ELEMENTSOF(serial_vectors); i++)
                for (size_t k = 0; k < ELEMENTSOF(chunks); k++) {
                        const SerialVector *v = &serial_vectors[i];
                        VescSerialDecoder d;
                        static Collected c;
                        memset(&c, 0, sizeof c);
                        vesc_serial_decoder_init(&d);
                        feed_all(&d, v->frame, v->flen, chunks[k], &c);
                        assert_int(v->name, c.n, 1);
                        assert_bytes(v->name, c.payload[0], c.len[0], v->payload, v->plen);
                        assert_int(v->name, d.frames, 1);
                        assert_int(v->name, d.dropped_bytes, 0);
                }
}

/* A long form announcing exactly 255 is still accepted: only lengths
 * *below* 255 are refused in the 16-bit form (§1). */
static void test_decode_long_form_255(void **state) {
        (void) state;
        static uint8_t f[3 + 255 + 3];
        assemble(f, (const uint8_t[]){ 0x03, 0x00, 0xFF }, 3, P, 255, 0x05, 0x30);
        VescSerialDecoder d;
        static Collected c;
        memset(&c, 0, sizeof c);
        vesc_serial_decoder_init(&d);
        feed_all(&d, f, sizeof f, SIZE_MAX, &c);
        assert_int("frames", c.n, 1);
        assert_bytes("255 via long form", c.payload[0], c.len[0], P, 255);
}

typedef struct ResyncVector {
        const char *name;
        const uint8_t *stream;
        size_t len;
        size_t frames;              /* payloads expected, in order */
        const uint8_t *payloads[3];
        size_t plens[3];
        long dropped;               /* expected dropped_bytes, -1 = don't check */
} ResyncVector;

static const uint8_t s_garbage_before[] = { 0xAA, 0x55, 0x00, 0xFF, 0x02, 0x01, 0x04, 0x40, 0x84, 0x03 };
/* A false start "02 05" swallows the next 8 bytes; its end byte is wrong,
 * so the decoder drops 02, then 05, and finds both real frames. */
static const uint8_t s_false_start[] = { 0x02, 0x05, 0x02, 0x01, 0x04, 0x40, 0x84, 0x03,
                                         0x02, 0x01, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t s_between[] = { 0x02, 0x01, 0x04, 0x40, 0x84, 0x03, 0x13, 0x37,
                                     0x02, 0x01, 0x00, 0x00, 0x00, 0x03 };
/* CRC 4085 instead of 4084.  Resync: 02 01 04 40 85 dropped, then 03 starts
 * a long form whose length 02 01 = 513 is refused, 03 dropped: 6 bytes. */
static const uint8_t s_bad_crc[] = { 0x02, 0x01, 0x04, 0x40, 0x85, 0x03, 0x02, 0x01, 0x04, 0x40, 0x84, 0x03 };
/* End byte 04 instead of 03: 6 bytes dropped. */
static const uint8_t s_bad_end[] = { 0x02, 0x01, 0x04, 0x40, 0x84, 0x04, 0x02, 0x01, 0x04, 0x40, 0x84, 0x03 };
/* Long form with length 1 (< 255): refused although the CRC is right;
 * 03 00 01 04 40 84 dropped, then 03 + 02 01 (513) dropped: 7 bytes. */
static const uint8_t s_long_short[] = { 0x03, 0x00, 0x01, 0x04, 0x40, 0x84, 0x03,
                                        0x02, 0x01, 0x00, 0x00, 0x00, 0x03 };
/* Zero-length payload refused: 02 00 00 00 dropped, 03 + 02 01 dropped: 5. */
static const uint8_t s_zero_len[] = { 0x02, 0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0x3E, 0xD7, 0x9D, 0x03 };
/* Two good frames back to back. */
static const uint8_t s_two[] = { 0x02, 0x01, 0x3E, 0xD7, 0x9D, 0x03, 0x02, 0x03, 0x22, 0x45, 0x04, 0x5A, 0x1B, 0x03 };

static const uint8_t pl04[] = { 0x04 }, pl00[] = { 0x00 }, pl3e[] = { 0x3E }, plfwd[] = { 0x22, 0x45, 0x04 };

static const ResyncVector resync_vectors[] = {
        { "garbage before", s_garbage_before, sizeof s_garbage_before, 1, { pl04 }, { 1 }, 4 },
        { "false start", s_false_start, sizeof s_false_start, 2, { pl04, pl00 }, { 1, 1 }, 2 },
        { "garbage between", s_between, sizeof s_between, 2, { pl04, pl00 }, { 1, 1 }, 2 },
        { "bad crc then good", s_bad_crc, sizeof s_bad_crc, 1, { pl04 }, { 1 }, 6 },
        { "bad end byte then good", s_bad_end, sizeof s_bad_end, 1, { pl04 }, { 1 }, 6 },
        { "long form length 1 refused", s_long_short, sizeof s_long_short, 1, { pl00 }, { 1 }, 7 },
        { "zero length refused", s_zero_len, sizeof s_zero_len, 1, { pl3e }, { 1 }, 5 },
        { "two frames", s_two, sizeof s_two, 2, { pl3e, plfwd }, { 1, 3 }, 0 },
};

static void run_resync(const ResyncVector *v, size_t chunk) {
        VescSerialDecoder d;
        static Collected c;
        memset(&c, 0, sizeof c);
        vesc_serial_decoder_init(&d);
        feed_all(&d, v->stream, v->len, chunk, &c);
        assert_int(v->name, c.n, v->frames);
        for (size_t k = 0; k < v->frames; k++)
                assert_bytes(v->name, c.payload[k], c.len[k], v->payloads[k], v->plens[k]);
        assert_int(v->name, d.frames, v->frames);
        if (v->dropped >= 0)
                assert_int(v->name, d.dropped_bytes, v->dropped);
}

static void test_resync(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(resync_vectors); i++) {
                run_resync(&resync_vectors[i], 1);
                run_resync(&resync_vectors[i], SIZE_MAX);
        }
}

/* A 513-byte payload in the long form is refused at its length; a good
 * frame after it is still found. */
static void test_oversize(void **state) {
        (void) state;
        static uint8_t s[3 + 513 + 3 + 6];
        static uint8_t pl[513];
        memset(pl, 0x55, sizeof pl);
        assemble(s, (const uint8_t[]){ 0x03, 0x02, 0x01 }, 3, pl, 513, 0xE0, 0x67);
        memcpy(s + 3 + 513 + 3, values_req, sizeof values_req);
        static const size_t chunks[] = { 1, SIZE_MAX };
        for (size_t k = 0; k < ELEMENTSOF(chunks); k++) {
                VescSerialDecoder d;
                static Collected c;
                memset(&c, 0, sizeof c);
                vesc_serial_decoder_init(&d);
                feed_all(&d, s, sizeof s, chunks[k], &c);
                assert_int("frames after oversize", c.n, 1);
                assert_bytes("good frame after oversize", c.payload[0], c.len[0], pl04, 1);
        }
}

/* Bad CRC on a long frame (its payload contains 02/03 bytes that look like
 * frame starts), then a good frame. */
static void test_bad_long_then_good(void **state) {
        (void) state;
        static uint8_t s[sizeof frame_300 + sizeof ping_can];
        memcpy(s, frame_300, sizeof frame_300);
        s[3 + 300 + 1] ^= 0x01;  /* CRC low byte */
        memcpy(s + sizeof frame_300, ping_can, sizeof ping_can);
        VescSerialDecoder d;
        static Collected c;
        memset(&c, 0, sizeof c);
        vesc_serial_decoder_init(&d);
        feed_all(&d, s, sizeof s, 1, &c);
        assert_int("frames", c.n, 1);
        assert_bytes("ping after bad long", c.payload[0], c.len[0], pl3e, 1);
}

/* Two frames in one push: the first call stops at the end of the first
 * frame (consumed 6), the second call with the rest yields the second. */
static void test_two_in_one_push(void **state) {
        (void) state;
        VescSerialDecoder d;
        vesc_serial_decoder_init(&d);
        size_t consumed = 0;
        const uint8_t *pl;
        size_t pll;
        assert_int("first", vesc_serial_decoder_push(&d, s_two, sizeof s_two, &consumed, &pl, &pll), 1);
        assert_int("consumed first", consumed, 6);
        assert_bytes("first payload", pl, pll, pl3e, 1);
        assert_int("second", vesc_serial_decoder_push(&d, s_two + 6, sizeof s_two - 6, &consumed, &pl, &pll), 1);
        assert_int("consumed second", consumed, 8);
        assert_bytes("second payload", pl, pll, plfwd, 3);
        assert_int("frames", d.frames, 2);

        /* A frame split across pushes, then another in the same push as its tail. */
        vesc_serial_decoder_init(&d);
        assert_int("head", vesc_serial_decoder_push(&d, s_two, 4, &consumed, &pl, &pll), 0);
        assert_int("head consumed", consumed, 4);
        assert_int("tail", vesc_serial_decoder_push(&d, s_two + 4, sizeof s_two - 4, &consumed, &pl, &pll), 1);
        assert_int("tail consumed", consumed, 2);
        assert_bytes("split payload", pl, pll, pl3e, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_decode_vectors),
                cmocka_unit_test(test_decode_long_form_255),
                cmocka_unit_test(test_resync),
                cmocka_unit_test(test_oversize),
                cmocka_unit_test(test_bad_long_then_good),
                cmocka_unit_test(test_two_in_one_push),
        };
        return cmocka_run_group_tests(tests, setup_frames, NULL);
}
