/* Facts about VESC application and bootloader images that every program
 * needs: sizes (spec §14.1), the upload stream header (§14.2), vector-table
 * sanity, and the project's own test-image descriptors (DESIGN.md
 * "Test firmware descriptor").  Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VESC_APP_SIZE_V5        393208u   /* 3.x - 5.x raw image */
#define VESC_APP_SIZE_V6        524280u   /* 6.x / 7.x raw image */
#define VESC_NEW_APP_BUFFER     393216u   /* sectors 8-10 */
#define VESC_UPLOAD_MAX         (VESC_APP_SIZE_V5 + 6u) /* header + stream */
#define VESC_UPLOAD_HEADER      6u
#define VESC_BOOTLOADER_OFFSET  393216u   /* WRITE_NEW_APP_DATA offset of sector 11 */
#define VESC_BOOTLOADER_SECTOR  131072u
#define VESC_COMPRESSED_FLAG    0xCCu

#define VESC_FLASH_BASE         0x08000000u
#define VESC_DESCRIPTOR_OFFSET  0x400u

/* ---------------------------------------------------- upload stream */

typedef struct VescUploadHeader {
        bool compressed;
        uint32_t size;      /* length of the data after the header */
        uint16_t crc;       /* CRC16 of those bytes */
} VescUploadHeader;

void vesc_upload_header_write(const VescUploadHeader *h, uint8_t out[static 6]);
/* -EBADMSG if n < 6. */
int vesc_upload_header_parse(const uint8_t *buf, size_t n, VescUploadHeader *ret);

/* Build the upload stream for a raw image: plain header + image when
 * !compress, else header (0xCC flag) + heatshrink stream, verified by
 * decompressing it and comparing with the image.  Malloc'd result.
 * -EFBIG when the stream would exceed VESC_UPLOAD_MAX, -EIO when the
 * self-check fails, -ENOMEM. */
int vesc_upload_stream_build(const uint8_t *img, size_t n, bool compress, uint8_t **ret, size_t *ret_len);

/* Skipping 0xFF chunks (note for the update engine): a chunk of the stream
 * that is entirely 0xFF need not be sent ONLY when the preceding
 * ERASE_NEW_APP covered it, i.e. its offset + length lies within the size
 * passed to that erase (erase rounds up to whole 128 KiB sectors 8-10; a
 * written-but-not-erased area keeps its old bytes).  The erase size must
 * therefore be at least the stream length (header included), and after a
 * retry that re-erases, every skipped chunk is skipped again, never
 * "remembered" from a previous erase.  Bootloader images (sector 11) may
 * skip 0xFF chunks after ERASE_BOOTLOADER in the same way. */

/* --------------------------------------------------- vector table */

/* Word 0 (SP) in SRAM 0x20000000-0x20020000 or CCM 0x10000000-0x10010000
 * (top inclusive); word 1 (reset) odd, inside [0x08000000, 0x08000000+n),
 * not in 0x08004000-0x0800BFFF.  Returns 0 or -EINVAL with *ret_reason set
 * to a static message. */
int vesc_image_check_vectors(const uint8_t *img, size_t n, const char **ret_reason);

/* ------------------------------------------ test-image descriptors */

#define VESC_FW_DESC_MAGIC "VESCDFW1"
#define VESC_FW_DESC_LEN   86u   /* 84 bytes + CRC16 */
#define VESC_BL_DESC_MAGIC "VESCDBL1"
#define VESC_BL_DESC_LEN   50u   /* 48 bytes + CRC16 */

typedef struct VescFwDescriptor {
        uint8_t major, minor, test_build, hw_type;
        char hw_name[33];
        char fw_name[33];
        uint8_t min_bootloader;   /* minimum bootloader generation */
        uint32_t build_id;
} VescFwDescriptor;

typedef struct VescBlDescriptor {
        uint8_t generation;
        char hw_family[33];
        uint32_t length;
} VescBlDescriptor;

/* Parse the descriptor at image offset 0x400.  -ENOENT no magic (a real
 * firmware), -EBADMSG bad CRC or malformed. */
int vesc_fw_descriptor_parse(const uint8_t *img, size_t n, VescFwDescriptor *ret);
int vesc_bl_descriptor_parse(const uint8_t *img, size_t n, VescBlDescriptor *ret);
/* Serialise (big-endian, NUL-padded, CRC16) into out. */
void vesc_fw_descriptor_write(const VescFwDescriptor *d, uint8_t out[static VESC_FW_DESC_LEN]);
void vesc_bl_descriptor_write(const VescBlDescriptor *d, uint8_t out[static VESC_BL_DESC_LEN]);

/* Raw application size expected for firmware major: 393208 (< 6) or 524280. */
static inline size_t vesc_app_size_for_major(unsigned major) {
        return major >= 6 ? VESC_APP_SIZE_V6 : VESC_APP_SIZE_V5;
}
