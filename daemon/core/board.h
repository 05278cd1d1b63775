/* The board view: all identified controllers seen together, and what makes
 * the pair (or group) inconsistent.  This is what a UI shows first.
 *
 * Mismatch lines compare every controller against a reference — the one
 * on the newest firmware (ties: lowest CAN id) — one line per difference,
 * e.g. "firmware 5.03 ≠ 3.58" (reference value first).  Compared: firmware
 * version, test build, firmware name, hardware name, bootloader generation
 * (when both are known), configuration signatures (when both are known
 * and the firmware is the same; by signature only, since the CAN id always
 * differs).  Actions say what
 * would repair it, e.g. "update 2f002b001451363336333531 (id 74) from 3.58
 * to 5.03".
 *
 * PURE: no I/O; allocates the strings it returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/controller.h"

typedef struct Board {
        size_t n_controllers;   /* identified controllers considered */
        bool mismatch;
        char **reasons;         /* NULL-terminated, never NULL after board_compute() */
        char **actions;         /* NULL-terminated, never NULL after board_compute() */
} Board;

#define BOARD_NULL ((Board) {})

/* controllers without identity are skipped.  -ENOMEM. */
int board_compute(const Controller *const *controllers, size_t n, Board *ret);
void board_done(Board *b);
bool board_equal(const Board *a, const Board *b);
/* One-line summary for sd_notify STATUS=: "2 controllers, mismatch: firmware 5.03 ≠ 3.58". */
int board_summary(const Board *b, char **ret);
