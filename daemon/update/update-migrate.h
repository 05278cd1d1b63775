/* Configuration migration inside update jobs (DESIGN "Decisions of 2026-12"
 * item 10): in the restoring step, a backup whose layout differs from the
 * target firmware's is carried by name into the configuration the
 * controller has after the update (its new defaults).  controller_id is
 * never carried (the CAN-id restore is its own step, item 6).  Pure. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/config-layout.h"

/* The migration of one part of one side, for the report. */
typedef struct FwMigration {
        bool done;
        const char *from, *to;        /* layout versions (static) */
        ConfigMigration names;        /* carried, dropped, defaulted, kept */
} FwMigration;

void fw_migration_done(FwMigration *m);

/* Whether a backup of this layout can be migrated to the firmware whose
 * configuration signature is target_signature: both layouts known and
 * different. */
bool fw_migration_possible(ConfigWhich which, const uint8_t *backup, size_t backup_len, uint32_t target_signature);

/* Carry backup into current (the controller's configuration after the
 * update, modified in place).  0; -ENOENT a layout is unknown, -EBADMSG a
 * blob does not match its layout, -ENOMEM.  *ret is replaced on success. */
int fw_migrate(ConfigWhich which, const uint8_t *backup, size_t backup_len, uint8_t *current, size_t current_len,
               FwMigration *ret);
