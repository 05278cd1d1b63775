/* One snapshot rendering per object, shared by the adapters: the JSON
 * adapter serves these objects as they are, and the D-Bus getters read the
 * same model fields.  Field names are the snake_case of the D-Bus names
 * (FirmwareVersion <-> "firmware_version"). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "core/board.h"
#include "core/controller.h"
#include "proto/vesc-comm.h"

typedef struct Daemon Daemon;

/* "/org/vescd1/controller/<uuid>" into buf (size >= 48); "" without identity. */
#define RENDER_CONTROLLER_PATH_MAX 64
void render_controller_path(const Controller *c, char buf[static RENDER_CONTROLLER_PATH_MAX]);

struct FieldTable;
/* The fields of a table (core/fields.h) whose dirty bits meet mask, flat,
 * snake_case names, into o.  0 or -ENOMEM. */
int render_fields(const struct FieldTable *t, const void *object, uint64_t mask, json_t *o);

/* Full snapshot: "path" and every field of controller_field_table
 * (identity, state, telemetry, counters; flat).  NULL on ENOMEM. */
json_t *render_controller(const Controller *c);
/* Telemetry fields selected by mask (CONTROLLER_DIRTY_TELEMETRY_MASK bits)
 * that have been received at least once. */
json_t *render_telemetry(const Controller *c, uint64_t mask);
/* GET_VALUES reply fields (what GetValues returns). */
json_t *render_values(const VescValues *v);
json_t *render_board(const Board *b, Controller *const *controllers, size_t n);
json_t *render_manager(Daemon *d);
