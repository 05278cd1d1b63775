/* Firmware update planning: what an update of one controller, or the repair
 * of a pair, needs and whether it is possible at all — decided from the
 * controllers' identities and the image-set entries before a byte is sent.
 * Also the stable error codes every part of the update engine reports, and
 * the steps that would work (fw_plan_steps(): the board's Actions and a
 * refused PlanUpdate's steps come from here).
 * Pure: no I/O; only fw_plan_steps() allocates. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/vesc-comm.h"

/* the member MCUs one transaction covers (UpdateBoard) */
#define FW_SIDES_MAX 8u
#define FW_TEXT_MAX  256u

typedef enum FwError {
        FW_ERROR_NONE = 0,
        FW_ERROR_WRONG_HARDWARE,
        FW_ERROR_INVALID_IMAGE,
        FW_ERROR_IMAGE_TOO_LARGE,
        FW_ERROR_NEEDS_INTERMEDIATE,
        FW_ERROR_NO_BOOTLOADER_IN_SET,
        FW_ERROR_GATE_FAILED,
        FW_ERROR_TIMEOUT,
        FW_ERROR_REFUSED,
        FW_ERROR_BOOTLOADER_REFUSED,
        FW_ERROR_WRONG_VERSION_AFTER_UPDATE,
        FW_ERROR_CANCELLED,
        FW_ERROR_CONTROLLER_LOST,
        FW_ERROR_BRICKED,
        FW_ERROR_NOT_COMMITTED,
        FW_ERROR_INTERNAL,
        _FW_ERROR_MAX,
        _FW_ERROR_INVALID = -EINVAL,
} FwError;

const char *fw_error_to_string(FwError e);
FwError fw_error_from_string(const char *s);

/* A controller as COMM_FW_VERSION describes it.  Fields a version does not
 * send are normalised: test build 0 (release), firmware name "". */
typedef struct FwIdentity {
        uint8_t uuid[VESC_UUID_LEN];
        uint8_t can_id;
        uint8_t major, minor, test_build;
        char hw_name[VESC_NAME_MAX];
        char fw_name[VESC_NAME_MAX];
        bool offline;           /* does not answer now: no job can take it (fw_plan_steps()) */
} FwIdentity;

void fw_identity_from_version(FwIdentity *ret, const VescFwVersion *v, uint8_t can_id);
/* 24 lower-case hex digits + NUL. */
void fw_uuid_format(const uint8_t uuid[static VESC_UUID_LEN], char out[static 2 * VESC_UUID_LEN + 1]);
/* "3.58", "6.05", "6.05 beta 3", "6.05 (no_hw_limits)". */
void fw_version_describe(uint8_t major, uint8_t minor, uint8_t test_build, const char *fw_name,
                         char out[static 96]);

/* One hardware's entry of an image set, with the upload stream already built
 * (vesc_upload_stream_build(): 6-byte header + plain or heatshrink data).
 * All buffers are borrowed and must outlive every job that uses the entry. */
typedef struct FwImage {
        char hw_name[VESC_NAME_MAX];
        uint8_t major, minor, test_build;
        char fw_name[VESC_NAME_MAX];
        uint8_t min_bootloader;          /* minimum bootloader generation */
        size_t raw_size;                 /* the raw application image */
        const uint8_t *stream;
        size_t stream_len;
        const uint8_t *bootloader;       /* NULL: the set has none for this hw */
        size_t bootloader_len;
        uint8_t bootloader_generation;
} FwImage;

/* True when firmware running on ctl is exactly the image's build. */
bool fw_identity_matches_image(const FwIdentity *ctl, const FwImage *img);

/* An image-set entry as the planner needs it, without the image bytes. */
typedef struct FwSetEntry {
        char hw_name[VESC_NAME_MAX];
        uint8_t major, minor, test_build;
        char fw_name[VESC_NAME_MAX];
        bool compressed;                 /* a 6.x-size image: sent heatshrink-compressed */
        uint8_t min_bootloader;
        uint8_t bootloader_generation;   /* 0: the set carries no bootloader for this hardware */
} FwSetEntry;

/* An installed set (or one the planner suggests installing). */
typedef struct FwSetInfo {
        char id[24];                     /* 16 hex digits; "" when hypothetical */
        const FwSetEntry *entries;
        size_t n;
        bool hypothetical;               /* not installed: a step says to install it */
} FwSetInfo;

bool fw_identity_matches_entry(const FwIdentity *ctl, const FwSetEntry *e);
const FwSetEntry *fw_set_find(const FwSetInfo *s, const char *hw_name);
/* fw_plan_side()'s hardware and bootloader rules without the bytes:
 * FW_ERROR_NONE, WRONG_HARDWARE, NO_BOOTLOADER_IN_SET or NEEDS_INTERMEDIATE
 * (text, optional, says why). */
FwError fw_plan_path(const FwIdentity *ctl, const FwSetEntry *e, char *text, size_t size);
/* The numbered steps (Repair / UpdateBoard jobs, installs of hypothetical
 * sets) that bring every member to the goal set's build; see update-plan.c.
 * 0, -ENOENT (no path; the one line says why), -EHOSTDOWN (a member is
 * offline: the lines say to bring it back, no job), -EINVAL, -ENOMEM. */
int fw_plan_steps(const FwIdentity *members, size_t n, const FwSetInfo *sets, size_t n_sets, const FwSetInfo *goal,
                  char ***ret);
void fw_plan_steps_free(char **v);

typedef struct FwSidePlan {
        FwError error;          /* FW_ERROR_NONE: the update is possible */
        bool compressed;        /* the stream is heatshrink-compressed (6.x) */
        bool bootloader;        /* the job must install the set's bootloader first */
        bool up_to_date;        /* the controller already runs this image */
        char text[FW_TEXT_MAX]; /* the plan or the refusal, for people */
} FwSidePlan;

int fw_plan_side(const FwIdentity *ctl, const FwImage *img, FwSidePlan *ret);

typedef struct FwRepairPlan {
        FwError error;                         /* FW_ERROR_NONE: possible (maybe nothing to do) */
        size_t n;
        bool update[FW_SIDES_MAX];             /* which controllers the job must update */
        FwSidePlan side[FW_SIDES_MAX];
        char text[4 * FW_TEXT_MAX];
} FwRepairPlan;

int fw_plan_repair(const FwIdentity *ctl, const FwImage *const *img, size_t n, FwRepairPlan *ret);

/* Bytes of the new-app buffer that ERASE_NEW_APP(size) leaves erased: whole
 * 128 KiB sectors from offset 0, at most the 3-sector buffer. */
size_t fw_erase_covered(uint32_t erase_size);
/* A write of stream[offset, offset+len) may be skipped: every byte is 0xFF,
 * the erase covered it, and it is not the header chunk (offset 0). */
bool fw_chunk_skippable(const uint8_t *stream, size_t offset, size_t len, size_t erased_end);
/* Bytes of an upload stream that go over the bus when it is written in
 * chunk-byte writes after ERASE_NEW_APP(len): the chunks not skippable. */
size_t fw_stream_written(const uint8_t *stream, size_t len, size_t chunk);
