/* CRC16 as the VESC firmware computes it (CRC-16/XMODEM: poly 0x1021,
 * init 0, MSB first, no final XOR; spec §0.3) and CRC-32C (the firmware's
 * UUID-derived default CAN id, spec §8.4). */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint16_t crc16_update(uint16_t crc, const void *data, size_t len);
static inline uint16_t crc16(const void *data, size_t len) {
        return crc16_update(0, data, len);
}

/* Standard CRC-32C (reflected 0x82F63B78, init 0xFFFFFFFF, final complement). */
uint32_t crc32c(const void *data, size_t len);
