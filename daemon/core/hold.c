/* Holds: one owner per controller (see hold.h).  A table is a short list
 * (a few controllers, a few operations each), searched linearly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hold.h"
#include "core/string-table.h"

struct Hold {
        HoldTable *table;
        Hold *prev, *next;
        uint8_t uuid[HOLD_UUID_LEN];
        HoldKind kind;
        bool ready;
        char *text;
        HoldDescribeFn describe;
        HoldReadyFn on_ready;
        void *userdata;
};

struct HoldTable {
        Hold *first, *last;
        HoldReleasedFn released;
        void *released_userdata;
};

static const char *const hold_kind_table[_HOLD_KIND_MAX] = {
        [HOLD_SHARED] = "shared",
        [HOLD_EXCLUSIVE] = "exclusive",
};

/* hold_kind_to_string(): "shared", "exclusive", or NULL out of range;
 * hold_kind_from_string(): the kind, or _HOLD_KIND_INVALID. */
DEFINE_STRING_TABLE_LOOKUP(hold_kind, HoldKind, hold_kind_table, _HOLD_KIND_MAX)

/**
 * hold_table_new() - an empty table
 * @ret: the table (owned by the caller, hold_table_free())
 *
 * Returns: 0 or -ENOMEM.
 */
int hold_table_new(HoldTable **ret) {
        HoldTable *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/**
 * hold_table_set_released() - who is told when an exclusive hold ends
 * @t: the table
 * @fn: called when the last exclusive hold on a controller is released
 *      (not by hold_table_free()); NULL for nobody
 * @userdata: for @fn
 */
void hold_table_set_released(HoldTable *t, HoldReleasedFn fn, void *userdata) {
        t->released = fn;
        t->released_userdata = userdata;
}

static void hold_unlink(Hold *h) {
        HoldTable *t = h->table;

        if (!t)
                return;
        if (h->prev)
                h->prev->next = h->next;
        else
                t->first = h->next;
        if (h->next)
                h->next->prev = h->prev;
        else
                t->last = h->prev;
        h->prev = h->next = NULL;
        h->table = NULL;
}

/**
 * hold_table_free() - free a table
 * @t: the table or NULL
 *
 * Holds still in it are freed without callbacks; their owners must not
 * release them afterwards (the daemon frees the table last).
 *
 * Returns: NULL.
 */
HoldTable *hold_table_free(HoldTable *t) {
        if (!t)
                return NULL;
        while (t->first) {
                Hold *h = t->first;
                hold_unlink(h);
                free(h->text);
                free(h);
        }
        free(t);
        return NULL;
}

static bool same(const Hold *h, const uint8_t *uuid) {
        return memcmp(h->uuid, uuid, HOLD_UUID_LEN) == 0;
}

static char *format_text(const uint8_t *uuid, const Hold *h) {
        static const char hex[] = "0123456789abcdef";
        char id[2 * HOLD_UUID_LEN + 1], what[160] = "";
        char *s;

        for (size_t i = 0; i < HOLD_UUID_LEN; i++) {
                id[2 * i] = hex[uuid[i] >> 4];
                id[2 * i + 1] = hex[uuid[i] & 15];
        }
        id[2 * HOLD_UUID_LEN] = 0;
        if (h->describe)
                h->describe(h->userdata, what, sizeof what);
        else if (h->text)
                snprintf(what, sizeof what, "%s", h->text);
        if (!what[0])
                snprintf(what, sizeof what, "is held by another operation");
        if (asprintf(&s, "%s %s", id, what) < 0)
                return NULL;
        return s;
}

/* The first hold that conflicts with a new one of @kind: any exclusive
 * hold; with !wait, any hold at all for an exclusive one. */
static const Hold *conflict(const HoldTable *t, const uint8_t *uuid, HoldKind kind, bool wait) {
        const Hold *shared = NULL;

        for (const Hold *h = t->first; h; h = h->next) {
                if (!same(h, uuid))
                        continue;
                if (h->kind == HOLD_EXCLUSIVE)
                        return h;
                if (!shared)
                        shared = h;
        }
        return kind == HOLD_EXCLUSIVE && !wait ? shared : NULL;
}

/**
 * hold_check() - could a hold be taken now
 * @t: the table
 * @uuid: the controller
 * @kind: shared or exclusive
 * @wait: an exclusive hold that would wait for shared holds to drain
 * @ret_error: on -EBUSY, "<uuid> <holder's text>" (malloc'd; may be NULL)
 *
 * Returns: 0, -EBUSY, -EINVAL (kind).
 */
int hold_check(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN], HoldKind kind, bool wait,
               char **ret_error) {
        const Hold *c;

        if ((unsigned) kind >= _HOLD_KIND_MAX || (wait && kind != HOLD_EXCLUSIVE))
                return -EINVAL;
        c = conflict(t, uuid, kind, wait);
        if (!c)
                return 0;
        if (ret_error) {
                free(*ret_error);
                *ret_error = format_text(uuid, c);
        }
        return -EBUSY;
}

/**
 * hold_acquire() - take a hold on a controller
 * @t: the table
 * @uuid: the controller (12 bytes)
 * @kind: HOLD_SHARED for reads, HOLD_EXCLUSIVE for writes and jobs
 * @wait: exclusive only: granted waiting while shared holds remain
 * @owner: how to describe the holder, and who to tell when a waiting hold
 *         becomes ready (copied; owner->text is copied too)
 * @ret: the hold, released with hold_release()
 * @ret_error: on -EBUSY the text naming the conflicting holder (may be NULL)
 *
 * Returns: 0, -EBUSY, -EINVAL, -ENOMEM.
 */
int hold_acquire(HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN], HoldKind kind, bool wait,
                 const HoldOwner *owner, Hold **ret, char **ret_error) {
        Hold *h;
        int r;

        r = hold_check(t, uuid, kind, wait, ret_error);
        if (r < 0)
                return r;
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        if (owner && owner->text) {
                h->text = strdup(owner->text);
                if (!h->text) {
                        free(h);
                        return -ENOMEM;
                }
        }
        memcpy(h->uuid, uuid, HOLD_UUID_LEN);
        h->kind = kind;
        h->ready = hold_table_count(t, uuid) == 0 || kind == HOLD_SHARED;
        if (owner) {
                h->describe = owner->describe;
                h->on_ready = owner->ready;
                h->userdata = owner->userdata;
        }
        h->table = t;
        h->prev = t->last;
        if (t->last)
                t->last->next = h;
        else
                t->first = h;
        t->last = h;
        *ret = h;
        return 0;
}

/**
 * hold_release() - give a controller back
 * @h: the hold or NULL
 *
 * When this was the last shared hold before a waiting exclusive one, that
 * one becomes ready and its owner's ready callback runs (from here); when
 * it was the last exclusive hold on its controller, the table's released
 * callback runs (from here).
 *
 * Returns: NULL.
 */
Hold *hold_release(Hold *h) {
        HoldTable *t;
        Hold *waiting = NULL;

        if (!h)
                return NULL;
        t = h->table;
        hold_unlink(h);
        if (t) {
                size_t others = 0;
                for (Hold *o = t->first; o; o = o->next)
                        if (same(o, h->uuid)) {
                                others++;
                                if (o->kind == HOLD_EXCLUSIVE && !o->ready)
                                        waiting = o;
                        }
                if (waiting && others == 1) {
                        waiting->ready = true;
                        if (waiting->on_ready)
                                waiting->on_ready(waiting->userdata, waiting);
                }
                if (h->kind == HOLD_EXCLUSIVE && t->released && !hold_table_exclusive(t, h->uuid))
                        t->released(t->released_userdata, h->uuid);
        }
        free(h->text);
        free(h);
        return NULL;
}

/**
 * hold_ready() - has the hold its controller
 * @h: the hold
 *
 * Returns: false only for an exclusive hold still waiting for shared ones.
 */
bool hold_ready(const Hold *h) {
        return h->ready;
}

/**
 * hold_kind() - the kind the hold was taken with
 * @h: the hold
 *
 * Returns: the kind.
 */
HoldKind hold_kind(const Hold *h) {
        return h->kind;
}

/**
 * hold_text() - the hold for people
 * @h: the hold
 *
 * Returns: "<uuid> <owner's text>", malloc'd, or NULL on ENOMEM.
 */
char *hold_text(const Hold *h) {
        return format_text(h->uuid, h);
}

/**
 * hold_blocker_text() - what a hold waits for
 * @h: the hold
 *
 * Returns: the text of the first other hold on the same controller
 * (malloc'd), or NULL when there is none (or ENOMEM).
 */
char *hold_blocker_text(const Hold *h) {
        if (!h->table)
                return NULL;
        for (const Hold *o = h->table->first; o; o = o->next)
                if (o != h && same(o, h->uuid))
                        return format_text(o->uuid, o);
        return NULL;
}

/**
 * hold_table_exclusive() - is an exclusive hold on the controller
 * @t: the table
 * @uuid: the controller
 *
 * Returns: true with an exclusive hold, ready or waiting.
 */
bool hold_table_exclusive(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN]) {
        for (const Hold *h = t->first; h; h = h->next)
                if (h->kind == HOLD_EXCLUSIVE && same(h, uuid))
                        return true;
        return false;
}

/**
 * hold_table_count() - holds on a controller
 * @t: the table
 * @uuid: the controller
 *
 * Returns: their number, all kinds.
 */
size_t hold_table_count(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN]) {
        size_t n = 0;

        for (const Hold *h = t->first; h; h = h->next)
                n += same(h, uuid);
        return n;
}
