/* Configuration by name as JSON, shared by both adapters (DESIGN "Decisions
 * of 2026-12" item 10): a blob rendered as {"signature", "layout", "params",
 * "raw"}, a {name: value} object applied to a blob (range-checked), two
 * blobs compared by name, and the backup file {"format": 1, "uuid",
 * "firmware_version", "mcconf": {…}, "appconf": {…}}.  The layouts come
 * from core/config-layout.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config-layout.h"

#define CONFIG_BACKUP_FORMAT 1

/* {"signature": n, "layout": "5.03"|null, "params": {name: value}, "raw":
 * base64}.  Values: numbers (in the table's unit), enum labels (or the
 * index when it has none), booleans.  params is {} for an unknown layout.
 * NULL on ENOMEM. */
json_t *config_json_render(ConfigWhich which, const uint8_t *blob, size_t len);

/* The JSON value of one decoded parameter (numbers as short as they stay
 * the same after the encoding). */
json_t *config_json_value(const ConfigParam *p, const ConfigValue *v);

/* Applies params ({name: number | label | bool}) to blob, a blob of layout
 * l, in place; nothing is written unless every entry is valid.
 * controller_id is refused unless allow_controller_id (then *ret_new_id is
 * the id asked for, else -1).  Errors: -EINVAL/-ERANGE/-ENOENT with a text
 * for people in *ret_message (names the parameter and its range),
 * -ENOMEM. */
int config_json_apply(const ConfigLayout *l, uint8_t *blob, size_t len, json_t *params, bool allow_controller_id,
                      int *ret_new_id, char **ret_message);

/* {"which", "equal", "layout_a", "layout_b", "differences": [{"name", "a",
 * "b", "unit"}]} of blob a against blob b; a name missing on one side has
 * null there.  controller_id is ignored (it always differs between two
 * controllers).  -EMEDIUMTYPE with *ret_message when a layout is unknown. */
int config_json_diff(ConfigWhich which, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, json_t **ret,
                     char **ret_message);

/* The backup file of one controller. */
json_t *config_json_backup(const char *uuid, const char *firmware_version, const uint8_t *mc, size_t mc_len,
                           const uint8_t *app, size_t app_len);
/* The blobs ("raw") of a backup file; a part may be absent (len 0).
 * -EINVAL with *ret_message if it is not a backup file of format 1. */
int config_json_parse_backup(json_t *backup, uint8_t **ret_mc, size_t *ret_mc_len, uint8_t **ret_app,
                             size_t *ret_app_len, char **ret_message);

/* Standard padded base64 (RFC 4648). */
char *config_base64_encode(const uint8_t *data, size_t size);
int config_base64_decode(const char *s, uint8_t **ret, size_t *ret_size);
