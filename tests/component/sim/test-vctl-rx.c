/* The firmware generations' CAN receive buffers (sim/vctl-rx.c, spec §8.3):
 * stale bytes, overruns, buffer matching, reply-address rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc.h"
#include "vctl-rx.h"
#include "wire.h"

static int fill(SimRx *rx, uint8_t off, const uint8_t *p, size_t n) {
        uint8_t d[8] = { off };
        SimRxMessage m;

        memcpy(d + 1, p, n);
        return sim_rx_feed(rx, 5, d, (uint8_t) (n + 1), &m);
}

static int process(SimRx *rx, uint8_t sender, uint8_t mode, uint16_t len, uint16_t crc, SimRxMessage *m) {
        uint8_t d[6] = { sender, mode };

        be16_put(d + 2, len);
        be16_put(d + 4, crc);
        return sim_rx_feed(rx, 7, d, 6, m);
}

static const uint8_t P[14] = { 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
static const uint8_t Q[14] = { 4, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33 };

static void test_single_stale_bytes(void **state) {
        SimRx rx;
        SimRxMessage m;
        uint8_t mix[14];

        sim_rx_init(&rx, 3, 58);
        fill(&rx, 0, P, 7);
        fill(&rx, 7, P + 7, 7);
        assert_int_equal(process(&rx, 253, 0, 14, crc16(P, 14), &m), 1);
        assert_memory_equal(m.payload, P, 14);

        /* Q's second frame is lost: P's bytes are still there. */
        fill(&rx, 0, Q, 7);
        memcpy(mix, Q, 7);
        memcpy(mix + 7, P + 7, 7);
        assert_int_equal(process(&rx, 253, 0, 14, crc16(Q, 14), &m), 0);
        assert_int_equal(rx.stats.crc_drops, 1);
        assert_int_equal(process(&rx, 253, 0, 14, crc16(mix, 14), &m), 1);
}

static void test_single_any_order_and_overrun(void **state) {
        SimRx rx;
        SimRxMessage m;
        uint8_t d[8] = { 0x01, 0xfe, 1, 2, 3, 4, 5, 6 };

        sim_rx_init(&rx, 5, 3);
        fill(&rx, 7, P + 7, 7);
        fill(&rx, 0, P, 7);
        assert_int_equal(process(&rx, 253, 0, 14, crc16(P, 14), &m), 1);
        /* LONG frame at 510: copied whole, past the 512 bytes (allocated slack) */
        assert_int_equal(sim_rx_feed(&rx, 6, d, 8, &m), 0);
        assert_int_equal(rx.buf[0][511], 2);
        assert_int_equal(rx.buf[0][515], 6);
}

static void test_length_limit_moves_reply_address(void **state) {
        SimRx rx;
        SimRxMessage m;

        sim_rx_init(&rx, 3, 58);
        assert_int_equal(process(&rx, 99, 2, 513, 0, &m), 0);
        assert_int_equal(rx.stats.length_drops, 1);
        assert_int_equal(rx.reply_id, 99);
}

static void test_reply_address_rules(void **state) {
        SimRx rx;
        SimRxMessage m;
        uint8_t s[3] = { 0, 0, 0 };

        /* up to 5.03 every PROCESS frame, any mode */
        sim_rx_init(&rx, 5, 3);
        s[0] = 10; s[1] = 0;
        assert_int_equal(sim_rx_feed(&rx, 8, s, 3, &m), 1);
        s[0] = 11; s[1] = 2;
        assert_int_equal(sim_rx_feed(&rx, 8, s, 3, &m), 1);
        assert_int_equal(rx.reply_id, 11);

        /* 6.x: only mode 0 (and 3 from 6.05); 6.05 remembers the reply mode */
        sim_rx_init(&rx, 6, 5);
        s[0] = 10; s[1] = 0;
        sim_rx_feed(&rx, 8, s, 3, &m);
        s[0] = 11; s[1] = 2;
        sim_rx_feed(&rx, 8, s, 3, &m);
        assert_int_equal(rx.reply_id, 10);
        assert_int_equal(rx.reply_mode, 1);
        s[0] = 12; s[1] = 3;
        sim_rx_feed(&rx, 8, s, 3, &m);
        assert_int_equal(rx.reply_id, 12);
        assert_int_equal(rx.reply_mode, 0);

        sim_rx_init(&rx, 6, 0);
        s[0] = 12; s[1] = 3;
        sim_rx_feed(&rx, 8, s, 3, &m);
        assert_int_equal(rx.reply_id, 0);
}

static void test_605_matching(void **state) {
        SimRx rx;
        SimRxMessage m;

        sim_rx_init(&rx, 6, 5);
        /* a frame matching no buffer is dropped */
        fill(&rx, 7, P + 7, 7);
        assert_int_equal(rx.pos[0], 0);
        assert_int_equal(rx.stats.unmatched, 1);
        /* two transfers in two buffers */
        fill(&rx, 0, P, 7);
        fill(&rx, 7, P + 7, 7);
        fill(&rx, 0, Q, 7);
        assert_int_equal(rx.pos[0], 14);
        assert_int_equal(rx.pos[1], 7);
        assert_int_equal(process(&rx, 253, 0, 14, crc16(P, 14), &m), 1);
        assert_memory_equal(m.payload, P, 14);
        assert_int_equal(rx.pos[0], 0);
        /* a PROCESS matching no buffer resets them all */
        assert_int_equal(process(&rx, 253, 0, 12, 0, &m), 0);
        assert_int_equal(rx.pos[1], 0);
        /* a wrong CRC still frees the buffer */
        fill(&rx, 0, Q, 7);
        fill(&rx, 7, Q + 7, 7);
        assert_int_equal(process(&rx, 253, 0, 14, 0, &m), 0);
        assert_int_equal(rx.pos[0], 0);
}

static void test_602_unmatched_into_buffer0(void **state) {
        SimRx rx;

        sim_rx_init(&rx, 6, 2);
        fill(&rx, 0, P, 7);           /* buffer 0 at 7 */
        fill(&rx, 21, Q, 7);          /* unmatched: buffer 0 at offset 21, position + 7 */
        assert_int_equal(rx.pos[0], 14);
        assert_int_equal(rx.buf[0][21], Q[0]);
}

static void test_605_offset0_takes_buffer0(void **state) {
        SimRx rx;

        sim_rx_init(&rx, 6, 5);
        for (int i = 0; i < 3; i++)
                fill(&rx, 0, P, 7);   /* three transfers in flight, all at 7 */
        assert_int_equal(rx.pos[2], 7);
        fill(&rx, 0, Q, 7);           /* no idle buffer: offset 0 takes over buffer 0 */
        assert_int_equal(rx.pos[0], 7);
        assert_int_equal(rx.buf[0][1], Q[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_single_stale_bytes),
                cmocka_unit_test(test_single_any_order_and_overrun),
                cmocka_unit_test(test_length_limit_moves_reply_address),
                cmocka_unit_test(test_reply_address_rules),
                cmocka_unit_test(test_605_matching),
                cmocka_unit_test(test_602_unmatched_into_buffer0),
                cmocka_unit_test(test_605_offset0_takes_buffer0),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
