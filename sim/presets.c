/* Preset boards, exactly as DESIGN.md's table describes them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "presets.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"

/* Status schedules in the two-set form (sim_fw_appconf_schedule()). */
#define SCHED_OFF(major) ((SimStatusSchedule) { .rate = { 50, (major) >= 6 ? 5 : 0 } })
#define SCHED_S1_50HZ ((SimStatusSchedule) { .rate = { 50, 0 }, .msgs = { 0x01, 0 } })
#define SCHED_S1234_50HZ(major) ((SimStatusSchedule) { .rate = { 50, (major) >= 6 ? 5 : 0 }, .msgs = { 0x0f, 0 } })

typedef struct PresetRow {
        const char *uuid;
        uint8_t id, major, minor, gen;
        SimStatusSchedule sched;
        const char *hw_name;            /* NULL: "60" */
        uint8_t hw_type;
        bool ping_fw_only;
        bool dual_motor;
} PresetRow;

#define UUID_C "410033000f51393236353934"
#define UUID_D "1e0027001151363336333500"
#define UUID_EXPRESS "f412fa4a1b2c000000000000"
#define UUID_BMS "5b0030000851393236353934"
#define UUID_DUAL "5a0030000951393236353940"

/* board-4wd-collide: four chips of one wafer (lot Q926594, wafer 13) whose
 * UUID default ids (spec §8.4; the same for 5.03 and 6.05) collide in two
 * pairs: F1 and R1 both 40, F2 and R2 both 45.  The user gave them ids
 * 20, 21, 30, 31, none at a default. */
#define UUID_F1 "100023000d51393236353934"
#define UUID_F2 "110029000d51393236353934"
#define UUID_R1 "170028000d51393236353934"
#define UUID_R2 "160022000d51393236353934"

/* A VESC Express (custom module) and a VESC BMS: 6.05, broadcasts off,
 * PING and FW_VERSION only. */
#define ROW_EXPRESS { UUID_EXPRESS, 2, 6, 5, 2, SCHED_OFF(6), "VESC Express T", 2, true, false }
#define ROW_BMS { UUID_BMS, 10, 6, 5, 2, SCHED_OFF(6), "12s7p", 1, true, false }

typedef struct Preset {
        const char *name;
        size_t n;
        PresetRow rows[PRESET_MAX_CONTROLLERS];
} Preset;

static const Preset presets[] = {
        /* The seed: A's update took (config reset: id 12, broadcasts off),
         * B stayed on 3.58 with STATUS_1 at 50 Hz. */
        { "dual-mismatch", 2, {
                { UUID_A, 12, 5, 3, 1, SCHED_OFF(5) },
                { UUID_B, 74, 3, 58, 1, SCHED_S1_50HZ },
        } },
        { "dual-ok", 2, {
                { UUID_A, 12, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_B, 74, 6, 5, 2, SCHED_S1234_50HZ(6) },
        } },
        { "single", 1, {
                { UUID_A, 12, 6, 5, 2, SCHED_OFF(6) },
        } },
        { "dual-old-bootloader", 2, {
                { UUID_A, 12, 5, 3, 1, SCHED_OFF(5) },
                { UUID_B, 74, 5, 3, 1, SCHED_OFF(5) },
        } },
        { "dual-358", 2, {
                { UUID_A, 10, 3, 58, 1, SCHED_OFF(3) },
                { UUID_B, 74, 3, 58, 1, SCHED_OFF(3) },
        } },
        { "dual-mismatch-accessories", 4, {
                { UUID_A, 12, 5, 3, 1, SCHED_OFF(5) },
                { UUID_B, 74, 3, 58, 1, SCHED_S1_50HZ },
                ROW_EXPRESS,
                ROW_BMS,
        } },
        /* Two dual boards: four controllers, each at its UUID's default id. */
        { "board-4wd", 4, {
                { UUID_A, 12, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_B, 74, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_C, 21, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_D, 62, 6, 5, 2, SCHED_S1234_50HZ(6) },
        } },
        /* Two dual boards whose default ids collide in two pairs. */
        { "board-4wd-collide", 4, {
                { UUID_F1, 20, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_F2, 21, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_R1, 30, 6, 5, 2, SCHED_S1234_50HZ(6) },
                { UUID_R2, 31, 6, 5, 2, SCHED_S1234_50HZ(6) },
        } },
        /* One MCU, two motors: id 20 (set by the user) and 21. */
        { "dual-mcu", 1, {
                { UUID_DUAL, 20, 6, 5, 2, SCHED_S1234_50HZ(6), "STORMCORE_100D", 0, false, true },
        } },
};

const char *const preset_names[] = {
        "dual-mismatch", "dual-ok", "single", "dual-old-bootloader", "dual-358",
        "dual-mismatch-accessories", "board-4wd", "board-4wd-collide", "dual-mcu", NULL,
};

static void uuid_parse(const char *hex, uint8_t out[static 12]) {
        for (int i = 0; i < 12; i++) {
                unsigned v = 0;
                (void) sscanf(hex + 2 * i, "%2x", &v);
                out[i] = (uint8_t) v;
        }
}

/**
 * preset_lookup() - controller specs of a preset board
 * @name: preset name
 * @specs: receives the controllers, named "A", "B", ...
 *
 * Returns the number of controllers, or -ENOENT.
 */
int preset_lookup(const char *name, VctlSpec specs[static PRESET_MAX_CONTROLLERS]) {
        for (size_t i = 0; i < ELEMENTSOF(presets); i++) {
                const Preset *p = &presets[i];

                if (strcmp(p->name, name) != 0)
                        continue;
                for (size_t k = 0; k < p->n; k++) {
                        const PresetRow *r = &p->rows[k];

                        specs[k] = (VctlSpec) {
                                .id = r->id,
                                .major = r->major,
                                .minor = r->minor,
                                .bootloader_generation = r->gen,
                                .schedule = r->sched,
                                .hw_type = r->hw_type,
                                .ping_fw_only = r->ping_fw_only,
                                .dual_motor = r->dual_motor,
                        };
                        snprintf(specs[k].name, sizeof specs[k].name, "%c", (char) ('A' + k));
                        snprintf(specs[k].hw_name, sizeof specs[k].hw_name, "%s", r->hw_name ? r->hw_name : "60");
                        uuid_parse(r->uuid, specs[k].uuid);
                }
                return (int) p->n;
        }
        return -ENOENT;
}
