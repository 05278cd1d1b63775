/* The board view: all identified controllers seen together, and what makes
 * the pair (or group) inconsistent.  This is what a UI shows first.
 *
 * Members are the motor controllers (HW_TYPE 0, or none sent before 5.02);
 * a VESC BMS (1) or a custom module such as a VESC Express (2) is listed
 * by the adapters but never compared.  The board state orders what matters
 * first: updating (a job on a member runs) > degraded (a member offline, or
 * remembered but not seen) > mismatch > consistent; unknown without any
 * member.  state_reasons says why (empty for consistent).
 *
 * Mismatch lines compare every controller against a reference — the one
 * on the newest firmware (ties: lowest CAN id) — one line per difference,
 * e.g. "firmware 5.03 ≠ 3.58" (reference value first).  Compared: firmware
 * version, test build, firmware name, hardware name, bootloader generation
 * (when both are known), configuration signatures (when both are known
 * and the firmware is the same; by signature only, since the CAN id always
 * differs).  Actions say what
 * would repair it: the firmware manager's planner gives those lines
 * (BoardExtra.firmware_actions: installed sets, numbered steps, never a
 * job vescd would refuse); without it the plain "update
 * 2f002b001451363336333531 (id 74) from 3.58 to 5.03".
 *
 * PURE: no I/O; allocates the strings it returns. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/controller.h"

typedef enum BoardState {
        BOARD_STATE_UNKNOWN = 0,
        BOARD_STATE_CONSISTENT = 1,
        BOARD_STATE_MISMATCH = 2,
        BOARD_STATE_DEGRADED = 3,
        BOARD_STATE_UPDATING = 4,
        _BOARD_STATE_MAX,
        _BOARD_STATE_INVALID = -EINVAL,
} BoardState;

const char *board_state_to_string(BoardState s);
BoardState board_state_from_string(const char *s);

/* HW_TYPE of FW_VERSION (spec): 0 motor controller, 1 BMS, 2 custom module. */
#define BOARD_HW_TYPE_VESC 0u

/* An identified motor controller (HW_TYPE 0). */
bool board_is_motor_controller(const Controller *c);
/* A member of the board (compared, paired, repaired): a motor controller
 * that is no longer a candidate (Controller.candidate).  The one rule the
 * daemon, the board view and the firmware manager use. */
bool board_is_member(const Controller *c);

/* What the board view needs besides the controllers; all optional. */
typedef struct BoardExtra {
        const bool *updating;           /* per controller (same index): a job holds it */
        const char *const *missing;     /* NULL-terminated UUIDs of remembered members not seen */
        /* The planner's Actions lines for the members' firmware (called with
         * the identified members while no job runs; returns a malloc'd
         * NULL-terminated array of malloc'd lines, or NULL for none), in
         * place of the plain "update … from … to …" lines. */
        char **(*firmware_actions)(void *userdata, const Controller *const *members, size_t n);
        void *userdata;
} BoardExtra;

typedef struct Board {
        size_t n_controllers;   /* identified member controllers considered */
        bool mismatch;
        BoardState state;
        char **state_reasons;   /* NULL-terminated, never NULL after board_compute() */
        char **reasons;         /* NULL-terminated, never NULL after board_compute() */
        char **actions;         /* NULL-terminated, never NULL after board_compute() */
} Board;

#define BOARD_NULL ((Board) {})

/* controllers without identity are skipped.  -ENOMEM. */
int board_compute(const Controller *const *controllers, size_t n, Board *ret);
int board_compute_extra(const Controller *const *controllers, size_t n, const BoardExtra *extra, Board *ret);
void board_done(Board *b);
/* MismatchReason / mismatch_reason: the first reason while mismatched, else "". */
const char *board_mismatch_reason(const Board *b);
bool board_equal(const Board *a, const Board *b);
/* One-line summary for sd_notify STATUS=: "2 controllers, mismatch: firmware 5.03 ≠ 3.58". */
int board_summary(const Board *b, char **ret);
