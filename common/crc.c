/* CRC16 for every VESC checksum (serial frames, CAN buffers, firmware
 * upload header) and CRC-32C for the UUID-derived CAN id.  Table-driven:
 * both run on every byte of a firmware image, so they must be cheap. */
#include "crc.h"

static uint16_t crc16_table[256];
static uint32_t crc32c_table[256];

/* Tables are filled once at load time; constructors keep the hot paths free
 * of "initialised yet?" checks without a hand-written 256-entry literal. */
__attribute__((constructor)) static void crc_tables_init(void) {
        for (unsigned i = 0; i < 256; i++) {
                uint16_t c = (uint16_t) (i << 8);
                for (int b = 0; b < 8; b++)
                        c = (c & 0x8000) ? (uint16_t) ((c << 1) ^ 0x1021) : (uint16_t) (c << 1);
                crc16_table[i] = c;

                uint32_t r = i;
                for (int b = 0; b < 8; b++)
                        r = (r & 1) ? (r >> 1) ^ 0x82F63B78u : r >> 1;
                crc32c_table[i] = r;
        }
}

uint16_t crc16_update(uint16_t crc, const void *data, size_t len) {
        const uint8_t *p = data;

        while (len--)
                crc = (uint16_t) ((crc << 8) ^ crc16_table[((crc >> 8) ^ *p++) & 0xff]);
        return crc;
}

uint32_t crc32c(const void *data, size_t len) {
        const uint8_t *p = data;
        uint32_t crc = 0xFFFFFFFFu;

        while (len--)
                crc = (crc >> 8) ^ crc32c_table[(crc ^ *p++) & 0xff];
        return ~crc;
}
