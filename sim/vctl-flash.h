/* Flash and bootloader of a simulated controller (spec §14, DESIGN.md
 * "Firmware"): the new-app buffer (sectors 8-10, 393 216 bytes) and the
 * bootloader sector 11 as one 512 KiB region addressed like
 * WRITE_NEW_APP_DATA offsets; erase sets 0xFF, programming can only clear
 * bits (AND), as real NOR flash.  Bootloader integrity is tracked the way
 * DESIGN.md defines it for the project's test bootloaders.  The bootloader's
 * own run (header checks, install, heatshrink decode per spec §21) is
 * computed here; durations are returned, never waited for.
 *
 * Pure apart from one allocation: no I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_FLASH_NEW_APP     393216u   /* sectors 8-10 */
#define SIM_FLASH_SECTOR      131072u
#define SIM_FLASH_REGION      (SIM_FLASH_NEW_APP + SIM_FLASH_SECTOR)
#define SIM_FLASH_APP_AREA    524288u   /* application sectors 0-7 */
#define SIM_FLASH_APP_AREA_G1 393216u   /* what a generation-1 bootloader can erase (0-6) */

/* Nominal durations at time scale 1 (spec §14.6: not documented upstream;
 * STM32F4 datasheet orders of magnitude). */
#define SIM_FLASH_ERASE_128K_USEC   1000000u
#define SIM_FLASH_ERASE_64K_USEC     550000u
#define SIM_FLASH_ERASE_16K_USEC     250000u
#define SIM_FLASH_PROGRAM_NSEC_PER_BYTE 30000u

typedef struct SimFlash {
        uint8_t *mem;                  /* SIM_FLASH_REGION bytes */
        uint8_t bl_written[SIM_FLASH_SECTOR / 8]; /* sector-11 bytes written since its erase */
        bool bl_factory;               /* the bootloader the controller was built with */
        uint8_t bl_factory_gen;
        bool bl_bits_lost;             /* a write into sector 11 could not set its bits */
        uint64_t erases, writes, written_bytes;
} SimFlash;

int sim_flash_new(uint8_t bootloader_generation, SimFlash **ret);
SimFlash *sim_flash_free(SimFlash *f);

/* ERASE_NEW_APP: erases the sectors 8.. that `size` bytes reach into (at
 * most 3).  Returns the number of sectors erased. */
unsigned sim_flash_erase_new_app(SimFlash *f, uint32_t size);
/* ERASE_BOOTLOADER: erases sector 11. */
void sim_flash_erase_bootloader(SimFlash *f);
/* WRITE_NEW_APP_DATA at a region offset.  -ERANGE if it does not fit the
 * region (the firmware answers ok = 0); nothing is written then. */
int sim_flash_write(SimFlash *f, uint32_t offset, const uint8_t *data, size_t len);

/* Recognises sector 11 (SIM_FLASH_SECTOR bytes) as exactly a bootloader
 * image the simulator knows (by content); returns its generation, 0 if none. */
typedef unsigned (*SimFlashKnownBootloaderFn)(const uint8_t *sector11, void *userdata);

/* Bootloader state as a JUMP would find it: returns the generation (1 or 2)
 * of an intact bootloader, 0 for an erased/partial/corrupt one.  known may
 * be NULL. */
unsigned sim_flash_bootloader_generation(const SimFlash *f, SimFlashKnownBootloaderFn known, void *userdata);

typedef enum SimBootResult {
        SIM_BOOT_OK = 0,
        SIM_BOOT_TOO_LARGE = -1,   /* red 3x: also how gen 1 refuses 0xCC */
        SIM_BOOT_SIZE_ZERO = -2,   /* red 4x */
        SIM_BOOT_CRC = -3,         /* red 5x */
} SimBootResult;

typedef struct SimBootPlan {
        SimBootResult result;
        bool compressed;
        uint32_t size;             /* stream bytes after the header */
        long image_len;            /* bytes installed; -EOVERFLOW: ran past the app area */
        uint64_t erase_usec;       /* application erase (scale 1) */
        uint64_t copy_usec;        /* programming (scale 1) */
} SimBootPlan;

/* The bootloader's run for a bootloader of generation gen: the header
 * checks (spec §14.4 step 1); when they pass, the install into app
 * (SIM_FLASH_APP_AREA bytes): plain copy, or heatshrink decode with zero
 * history, stop at end of input and no length check (spec §21), so a stream
 * that decodes past 524 288 bytes yields image_len = -EOVERFLOW (the real
 * bootloader would overwrite its own input: bricked).  Also the time the
 * erase and copy take.  Returns 0 or -ENOMEM. */
int sim_flash_boot(const SimFlash *f, unsigned gen, uint8_t *app, SimBootPlan *ret);

/* Sector-erase and programming times at scale 1. */
uint64_t sim_flash_erase_new_app_usec(unsigned sectors);
uint64_t sim_flash_program_usec(size_t bytes);
