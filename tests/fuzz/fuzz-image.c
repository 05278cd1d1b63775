/* Fuzz target: the image checks.  The input is laid over the start of a
 * 0xFF-padded 5.x image (vector table, descriptor at 0x400), then checked
 * as an application and as a bootloader; the input itself also goes
 * through the heatshrink decoder, the encoder round trip and the upload
 * header parser.  Invariants: image_check_app() accepts exactly when the
 * vector table is sane and any descriptor agrees; a descriptor that parses
 * serialises back to the same bytes; decode(encode(x)) == x. */

#include <string.h>

#include "fuzz.h"
#include "fwimage.h"
#include "heatshrink.h"
#include "imageset.h"
#include "macro.h"

#define OVERLAY_MAX 0x800u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char hw[] = "60";
        _cleanup_free_ uint8_t *img = malloc(VESC_APP_SIZE_V5);
        _cleanup_free_ char *err = NULL;
        FUZZ_CHECK(img);
        memset(img, 0xFF, VESC_APP_SIZE_V5);
        memcpy(img, data, MIN(size, (size_t) OVERLAY_MAX));

        ImageSetEntry e = {
                .hw_name = (char *) hw,
                .app = { .file = (char *) "60/firmware.bin", .size = VESC_APP_SIZE_V5, .major = 5, .minor = 3,
                         .fw_name = (char *) "", .min_bootloader = 1 },
                .has_bootloader = true,
                .bootloader = { .file = (char *) "60/bootloader.bin", .size = size, .generation = 2 },
        };

        const char *reason = NULL;
        bool vectors_ok = vesc_image_check_vectors(img, VESC_APP_SIZE_V5, &reason) == 0;
        FUZZ_CHECK(vectors_ok || reason);
        VescFwDescriptor d;
        int dr = vesc_fw_descriptor_parse(img, VESC_APP_SIZE_V5, &d);
        FUZZ_CHECK(dr == 0 || dr == -ENOENT || dr == -EBADMSG);
        bool desc_ok = dr == -ENOENT || (dr == 0 && d.major == 5 && d.minor == 3 && d.test_build == 0 &&
                                         strcmp(d.hw_name, hw) == 0 && d.fw_name[0] == 0 && d.min_bootloader == 1);
        if (dr == 0) {
                uint8_t back[VESC_FW_DESC_LEN];
                vesc_fw_descriptor_write(&d, back);
                FUZZ_CHECK(memcmp(back, img + VESC_DESCRIPTOR_OFFSET, VESC_FW_DESC_LEN) == 0);
        }
        int r = image_check_app(&e, img, VESC_APP_SIZE_V5, &err);
        FUZZ_CHECK((r == 0) == (vectors_ok && desc_ok));
        FUZZ_CHECK(r == 0 || err);

        /* The raw input as a bootloader image. */
        free(err);
        err = NULL;
        VescBlDescriptor b;
        int br = vesc_bl_descriptor_parse(data, size, &b);
        if (br == 0) {
                uint8_t back[VESC_BL_DESC_LEN];
                vesc_bl_descriptor_write(&b, back);
                FUZZ_CHECK(memcmp(back, data + VESC_DESCRIPTOR_OFFSET, VESC_BL_DESC_LEN) == 0);
        }
        r = image_check_bootloader(&e, data, size, &err);
        FUZZ_CHECK(r == 0 || err);
        if (r == 0)
                FUZZ_CHECK(size >= 1 && size <= IMAGE_BOOTLOADER_MAX);

        /* heatshrink: arbitrary streams decode within bounds; round trip. */
        uint8_t out[4096];
        ssize_t k = heatshrink_decode(data, size, out, sizeof out);
        FUZZ_CHECK(k == -ENOBUFS || (k >= 0 && (size_t) k <= sizeof out));
        _cleanup_free_ uint8_t *packed = NULL;
        size_t plen = 0;
        FUZZ_CHECK(heatshrink_encode(data, size, &packed, &plen) == 0);
        FUZZ_CHECK(plen <= size + size / 8 + 2);
        _cleanup_free_ uint8_t *back = malloc(size + 1);
        FUZZ_CHECK(back);
        FUZZ_CHECK(heatshrink_decode(packed, plen, back, size + 1) == (ssize_t) size);
        FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);

        VescUploadHeader h;
        FUZZ_CHECK((vesc_upload_header_parse(data, size, &h) == 0) == (size >= VESC_UPLOAD_HEADER));
        return 0;
}
