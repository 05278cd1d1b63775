/* The boards vesc-sim can simulate (DESIGN.md, "Command-line contract",
 * presets table): names, and the controller specs each one starts with.
 * Pure. */
#pragma once

#include <stddef.h>

#include "vctl.h"

#define PRESET_MAX_CONTROLLERS 4

/* Fills specs (up to PRESET_MAX_CONTROLLERS) for the named preset and
 * returns their number, or -ENOENT for an unknown name. */
int preset_lookup(const char *name, VctlSpec specs[static PRESET_MAX_CONTROLLERS]);
/* The preset names, NULL-terminated (for --help). */
extern const char *const preset_names[];
