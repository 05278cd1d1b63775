/* Who is calling: the admin check from the bus's own record of a caller.
 *
 * The bus daemon learnt the caller's uid and groups from its socket
 * (SO_PEERCRED, SO_PEERGROUPS) when the caller connected; we ask it with
 * org.freedesktop.DBus.GetConnectionCredentials (UnixUserID, UnixGroupIDs)
 * instead of reading /proc, which a unit with ProtectProc=invisible cannot
 * see for other users' processes.  The question goes out asynchronously: a
 * privileged method's first dispatch parks its message here and returns;
 * when the answer arrives the message is rewound and queued for dispatch
 * again (sd_bus_enqueue_for_read()), and the second dispatch finds the
 * answer in the cache.  Entries are per unique name (never reused by the
 * bus) and dropped when the name goes away (NameOwnerChanged). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dbus/bus.h"
#include "core/daemon.h"
#include "core/errors.h"
#include "core/log.h"
#include "macro.h"

/* Callers remembered at once; the least recently used answered one makes
 * room for a new caller. */
#define CREDS_MAX 128
/* Calls of one caller waiting for its credentials. */
#define CREDS_WAITING_MAX 16

typedef struct CredsEntry {
        BusCreds *owner;
        char *sender;
        bool ready;
        uid_t uid;
        gid_t *gids;
        size_t n_gids;
        uint64_t used;
        sd_bus_slot *slot;                 /* GetConnectionCredentials in flight */
        sd_bus_message *waiting[CREDS_WAITING_MAX];
        size_t n_waiting;
} CredsEntry;

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *name_slot;            /* NameOwnerChanged */
        CredsEntry *e[CREDS_MAX];
        size_t n;
        uint64_t clock;
};

static void entry_free(CredsEntry *e) {
        if (!e)
                return;
        sd_bus_slot_unref(e->slot);
        for (size_t i = 0; i < e->n_waiting; i++)
                sd_bus_message_unref(e->waiting[i]);
        free(e->gids);
        free(e->sender);
        free(e);
}

static void entry_drop(BusCreds *bc, CredsEntry *e) {
        for (size_t i = 0; i < bc->n; i++)
                if (bc->e[i] == e) {
                        bc->e[i] = bc->e[--bc->n];
                        break;
                }
        entry_free(e);
}

static CredsEntry *entry_find(BusCreds *bc, const char *sender) {
        for (size_t i = 0; i < bc->n; i++)
                if (strcmp(bc->e[i]->sender, sender) == 0)
                        return bc->e[i];
        return NULL;
}

/* Reads the a{sv} of GetConnectionCredentials into e. */
static int read_credentials(sd_bus_message *reply, CredsEntry *e) {
        bool have_uid = false;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "UnixUserID") == 0) {
                        uint32_t uid;
                        r = sd_bus_message_read(reply, "v", "u", &uid);
                        if (r < 0)
                                return r;
                        e->uid = (uid_t) uid;
                        have_uid = true;
                } else if (strcmp(key, "UnixGroupIDs") == 0) {
                        const void *v;
                        size_t sz;
                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(reply, 'u', &v, &sz);
                        if (r < 0)
                                return r;
                        free(e->gids);
                        e->n_gids = sz / sizeof(uint32_t);
                        e->gids = calloc(e->n_gids + 1, sizeof(gid_t));
                        if (!e->gids)
                                return -ENOMEM;
                        for (size_t i = 0; i < e->n_gids; i++)
                                e->gids[i] = (gid_t) ((const uint32_t *) v)[i];
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        return have_uid ? 0 : -ENODATA;
}

static int on_credentials(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CredsEntry *e = userdata;
        BusCreds *bc = e->owner;
        const sd_bus_error *err = sd_bus_message_get_error(reply);
        int r = err ? -sd_bus_error_get_errno(err) : read_credentials(reply, e);

        e->slot = sd_bus_slot_unref(e->slot);
        if (r < 0) {
                /* the caller left, or the bus cannot say: refuse what waits */
                log_rl_info("Cannot learn the credentials of %s from the bus: %s", e->sender,
                            err ? err->message : strerror(-r));
                for (size_t i = 0; i < e->n_waiting; i++)
                        (void) sd_bus_reply_method_errorf(e->waiting[i], VESCD_ERROR_PREFIX "PermissionDenied",
                                                          "Cannot tell who is calling: the bus did not say");
                entry_drop(bc, e);
                return 0;
        }
        e->ready = true;
        /* dispatch the parked calls again; this time the check answers */
        for (size_t i = 0; i < e->n_waiting; i++) {
                sd_bus_message *m = e->waiting[i];
                (void) sd_bus_message_rewind(m, /* complete= */ true);
                r = sd_bus_enqueue_for_read(bc->bus, m);
                if (r < 0)
                        (void) sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "Cannot dispatch the call again: %s",
                                                          strerror(-r));
                sd_bus_message_unref(m);
        }
        e->n_waiting = 0;
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusCreds *bc = userdata;
        const char *name, *old_owner, *new_owner;
        CredsEntry *e;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] != ':' || new_owner[0] != '\0')
                return 0;
        e = entry_find(bc, name);
        /* one in flight ends with an error reply, which drops it */
        if (e && e->ready)
                entry_drop(bc, e);
        return 0;
}

/**
 * bus_creds_new() - the credentials cache of a connection
 * @bus: the connection (to a bus daemon)
 * @ret: receives the cache
 *
 * Returns: 0 or -errno.
 */
int bus_creds_new(sd_bus *bus, BusCreds **ret) {
        BusCreds *bc = calloc(1, sizeof *bc);
        int r;

        if (!bc)
                return -ENOMEM;
        bc->bus = bus;
        r = sd_bus_match_signal_async(bus, &bc->name_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL, bc);
        if (r < 0) {
                free(bc);
                return r;
        }
        *ret = bc;
        return 0;
}

BusCreds *bus_creds_free(BusCreds *bc) {
        if (!bc)
                return NULL;
        sd_bus_slot_unref(bc->name_slot);
        for (size_t i = 0; i < bc->n; i++)
                entry_free(bc->e[i]);
        free(bc);
        return NULL;
}

/* Room for one more caller: drops the least recently used answered entry. */
static int make_room(BusCreds *bc) {
        CredsEntry *lru = NULL;

        if (bc->n < CREDS_MAX)
                return 0;
        for (size_t i = 0; i < bc->n; i++)
                if (bc->e[i]->ready && (!lru || bc->e[i]->used < lru->used))
                        lru = bc->e[i];
        if (!lru)
                return -EBUSY;
        entry_drop(bc, lru);
        return 0;
}

/**
 * bus_creds_check_admin() - may the sender of m change controllers
 * @bc: the cache
 * @d: the daemon (its admin rule, daemon_check_admin())
 * @m: the method call
 * @error: set to PermissionDenied on refusal
 *
 * Returns: 1 allowed; 0 not known yet: m is parked and dispatched again once
 * the bus answered, so the method handler returns 1 (handled) now; -EPERM
 * refused (error set); other -errno.
 */
int bus_creds_check_admin(BusCreds *bc, Daemon *d, sd_bus_message *m, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(m);
        CredsEntry *e;
        int r;

        if (!sender)
                return sd_bus_error_setf(error, VESCD_ERROR_PREFIX "PermissionDenied",
                                         "Cannot tell who is calling: the call has no sender");
        e = entry_find(bc, sender);
        if (e && e->ready) {
                e->used = ++bc->clock;
                /* the bus gives no primary gid: UnixGroupIDs holds every group */
                if (daemon_check_admin(d, e->uid, (gid_t) -1, e->gids, e->n_gids) > 0)
                        return 1;
                log_rl_info("Refused %s.%s from uid %u: not root or in group %s", sd_bus_message_get_interface(m),
                            sd_bus_message_get_member(m), (unsigned) e->uid, daemon_config(d)->admin_group);
                /* named by the method, as the JSON socket does: not every one changes a controller */
                return sd_bus_error_setf(error, VESCD_ERROR_PREFIX "PermissionDenied",
                                         "%s needs root or membership in group '%s'",
                                         sd_bus_message_get_member(m) ? sd_bus_message_get_member(m) : "This call",
                                         daemon_config(d)->admin_group);
        }
        if (!e) {
                r = make_room(bc);
                if (r < 0)
                        return sd_bus_error_setf(error, VESCD_ERROR_PREFIX "Busy",
                                                 "Too many callers waiting for their credentials; try again");
                e = calloc(1, sizeof *e);
                if (!e)
                        return -ENOMEM;
                e->owner = bc;
                e->sender = strdup(sender);
                if (!e->sender) {
                        free(e);
                        return -ENOMEM;
                }
                r = sd_bus_call_method_async(bc->bus, &e->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetConnectionCredentials", on_credentials, e,
                                             "s", sender);
                if (r < 0) {
                        entry_free(e);
                        return r;
                }
                bc->e[bc->n++] = e;
        }
        if (e->n_waiting >= CREDS_WAITING_MAX)
                return sd_bus_error_setf(error, VESCD_ERROR_PREFIX "Busy",
                                         "Too many calls waiting for the caller's credentials; try again");
        e->waiting[e->n_waiting++] = sd_bus_message_ref(m);
        return 0;
}

/**
 * bus_creds_uid() - the uid of the sender of m, once bus_creds_check_admin()
 * answered for it
 * @bc: the cache
 * @m: the method call
 * @ret: receives the uid
 *
 * Returns: 0, or -ENODATA when the caller's credentials are not known.
 */
int bus_creds_uid(BusCreds *bc, sd_bus_message *m, uid_t *ret) {
        const char *sender = sd_bus_message_get_sender(m);
        CredsEntry *e = sender ? entry_find(bc, sender) : NULL;

        if (!e || !e->ready)
                return -ENODATA;
        *ret = e->uid;
        return 0;
}
