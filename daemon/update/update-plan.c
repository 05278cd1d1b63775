/* Firmware update planning (see update-plan.h).  The rules come from DESIGN.md
 * "Firmware" and spec §14: 3.x-5.x images go plain and any bootloader takes
 * them; 6.x images go heatshrink-compressed and only a generation-2
 * bootloader takes them; since no firmware can say which bootloader it has,
 * a job sending a compressed stream installs the set's generation-2
 * bootloader itself, which needs ERASE_BOOTLOADER (3.59+). */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crc.h"
#include "update/update-plan.h"
#include "fwimage.h"
#include "macro.h"
#include "wire.h"

static const char *const fw_error_table[_FW_ERROR_MAX] = {
        [FW_ERROR_NONE] = "None",
        [FW_ERROR_WRONG_HARDWARE] = "WrongHardware",
        [FW_ERROR_INVALID_IMAGE] = "InvalidImage",
        [FW_ERROR_IMAGE_TOO_LARGE] = "ImageTooLarge",
        [FW_ERROR_NEEDS_INTERMEDIATE] = "NeedsIntermediate",
        [FW_ERROR_NO_BOOTLOADER_IN_SET] = "NoBootloaderInSet",
        [FW_ERROR_GATE_FAILED] = "GateFailed",
        [FW_ERROR_TIMEOUT] = "Timeout",
        [FW_ERROR_REFUSED] = "Refused",
        [FW_ERROR_BOOTLOADER_REFUSED] = "BootloaderRefused",
        [FW_ERROR_WRONG_VERSION_AFTER_UPDATE] = "WrongVersionAfterUpdate",
        [FW_ERROR_CANCELLED] = "Cancelled",
        [FW_ERROR_CONTROLLER_LOST] = "ControllerLost",
        [FW_ERROR_BRICKED] = "Bricked",
        [FW_ERROR_NOT_COMMITTED] = "NotCommitted",
        [FW_ERROR_INTERNAL] = "Internal",
};

/**
 * fw_error_to_string() - stable name of an update error code
 * @e: the code
 *
 * Return: a static string such as "NeedsIntermediate", NULL if @e is out of range.
 */
const char *fw_error_to_string(FwError e) {
        if (e < 0 || e >= _FW_ERROR_MAX)
                return NULL;
        return fw_error_table[e];
}

/**
 * fw_error_from_string() - parse a stable error name
 * @s: the name, may be NULL
 *
 * Return: the code, or _FW_ERROR_INVALID.
 */
FwError fw_error_from_string(const char *s) {
        if (!s)
                return _FW_ERROR_INVALID;
        for (FwError e = 0; e < _FW_ERROR_MAX; e++)
                if (strcmp(fw_error_table[e], s) == 0)
                        return e;
        return _FW_ERROR_INVALID;
}

/**
 * fw_identity_from_version() - normalise a decoded COMM_FW_VERSION reply
 * @ret: filled in
 * @v: the decoded reply
 * @can_id: the CAN id that answered
 */
void fw_identity_from_version(FwIdentity *ret, const VescFwVersion *v, uint8_t can_id) {
        *ret = (FwIdentity) {
                .can_id = can_id,
                .major = v->major,
                .minor = v->minor,
                .test_build = v->has_test_build ? v->test_build : 0,
        };
        memcpy(ret->uuid, v->uuid, VESC_UUID_LEN);
        snprintf(ret->hw_name, sizeof ret->hw_name, "%s", v->hw_name);
        snprintf(ret->fw_name, sizeof ret->fw_name, "%s", v->has_fw_name ? v->fw_name : "");
}

/**
 * fw_uuid_format() - the UUID as 24 lower-case hex digits
 * @uuid: 12 bytes
 * @out: 25 bytes, NUL-terminated on return
 */
void fw_uuid_format(const uint8_t uuid[static VESC_UUID_LEN], char out[static 2 * VESC_UUID_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < VESC_UUID_LEN; i++) {
                out[2 * i] = hex[uuid[i] >> 4];
                out[2 * i + 1] = hex[uuid[i] & 15];
        }
        out[2 * VESC_UUID_LEN] = 0;
}

/**
 * fw_version_describe() - a firmware build for people
 * @major: @minor: @test_build: @fw_name: the build (@fw_name may be NULL)
 * @out: 96 bytes
 */
void fw_version_describe(uint8_t major, uint8_t minor, uint8_t test_build, const char *fw_name,
                         char out[static 96]) {
        int n = snprintf(out, 96, "%u.%02u", major, minor);

        if (test_build > 0)
                n += snprintf(out + n, 96 - (size_t) n, " beta %u", test_build);
        if (fw_name && fw_name[0])
                (void) snprintf(out + n, 96 - (size_t) n, " (%.40s)", fw_name);
}

/**
 * fw_identity_matches_image() - does the controller run exactly this build?
 * @ctl: the controller
 * @img: the image-set entry
 *
 * Compares hardware name, major, minor, and what that firmware generation
 * can report of itself: the test build from 5.00, the firmware name from
 * 6.00 (spec §12.1) — a 5.x image whose set records a name still runs as a
 * controller that reports none.
 *
 * Return: true if equal.
 */
bool fw_identity_matches_image(const FwIdentity *ctl, const FwImage *img) {
        if (ctl->major != img->major || ctl->minor != img->minor || strcmp(ctl->hw_name, img->hw_name) != 0)
                return false;
        if (img->major >= 5 && ctl->test_build != img->test_build)
                return false;
        return img->major < 6 || strcmp(ctl->fw_name, img->fw_name) == 0;
}

static int plan_refuse(FwSidePlan *p, FwError e, const char *fmt, ...) _printf_(3, 4);
static int plan_refuse(FwSidePlan *p, FwError e, const char *fmt, ...) {
        va_list ap;

        p->error = e;
        va_start(ap, fmt);
        (void) vsnprintf(p->text, sizeof p->text, fmt, ap);
        va_end(ap);
        return 0;
}

/**
 * fw_plan_side() - decide how (and whether) one controller can take an image
 * @ctl: the controller's current identity
 * @img: the image-set entry for it (its stream already built)
 * @ret: the plan; ret->error says whether the update is possible
 *
 * Checks the hardware name, the raw size (393 208 or 524 280 bytes), the
 * stream header (size, compression flag consistent with the raw size, CRC16)
 * and its length (≤ 393 214 bytes), then the bootloader rules: a compressed
 * stream needs a generation-2 bootloader in the set and firmware 3.59+ on
 * the controller (else "update to 5.03 first").
 *
 * Return: 0 (the verdict is in @ret), -EINVAL on NULL arguments.
 */
int fw_plan_side(const FwIdentity *ctl, const FwImage *img, FwSidePlan *ret) {
        char cur[96], tgt[96];

        if (!ctl || !img || !ret)
                return -EINVAL;

        *ret = (FwSidePlan) {};
        fw_version_describe(ctl->major, ctl->minor, ctl->test_build, ctl->fw_name, cur);
        fw_version_describe(img->major, img->minor, img->test_build, img->fw_name, tgt);

        if (strcmp(ctl->hw_name, img->hw_name) != 0)
                return plan_refuse(ret, FW_ERROR_WRONG_HARDWARE,
                                   "image is for hardware \"%.60s\", the controller is \"%.60s\"", img->hw_name,
                                   ctl->hw_name);
        if (img->raw_size > VESC_APP_SIZE_V6)
                return plan_refuse(ret, FW_ERROR_IMAGE_TOO_LARGE, "image of %zu bytes exceeds %u bytes",
                                   img->raw_size, VESC_APP_SIZE_V6);
        if (img->raw_size != VESC_APP_SIZE_V5 && img->raw_size != VESC_APP_SIZE_V6)
                return plan_refuse(ret, FW_ERROR_INVALID_IMAGE, "image of %zu bytes: every real build has %u or %u",
                                   img->raw_size, VESC_APP_SIZE_V5, VESC_APP_SIZE_V6);
        if (img->stream_len > VESC_UPLOAD_MAX)
                return plan_refuse(ret, FW_ERROR_IMAGE_TOO_LARGE,
                                   "upload stream of %zu bytes does not fit the %u-byte staging area",
                                   img->stream_len, VESC_UPLOAD_MAX);
        if (!img->stream || img->stream_len <= VESC_UPLOAD_HEADER)
                return plan_refuse(ret, FW_ERROR_INVALID_IMAGE, "no upload stream");

        /* The header: u32 size (0xCC in the top byte when compressed), u16 CRC16. */
        uint32_t word = be32_get(img->stream);
        bool compressed = (word >> 24) == VESC_COMPRESSED_FLAG;
        uint32_t size = compressed ? word & 0xFFFFFFu : word;
        if ((size_t) size + VESC_UPLOAD_HEADER != img->stream_len ||
            crc16(img->stream + VESC_UPLOAD_HEADER, size) != be16_get(img->stream + 4))
                return plan_refuse(ret, FW_ERROR_INVALID_IMAGE, "upload stream header does not match its data");
        if (compressed != (img->raw_size > VESC_APP_SIZE_V5))
                return plan_refuse(ret, FW_ERROR_INVALID_IMAGE,
                                   "a %zu-byte image must be sent %s", img->raw_size,
                                   compressed ? "plain" : "compressed");

        ret->compressed = compressed;
        ret->bootloader = compressed || img->min_bootloader >= 2;
        ret->up_to_date = fw_identity_matches_image(ctl, img);

        if (ret->bootloader) {
                if (!img->bootloader || img->bootloader_len == 0 || img->bootloader_generation < 2)
                        return plan_refuse(ret, FW_ERROR_NO_BOOTLOADER_IN_SET,
                                           "%s needs a generation-2 bootloader, and the set carries none for "
                                           "hardware \"%.60s\"", tgt, img->hw_name);
                if (img->bootloader_len > VESC_BOOTLOADER_SECTOR)
                        return plan_refuse(ret, FW_ERROR_INVALID_IMAGE, "bootloader of %zu bytes exceeds its sector",
                                           img->bootloader_len);
                if (ctl->major < 3 || (ctl->major == 3 && ctl->minor < 59))
                        return plan_refuse(ret, FW_ERROR_NEEDS_INTERMEDIATE,
                                           "%s → %s needs 5.03 first: %s cannot replace its bootloader "
                                           "(ERASE_BOOTLOADER needs 3.59+) and the old bootloader refuses "
                                           "compressed images", cur, tgt, cur);
        }

        (void) snprintf(ret->text, sizeof ret->text, "%s%s → %s, %s stream of %zu bytes%s", ret->up_to_date ? "reinstall " : "",
                        cur, tgt, compressed ? "compressed" : "plain", img->stream_len,
                        ret->bootloader ? ", bootloader first" : "");
        return 0;
}

/**
 * fw_plan_repair() - which controllers of a board must be updated to one set
 * @ctl: the controllers' current identities
 * @img: per controller, the set's entry for its hardware name
 * @n: number of controllers (1 or 2)
 * @ret: the plan
 *
 * A controller already running exactly its entry's build is left alone (the
 * seed: A on 5.03, B on 3.58, 5.03 set → update B only).  The plan is refused
 * (ret->error) when a controller that must be updated cannot take the image,
 * e.g. 3.58 → 6.05 needs 5.03 first.
 *
 * Return: 0 (verdict in @ret), -EINVAL on bad arguments.
 */
int fw_plan_repair(const FwIdentity *ctl, const FwImage *const *img, size_t n, FwRepairPlan *ret) {
        size_t updates = 0, len = 0;

        if (!ctl || !img || !ret || n == 0 || n > FW_SIDES_MAX)
                return -EINVAL;

        *ret = (FwRepairPlan) { .n = n };
        for (size_t i = 0; i < n; i++) {
                char uuid[2 * VESC_UUID_LEN + 1];
                FwSidePlan *p = &ret->side[i];
                int r = fw_plan_side(&ctl[i], img[i], p);
                if (r < 0)
                        return r;

                fw_uuid_format(ctl[i].uuid, uuid);
                ret->update[i] = !p->up_to_date;
                if (p->error == FW_ERROR_NONE && p->up_to_date) {
                        char cur[96];
                        fw_version_describe(ctl[i].major, ctl[i].minor, ctl[i].test_build, ctl[i].fw_name, cur);
                        (void) snprintf(p->text, sizeof p->text, "already runs %s", cur);
                }
                if (ret->update[i])
                        updates++;
                /* Wrong hardware is refused even for a controller that "matches":
                 * it cannot match. Other errors matter only where we update. */
                if (p->error != FW_ERROR_NONE && ret->error == FW_ERROR_NONE && ret->update[i])
                        ret->error = p->error;
                len += (size_t) snprintf(ret->text + len, sizeof ret->text - MIN(len, sizeof ret->text),
                                         "%s%s (id %u): %s%s", i > 0 ? "; " : "", uuid, ctl[i].can_id,
                                         ret->update[i] ? (p->error ? "cannot update: " : "update ") : "keep, ",
                                         p->text);
                len = MIN(len, sizeof ret->text - 1);
        }
        if (ret->error != FW_ERROR_NONE)
                for (size_t i = 0; i < n; i++)
                        ret->update[i] = false;
        else if (updates == 0)
                (void) snprintf(ret->text + len, sizeof ret->text - len, "; nothing to do");
        return 0;
}

/**
 * fw_erase_covered() - bytes of the new-app buffer an erase leaves blank
 * @erase_size: the size sent with ERASE_NEW_APP
 *
 * Return: @erase_size rounded up to 128 KiB sectors, at most 393 216.
 */
size_t fw_erase_covered(uint32_t erase_size) {
        size_t sector = VESC_BOOTLOADER_SECTOR; /* sectors 8-11 are all 128 KiB */
        size_t covered = ((size_t) erase_size + sector - 1) / sector * sector;

        return MIN(covered, (size_t) VESC_NEW_APP_BUFFER);
}

/**
 * fw_chunk_skippable() - may a stream chunk be left unsent?
 * @stream: the upload stream
 * @offset: chunk offset in the stream
 * @len: chunk length
 * @erased_end: fw_erase_covered() of the erase that preceded the writes
 *
 * Return: true when the chunk is all 0xFF, lies inside the erased range and
 * is not the header chunk.
 */
bool fw_chunk_skippable(const uint8_t *stream, size_t offset, size_t len, size_t erased_end) {
        if (offset == 0 || len == 0 || offset + len > erased_end)
                return false;
        for (size_t i = 0; i < len; i++)
                if (stream[offset + i] != 0xFF)
                        return false;
        return true;
}
