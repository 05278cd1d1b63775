/* Firmware update planning (see update-plan.h).  The rules come from DESIGN.md
 * "Firmware" and spec §14: 3.x-5.x images go plain and any bootloader takes
 * them; 6.x images go heatshrink-compressed and only a generation-2
 * bootloader takes them; since no firmware can say which bootloader it has,
 * a job sending a compressed stream installs the set's generation-2
 * bootloader itself, which needs ERASE_BOOTLOADER (3.59+). */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "update/update-plan.h"
#include "core/string-table.h"
#include "fwimage.h"
#include "macro.h"
#include "strv.h"
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

/* fw_error_to_string(): the stable name of an update error code, such as
 * "NeedsIntermediate", NULL out of range; fw_error_from_string(): the code,
 * or _FW_ERROR_INVALID (also for NULL). */
DEFINE_STRING_TABLE_LOOKUP(fw_error, FwError, fw_error_table, _FW_ERROR_MAX)

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
static bool identity_runs(const FwIdentity *ctl, const char *hw_name, uint8_t major, uint8_t minor, uint8_t test_build,
                          const char *fw_name) {
        if (ctl->major != major || ctl->minor != minor || strcmp(ctl->hw_name, hw_name) != 0)
                return false;
        if (major >= 5 && ctl->test_build != test_build)
                return false;
        return major < 6 || strcmp(ctl->fw_name, fw_name) == 0;
}

bool fw_identity_matches_image(const FwIdentity *ctl, const FwImage *img) {
        return identity_runs(ctl, img->hw_name, img->major, img->minor, img->test_build, img->fw_name);
}

/**
 * fw_identity_matches_entry() - fw_identity_matches_image() for an entry
 * described without its bytes
 */
bool fw_identity_matches_entry(const FwIdentity *ctl, const FwSetEntry *e) {
        return identity_runs(ctl, e->hw_name, e->major, e->minor, e->test_build, e->fw_name);
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

        if (ret->bootloader && img->bootloader && img->bootloader_len > VESC_BOOTLOADER_SECTOR)
                return plan_refuse(ret, FW_ERROR_INVALID_IMAGE, "bootloader of %zu bytes exceeds its sector",
                                   img->bootloader_len);
        FwSetEntry e = {
                .major = img->major, .minor = img->minor, .test_build = img->test_build,
                .compressed = compressed, .min_bootloader = img->min_bootloader,
                .bootloader_generation = img->bootloader && img->bootloader_len ? img->bootloader_generation : 0,
        };
        snprintf(e.hw_name, sizeof e.hw_name, "%s", img->hw_name);
        snprintf(e.fw_name, sizeof e.fw_name, "%s", img->fw_name);
        ret->error = fw_plan_path(ctl, &e, ret->text, sizeof ret->text);
        if (ret->error != FW_ERROR_NONE)
                return 0;

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

/**
 * fw_stream_written() - the bytes a transfer sends
 * @stream: the upload stream
 * @len: its length
 * @chunk: the write size
 *
 * Return: @len less the chunks fw_chunk_skippable() skips after the erase.
 */
size_t fw_stream_written(const uint8_t *stream, size_t len, size_t chunk) {
        size_t erased_end = fw_erase_covered((uint32_t) len), n = 0;

        if (chunk == 0)
                return len;
        for (size_t off = 0; off < len; off += chunk) {
                size_t l = MIN(chunk, len - off);

                if (!fw_chunk_skippable(stream, off, l, erased_end))
                        n += l;
        }
        return n;
}

/**
 * fw_plan_path() - the bootloader and hardware rules of fw_plan_side() for
 * an image-set entry described without its bytes
 * @ctl: the controller's current identity
 * @e: the entry
 * @text: receives the refusal (or "" when possible), may be NULL
 * @size: its size
 *
 * Return: FW_ERROR_NONE when @ctl can take @e directly, else why not
 * (WrongHardware, NoBootloaderInSet, NeedsIntermediate).
 */
FwError fw_plan_path(const FwIdentity *ctl, const FwSetEntry *e, char *text, size_t size) {
        char cur[96], tgt[96], dummy[2];

        if (!text) {
                text = dummy;
                size = sizeof dummy;
        }
        text[0] = 0;
        fw_version_describe(ctl->major, ctl->minor, ctl->test_build, ctl->fw_name, cur);
        fw_version_describe(e->major, e->minor, e->test_build, e->fw_name, tgt);
        if (strcmp(ctl->hw_name, e->hw_name) != 0) {
                (void) snprintf(text, size, "image is for hardware \"%.60s\", the controller is \"%.60s\"", e->hw_name,
                                ctl->hw_name);
                return FW_ERROR_WRONG_HARDWARE;
        }
        if (!(e->compressed || e->min_bootloader >= 2))
                return FW_ERROR_NONE;
        if (e->bootloader_generation < 2) {
                (void) snprintf(text, size,
                                "%s needs a generation-2 bootloader, and the set carries none for hardware \"%.60s\"",
                                tgt, e->hw_name);
                return FW_ERROR_NO_BOOTLOADER_IN_SET;
        }
        if (ctl->major < 3 || (ctl->major == 3 && ctl->minor < 59)) {
                (void) snprintf(text, size,
                                "%s → %s needs 5.03 first: %s cannot replace its bootloader (ERASE_BOOTLOADER needs "
                                "3.59+) and the old bootloader refuses compressed images",
                                cur, tgt, cur);
                return FW_ERROR_NEEDS_INTERMEDIATE;
        }
        return FW_ERROR_NONE;
}

/* ------------------------------------------------------------ the steps */

const FwSetEntry *fw_set_find(const FwSetInfo *s, const char *hw_name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->entries[i].hw_name, hw_name) == 0)
                        return &s->entries[i];
        return NULL;
}

/* The set has an entry for every member's hardware. */
static bool set_covers(const FwSetInfo *s, const FwIdentity *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!fw_set_find(s, m[i].hw_name))
                        return false;
        return true;
}

/* Members all run one build (as far as fw_identity_matches_entry() tells). */
static bool members_agree(const FwIdentity *m, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (m[i].major != m[0].major || m[i].minor != m[0].minor || m[i].test_build != m[0].test_build ||
                    strcmp(m[i].fw_name, m[0].fw_name) != 0)
                        return false;
        return true;
}

/* Every member not already on the set's build can take it directly; the
 * members as they are after the step go to @after. */
static bool step_possible(const FwIdentity *m, size_t n, const FwSetInfo *s, FwIdentity *after) {
        for (size_t i = 0; i < n; i++) {
                const FwSetEntry *e = fw_set_find(s, m[i].hw_name);
                if (!e)
                        return false;
                if (!fw_identity_matches_entry(&m[i], e) && fw_plan_path(&m[i], e, NULL, 0) != FW_ERROR_NONE)
                        return false;
                after[i] = m[i];
                after[i].major = e->major;
                after[i].minor = e->minor;
                after[i].test_build = e->test_build;
                snprintf(after[i].fw_name, sizeof after[i].fw_name, "%s", e->fw_name);
        }
        return true;
}

static bool runs_goal(const FwIdentity *m, size_t n, const FwSetInfo *goal) {
        for (size_t i = 0; i < n; i++) {
                const FwSetEntry *e = fw_set_find(goal, m[i].hw_name);
                if (!e || !fw_identity_matches_entry(&m[i], e))
                        return false;
        }
        return true;
}

/* "update 2f00… (id 74) from 3.58 to 5.03, 3c00… (id 12) from 3.58 to 5.03" */
static int describe_updates(const FwIdentity *m, size_t n, const FwSetInfo *s, char *buf, size_t size) {
        size_t len = 0, k = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n; i++) {
                const FwSetEntry *e = fw_set_find(s, m[i].hw_name);
                char uuid[2 * VESC_UUID_LEN + 1], cur[96], tgt[96];
                if (!e || fw_identity_matches_entry(&m[i], e))
                        continue;
                fw_uuid_format(m[i].uuid, uuid);
                fw_version_describe(m[i].major, m[i].minor, m[i].test_build, m[i].fw_name, cur);
                fw_version_describe(e->major, e->minor, e->test_build, e->fw_name, tgt);
                len += (size_t) snprintf(buf + len, size - MIN(len, size), "%s%s %s (id %u) from %s to %s",
                                         k ? "," : "", k ? "" : "update", uuid, m[i].can_id, cur, tgt);
                len = MIN(len, size - 1);
                k++;
        }
        return (int) k;
}

/* "firmware 5.03 for hardware 60 and 75_300" */
static void describe_set(const FwSetInfo *s, const FwIdentity *m, size_t n, char *buf, size_t size) {
        size_t len = 0;
        char v[96];

        const FwSetEntry *e0 = fw_set_find(s, m[0].hw_name);
        if (!e0) {
                (void) snprintf(buf, size, "an image for hardware %s", m[0].hw_name);
                return;
        }
        fw_version_describe(e0->major, e0->minor, e0->test_build, e0->fw_name, v);
        len = (size_t) snprintf(buf, size, "firmware %s for hardware", v);
        for (size_t i = 0; i < n && len < size; i++) {
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                        dup = dup || strcmp(m[k].hw_name, m[i].hw_name) == 0;
                if (!dup)
                        len += (size_t) snprintf(buf + len, size - len, "%s %s", i ? " and" : "", m[i].hw_name);
        }
}

static int add_step(Strv *l, const FwIdentity *m, size_t n, const FwSetInfo *s) {
        char ups[4 * FW_TEXT_MAX], v[96];
        const FwSetEntry *e0 = fw_set_find(s, m[0].hw_name);

        if (!e0)
                return -EINVAL;
        fw_version_describe(e0->major, e0->minor, e0->test_build, e0->fw_name, v);
        (void) describe_updates(m, n, s, ups, sizeof ups);
        if (s->hypothetical)
                return strv_addf(l, "%s with that set (%s): %s", members_agree(m, n) ? "update the board" : "repair",
                                  v, ups);
        return strv_addf(l, "%s with image set %s (%s): %s", members_agree(m, n) ? "update the board" : "repair",
                          s->id, v, ups);
}

/**
 * fw_plan_steps() - the steps that bring every member to the goal's build
 * @m: the members' identities (n ≥ 1)
 * @n: their number
 * @sets: the installed sets, then any the planner may suggest installing
 *        (hypothetical, e.g. the goal's build or 5.03 as the step between)
 * @n_sets: their number
 * @goal: the set whose build every member should run (one of @sets)
 * @ret: receives a NULL-terminated array of malloc'd lines (free with
 *       fw_plan_steps_free()), empty when the members run the goal already;
 *       more than one line are numbered "1. ", "2. " …
 *
 * Each step is a Repair (the members differ before it: only the differing
 * ones are written) or an UpdateBoard (they agree), possible by
 * fw_plan_path() for every member it writes; a hypothetical set adds an
 * "install" step first.  At most two jobs (3.58 → 5.03 → 6.05); the path
 * with the fewest sets to install, then the fewest jobs, wins.
 *
 * A job needs every member answering (vescd refuses it with Offline), so
 * while a member is offline and the board does not run the goal, the lines
 * are no job but "bring 2f00… (id 74) back online: …", one per offline
 * member; the steps come back once it answers.
 *
 * Return: 0 (a path found), -ENOENT (none: *ret says why in one line),
 * -EHOSTDOWN (a member offline: *ret says which), -EINVAL, -ENOMEM.
 */
int fw_plan_steps(const FwIdentity *m, size_t n, const FwSetInfo *sets, size_t n_sets, const FwSetInfo *goal,
                  char ***ret) {
        FwIdentity *a = NULL, *b = NULL;
        Strv l = {};
        int best_cost = INT_MAX, r = 0;
        size_t best[2] = { SIZE_MAX, SIZE_MAX };

        if (!m || n == 0 || !goal || !ret || (n_sets > 0 && !sets))
                return -EINVAL;
        a = calloc(n, sizeof *a);
        b = calloc(n, sizeof *b);
        if (!a || !b) {
                r = -ENOMEM;
                goto out;
        }

        if (!runs_goal(m, n, goal)) {
                /* no job while a member does not answer: say what works instead */
                for (size_t i = 0; i < n; i++) {
                        char uuid[2 * VESC_UUID_LEN + 1];
                        if (!m[i].offline)
                                continue;
                        fw_uuid_format(m[i].uuid, uuid);
                        r = strv_addf(&l, "bring %s (id %u) back online: check its power and CAN wiring (a firmware "
                                      "job needs every motor controller of the board answering)", uuid, m[i].can_id);
                        if (r < 0)
                                goto out;
                        r = -EHOSTDOWN;
                }
                if (r == -EHOSTDOWN)
                        goto done;
                for (size_t i = 0; i < n_sets; i++) {
                        const FwSetInfo *s1 = &sets[i];
                        if (!set_covers(s1, m, n) || !step_possible(m, n, s1, a))
                                continue;
                        if (runs_goal(a, n, goal)) {
                                int cost = 10 * s1->hypothetical + 1;
                                if (cost < best_cost) {
                                        best_cost = cost;
                                        best[0] = i;
                                        best[1] = SIZE_MAX;
                                }
                                continue;
                        }
                        for (size_t k = 0; k < n_sets; k++) {
                                const FwSetInfo *s2 = &sets[k];
                                if (k == i || !set_covers(s2, m, n) || !step_possible(a, n, s2, b) || !runs_goal(b, n, goal))
                                        continue;
                                int cost = 10 * (s1->hypothetical + s2->hypothetical) + 2;
                                if (cost < best_cost) {
                                        best_cost = cost;
                                        best[0] = i;
                                        best[1] = k;
                                }
                        }
                }
                if (best[0] == SIZE_MAX) {
                        char why[FW_TEXT_MAX] = "";
                        for (size_t i = 0; i < n && !why[0]; i++) {
                                const FwSetEntry *e = fw_set_find(goal, m[i].hw_name);
                                if (!e)
                                        (void) snprintf(why, sizeof why, "the set has no image for hardware \"%.60s\"",
                                                        m[i].hw_name);
                                else if (!fw_identity_matches_entry(&m[i], e))
                                        (void) fw_plan_path(&m[i], e, why, sizeof why);
                        }
                        r = strv_addf(&l, "no path to the set's firmware: %s", why[0] ? why : "no set fits");
                        if (r >= 0)
                                r = -ENOENT;
                        goto done;
                }

                /* write the lines */
                const FwIdentity *cur = m;
                FwIdentity *next = a;
                for (size_t s = 0; s < 2 && best[s] != SIZE_MAX; s++) {
                        const FwSetInfo *set = &sets[best[s]];
                        if (set->hypothetical) {
                                char what[256];
                                describe_set(set, cur, n, what, sizeof what);
                                r = strv_addf(&l, "install an image set with %s", what);
                                if (r < 0)
                                        goto out;
                        }
                        r = add_step(&l, cur, n, set);
                        if (r < 0)
                                goto out;
                        (void) step_possible(cur, n, set, next);
                        cur = next;
                        next = next == a ? b : a;
                }
        }
done:
        if (l.n > 1)
                for (size_t i = 0; i < l.n; i++) {
                        char *s = NULL;
                        if (asprintf(&s, "%zu. %s", i + 1, l.v[i]) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        free(l.v[i]);
                        l.v[i] = s;
                }
        *ret = strv_take(&l);
        if (!*ret)
                r = -ENOMEM;
out:
        strv_done(&l);
        free(a);
        free(b);
        return r;
}

/**
 * fw_plan_steps_free() - free what fw_plan_steps() returned
 */
void fw_plan_steps_free(char **v) {
        strv_free(v);
}
