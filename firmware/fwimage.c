/* Facts about VESC images that every program needs: the 6-byte upload header
 * (spec §14.2), the upload stream with its self-check, vector-table sanity
 * (§14.1) and the project's own VESCDFW1/VESCDBL1 test-image descriptors
 * (DESIGN.md "Test firmware descriptor").  Pure: no I/O, no globals. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "fwimage.h"
#include "heatshrink.h"
#include "macro.h"
#include "wire.h"

/**
 * vesc_upload_header_write() - serialise the 6-byte upload header
 * @h: header; @h->size must fit 24 bits when @h->compressed
 * @out: 6 bytes: u32 BE size (0xCC in the top byte when compressed), u16 BE CRC
 */
void vesc_upload_header_write(const VescUploadHeader *h, uint8_t out[static 6]) {
        uint32_t size = h->size;
        if (h->compressed)
                size = ((uint32_t) VESC_COMPRESSED_FLAG << 24) | (size & 0xFFFFFFu);
        be32_put(out, size);
        be16_put(out + 4, h->crc);
}

/**
 * vesc_upload_header_parse() - parse the 6-byte upload header
 * @buf: bytes
 * @n: their count
 * @ret: the header; size without the 0xCC flag
 *
 * Return: 0, or -EBADMSG when @n < 6.
 */
int vesc_upload_header_parse(const uint8_t *buf, size_t n, VescUploadHeader *ret) {
        if (n < VESC_UPLOAD_HEADER)
                return -EBADMSG;
        uint32_t size = be32_get(buf);
        bool compressed = (size >> 24) == VESC_COMPRESSED_FLAG;
        *ret = (VescUploadHeader){
                .compressed = compressed,
                .size = compressed ? size & 0xFFFFFFu : size,
                .crc = be16_get(buf + 4),
        };
        return 0;
}

/**
 * vesc_upload_stream_build() - build what is written into the new-app buffer
 * @img: the raw application image
 * @n: its length
 * @compress: heatshrink-compress (6.x/7.x images, generation-2 bootloader)
 * @ret: on success a malloc'd stream: header + data (caller frees)
 * @ret_len: on success its length
 *
 * A compressed stream is decompressed again and compared with @img before it
 * is returned, so an encoder bug can never reach a bootloader (which has no
 * way to detect one, spec §14.4).
 *
 * The uploader sends the stream in chunks and may skip a chunk that is all
 * 0xFF only because ERASE_NEW_APP erased the buffer range that covers it:
 * see the note in fwimage.h.
 *
 * Return: 0; -EFBIG when header + data would exceed VESC_UPLOAD_MAX;
 * -EINVAL for an empty image; -EIO when the self-check fails; -ENOMEM.
 */
int vesc_upload_stream_build(const uint8_t *img, size_t n, bool compress, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *packed = NULL;
        const uint8_t *data = img;
        size_t len = n;
        int r;

        if (n == 0)
                return -EINVAL;

        if (compress) {
                r = heatshrink_encode(img, n, &packed, &len);
                if (r < 0)
                        return r;
                data = packed;
        }
        if (len > VESC_UPLOAD_MAX - VESC_UPLOAD_HEADER)
                return -EFBIG;

        if (compress) {
                /* One byte of spare room catches a stream that decodes long. */
                _cleanup_free_ uint8_t *check = malloc(n + 1);
                if (!check)
                        return -ENOMEM;
                ssize_t k = heatshrink_decode(packed, len, check, n + 1);
                if (k != (ssize_t) n || memcmp(check, img, n) != 0)
                        return -EIO;
        }

        _cleanup_free_ uint8_t *stream = malloc(VESC_UPLOAD_HEADER + len);
        if (!stream)
                return -ENOMEM;
        VescUploadHeader h = {
                .compressed = compress,
                .size = (uint32_t) len,
                .crc = crc16(data, len),
        };
        vesc_upload_header_write(&h, stream);
        memcpy(stream + VESC_UPLOAD_HEADER, data, len);

        *ret_len = VESC_UPLOAD_HEADER + len;
        *ret = TAKE_PTR(stream);
        return 0;
}

static inline uint32_t le32_get(const uint8_t *p) {
        return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/**
 * vesc_image_check_vectors() - plausibility of an image's vector table
 * @img: raw application image (little-endian words, as the MCU reads them)
 * @n: its length
 * @ret_reason: on failure, a static description of the broken rule
 *
 * Word 0 (initial SP) must lie in SRAM 0x20000000-0x20020000 or CCM
 * 0x10000000-0x10010000 (top inclusive: an empty full-descending stack);
 * word 1 (reset vector) must be odd (Thumb), inside the image's flash range
 * and outside the EEPROM-emulation sectors 0x08004000-0x0800BFFF.
 *
 * Return: 0 or -EINVAL.
 */
int vesc_image_check_vectors(const uint8_t *img, size_t n, const char **ret_reason) {
        const char *reason = NULL;

        if (n < 8)
                reason = "image too short for a vector table";
        else {
                uint32_t sp = le32_get(img), reset = le32_get(img + 4);
                uint32_t target = reset & ~1u;
                bool sp_ok = (sp >= 0x20000000u && sp <= 0x20020000u) ||
                             (sp >= 0x10000000u && sp <= 0x10010000u);

                if (!sp_ok)
                        reason = "initial stack pointer not in SRAM (0x20000000-0x20020000) or CCM (0x10000000-0x10010000)";
                else if (!(reset & 1u))
                        reason = "reset vector is even (not a Thumb address)";
                else if (target < VESC_FLASH_BASE || (uint64_t) target - VESC_FLASH_BASE >= n)
                        reason = "reset vector points outside the image";
                else if (target >= 0x08004000u && target < 0x0800C000u)
                        reason = "reset vector points into the EEPROM sectors (0x08004000-0x0800BFFF)";
        }
        if (reason) {
                if (ret_reason)
                        *ret_reason = reason;
                return -EINVAL;
        }
        return 0;
}

/* A fixed 32-byte NUL-padded name field: at most 32 characters, every byte
 * after the first NUL also NUL. */
/* The descriptor of @len bytes (its CRC16 last) at VESC_DESCRIPTOR_OFFSET:
 * 0; -ENOENT when the image is too short or the magic is not there;
 * -EBADMSG for a bad CRC. */
static int descriptor_find(const uint8_t *img, size_t n, const char *magic, size_t len, const uint8_t **ret) {
        if (n < VESC_DESCRIPTOR_OFFSET + len)
                return -ENOENT;
        const uint8_t *d = img + VESC_DESCRIPTOR_OFFSET;
        if (memcmp(d, magic, 8) != 0)
                return -ENOENT;
        if (crc16(d, len - 2) != be16_get(d + len - 2))
                return -EBADMSG;
        *ret = d;
        return 0;
}

static int name_field_parse(const uint8_t *p, char out[static 33]) {
        size_t len = strnlen((const char *) p, 32);
        for (size_t i = len; i < 32; i++)
                if (p[i] != 0)
                        return -EBADMSG;
        memcpy(out, p, len);
        out[len] = 0;
        return 0;
}

static void name_field_write(uint8_t *p, const char *s) {
        size_t len = strnlen(s, 32);
        memset(p, 0, 32);
        memcpy(p, s, len);
}

/**
 * vesc_fw_descriptor_parse() - read the VESCDFW1 descriptor at offset 0x400
 * @img: application image
 * @n: its length
 * @ret: the descriptor
 *
 * Return: 0; -ENOENT when the image has no descriptor (a real firmware);
 * -EBADMSG when the magic is there but the CRC, the padding or the
 * reserved bytes are wrong.
 */
int vesc_fw_descriptor_parse(const uint8_t *img, size_t n, VescFwDescriptor *ret) {
        const uint8_t *d;
        int r = descriptor_find(img, n, VESC_FW_DESC_MAGIC, VESC_FW_DESC_LEN, &d);
        if (r < 0)
                return r;
        if (d[77] || d[78] || d[79])
                return -EBADMSG;

        VescFwDescriptor f = {
                .major = d[8],
                .minor = d[9],
                .test_build = d[10],
                .hw_type = d[11],
                .min_bootloader = d[76],
                .build_id = be32_get(d + 80),
        };
        if (name_field_parse(d + 12, f.hw_name) < 0 || name_field_parse(d + 44, f.fw_name) < 0)
                return -EBADMSG;
        *ret = f;
        return 0;
}

/**
 * vesc_bl_descriptor_parse() - read the VESCDBL1 descriptor at offset 0x400
 * @img: bootloader image
 * @n: its length
 * @ret: the descriptor
 *
 * Return: 0; -ENOENT without descriptor (a real bootloader); -EBADMSG for
 * a bad CRC, padding or reserved bytes.
 */
int vesc_bl_descriptor_parse(const uint8_t *img, size_t n, VescBlDescriptor *ret) {
        const uint8_t *d;
        int r = descriptor_find(img, n, VESC_BL_DESC_MAGIC, VESC_BL_DESC_LEN, &d);
        if (r < 0)
                return r;
        if (d[9] || d[10] || d[11])
                return -EBADMSG;

        VescBlDescriptor b = {
                .generation = d[8],
                .length = be32_get(d + 44),
        };
        if (name_field_parse(d + 12, b.hw_family) < 0)
                return -EBADMSG;
        *ret = b;
        return 0;
}

/**
 * vesc_fw_descriptor_write() - serialise a VESCDFW1 descriptor
 * @d: descriptor (names longer than 32 bytes are cut)
 * @out: the 86 bytes to place at image offset 0x400
 */
void vesc_fw_descriptor_write(const VescFwDescriptor *d, uint8_t out[static VESC_FW_DESC_LEN]) {
        memcpy(out, VESC_FW_DESC_MAGIC, 8);
        out[8] = d->major;
        out[9] = d->minor;
        out[10] = d->test_build;
        out[11] = d->hw_type;
        name_field_write(out + 12, d->hw_name);
        name_field_write(out + 44, d->fw_name);
        out[76] = d->min_bootloader;
        out[77] = out[78] = out[79] = 0;
        be32_put(out + 80, d->build_id);
        be16_put(out + 84, crc16(out, 84));
}

/**
 * vesc_bl_descriptor_write() - serialise a VESCDBL1 descriptor
 * @d: descriptor
 * @out: the 50 bytes to place at image offset 0x400
 */
void vesc_bl_descriptor_write(const VescBlDescriptor *d, uint8_t out[static VESC_BL_DESC_LEN]) {
        memcpy(out, VESC_BL_DESC_MAGIC, 8);
        out[8] = d->generation;
        out[9] = out[10] = out[11] = 0;
        name_field_write(out + 12, d->hw_family);
        be32_put(out + 44, d->length);
        be16_put(out + 48, crc16(out, 48));
}
