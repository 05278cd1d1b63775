/* Configuration migration inside update jobs.  See update-migrate.h. */
#include <errno.h>
#include <string.h>

#include "update/update-migrate.h"

void fw_migration_done(FwMigration *m) {
        if (!m)
                return;
        config_migration_done(&m->names);
        *m = (FwMigration) {};
}

static const ConfigLayout *layout_of(ConfigWhich which, const uint8_t *blob, size_t len) {
        const ConfigLayout *l = config_layout_of_blob(which, blob, len);
        return l && l->size == len ? l : NULL;
}

bool fw_migration_possible(ConfigWhich which, const uint8_t *backup, size_t backup_len, uint32_t target_signature) {
        const ConfigLayout *from = layout_of(which, backup, backup_len);
        const ConfigLayout *to = config_layout_find(which, target_signature);

        return from && to && from != to;
}

int fw_migrate(ConfigWhich which, const uint8_t *backup, size_t backup_len, uint8_t *current, size_t current_len,
               FwMigration *ret) {
        const ConfigLayout *from = layout_of(which, backup, backup_len);
        const ConfigLayout *to = layout_of(which, current, current_len);
        ConfigMigration m = {};
        int r;

        if (!from || !to)
                return -ENOENT;
        r = config_migrate(from, backup, backup_len, to, current, current_len, &m);
        if (r < 0)
                return r;
        fw_migration_done(ret);
        *ret = (FwMigration) { .done = true, .from = from->version, .to = to->version, .names = m };
        return 0;
}
