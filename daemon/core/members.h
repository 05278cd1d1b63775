/* The remembered members of the board: every motor controller seen once
 * stays a member (in <state-dir>/board.json) until ForgetController, so a
 * side that is powered off at start still counts (board state degraded).
 *
 * File: {"members": ["3c0029000d51393236353934", ...]}, written whole
 * (temporary file + rename) on every change. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct BoardMembers {
        char *path;             /* NULL: not persisted (no state directory) */
        char **uuids;           /* NULL-terminated, never NULL after load */
        size_t n;
} BoardMembers;

/* Loads <state_dir>/board.json; a missing file is an empty list.  On an
 * unreadable or malformed file: -errno, the list stays empty but usable. */
int board_members_load(BoardMembers *m, const char *state_dir);
void board_members_done(BoardMembers *m);
bool board_members_contains(const BoardMembers *m, const char *uuid);
/* 1 added (and saved; a failed save is logged), 0 already a member, -ENOMEM. */
int board_members_add(BoardMembers *m, const char *uuid);
/* 1 removed, 0 not a member. */
int board_members_forget(BoardMembers *m, const char *uuid);
