/* Holds: who owns a controller right now (DESIGN.md "Decisions of 2026-12",
 * item 1).  Every operation that talks to a controller, and every firmware
 * job, holds it for as long as it runs:
 *
 *   - reads (GetValues, configuration backup / compare / get) take a
 *     *shared* hold; shared holds coexist;
 *   - writes (Reboot, SetLimits, configuration restore / copy / set) and
 *     firmware jobs take an *exclusive* hold, which conflicts with every
 *     other hold: the request is refused at once with -EBUSY and a text
 *     naming the holder ("2f00… is being updated by job 3 (writing)");
 *   - a firmware job may instead *wait* for shared holds to drain: its
 *     exclusive hold is granted as waiting (new holds already conflict with
 *     it), becomes ready when the last shared hold goes, and the job gives
 *     up after its own deadline (1 s) by releasing it.
 *
 * vescd's own polling never holds; it pauses while hold_table_exclusive()
 * says an exclusive hold (ready or waiting) is on the controller.  Cached
 * state needs no hold.
 *
 * Holds are keyed by UUID, not by CAN id or model object: a firmware job
 * keeps its controller while it reboots at another id or is briefly
 * unknown to the registry.
 *
 * PURE: no I/O, no clock; allocates the texts it returns. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define HOLD_UUID_LEN 12

typedef enum HoldKind {
        HOLD_SHARED,
        HOLD_EXCLUSIVE,
        _HOLD_KIND_MAX,
        _HOLD_KIND_INVALID = -EINVAL,
} HoldKind;

const char *hold_kind_to_string(HoldKind k);
HoldKind hold_kind_from_string(const char *s);

typedef struct HoldTable HoldTable;
typedef struct Hold Hold;

/* Completes "<uuid> " to a sentence for people, e.g. "is being updated by
 * job 3 (writing)".  Called whenever the text is needed (the phase may
 * have changed since the hold was taken). */
typedef void (*HoldDescribeFn)(void *userdata, char *buf, size_t size);
/* A waiting exclusive hold got its controller (the last shared hold was
 * released).  Called from inside hold_release() of another holder: do not
 * start work from it, schedule it. */
typedef void (*HoldReadyFn)(void *userdata, Hold *h);

typedef struct HoldOwner {
        const char *text;         /* used when describe is NULL (copied) */
        HoldDescribeFn describe;
        HoldReadyFn ready;
        void *userdata;
} HoldOwner;

/* The last exclusive hold on a controller was released (its owner is
 * gone; shared holds may remain): vescd's polling of it resumes.  Called
 * from inside hold_release(): do not start work from it, schedule it. */
typedef void (*HoldReleasedFn)(void *userdata, const uint8_t uuid[static HOLD_UUID_LEN]);

int hold_table_new(HoldTable **ret);
/* Who is told when a controller's last exclusive hold goes (one; NULL: nobody). */
void hold_table_set_released(HoldTable *t, HoldReleasedFn fn, void *userdata);
/* Releases the holds still in it (without callbacks). */
HoldTable *hold_table_free(HoldTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(HoldTable *, hold_table_free)

/* 0 if a hold of @kind could be taken now (or, with @wait, granted waiting);
 * -EBUSY with the conflicting holder's text in *ret_error (may be NULL). */
int hold_check(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN], HoldKind kind, bool wait,
               char **ret_error);
/* Take a hold.  @wait (exclusive only): shared holds do not refuse it; it is
 * granted waiting until they drain.  -EBUSY as hold_check(), -EINVAL,
 * -ENOMEM. */
int hold_acquire(HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN], HoldKind kind, bool wait,
                 const HoldOwner *owner, Hold **ret, char **ret_error);
/* NULL is fine.  Returns NULL. */
Hold *hold_release(Hold *h);

/* false while an exclusive hold waits for shared ones to drain */
bool hold_ready(const Hold *h);
HoldKind hold_kind(const Hold *h);
/* "<uuid> <owner's text>" of the first other hold on h's controller (what
 * a waiting hold waits for), or NULL; malloc'd. */
char *hold_blocker_text(const Hold *h);
/* "<uuid> <owner's text>", malloc'd or NULL (ENOMEM). */
char *hold_text(const Hold *h);

/* An exclusive hold (ready or waiting) is on the controller: polling and
 * background identification pause. */
bool hold_table_exclusive(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN]);
/* Holds on the controller (all kinds). */
size_t hold_table_count(const HoldTable *t, const uint8_t uuid[static HOLD_UUID_LEN]);
