/* The images vesc-sim knows by content (SHA-256).  Applications: the
 * firmware version an installed image without a VESCDFW1 descriptor (real
 * firmware) reports, from --image-map SHA256=MAJOR.MINOR and from image-set
 * manifests (--image-set DIR: every app entry's sha256 and firmware
 * version).  Bootloaders: every bootloader entry of those manifests (sha256,
 * size, generation), so a bootloader written with its all-0xFF chunks
 * skipped is still recognised as intact (docs/vesc-sim.md). */
#pragma once

#include <stddef.h>

#include "vctl.h"

typedef struct SimImageMap {
        SimImageMapEntry *entries;
        size_t n;
} SimImageMap;

/* "SHA256=MAJOR.MINOR" (64 hex digits).  -EINVAL on syntax, -ENOMEM. */
int sim_image_map_add_arg(SimImageMap *m, const char *arg);
/* Parse manifest bytes (JSON): every object with a "sha256" string and
 * "firmware_major"/"firmware_minor" (or "major"/"minor") numbers, and every
 * object with a "sha256" string, "size" (1..131072) and "generation" (1, 2).  Returns
 * the number of entries added, -EBADMSG for bad JSON, -ENOMEM. */
int sim_image_map_add_manifest(SimImageMap *m, const char *json, size_t len);
/* Read DIR/manifest.json and add it.  -errno on I/O errors. */
int sim_image_map_add_set(SimImageMap *m, const char *dir);
void sim_image_map_done(SimImageMap *m);
