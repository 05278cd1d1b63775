/* Flash of a simulated controller: new-app buffer + bootloader sector with
 * NOR semantics, bootloader integrity, and the bootloader's run (spec §14.4,
 * §21; DESIGN.md "Firmware"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "fwimage.h"
#include "heatshrink.h"
#include "macro.h"
#include "vctl-flash.h"
#include "wire.h"

/* Application sectors 0-7 (spec §14.1): sizes in bytes. */
static const uint32_t app_sector_size[] = {
        16384, 16384, 16384, 16384, 65536, 131072, 131072, 131072,
};

static uint64_t sector_erase_usec(uint32_t size) {
        if (size >= SIM_FLASH_SECTOR)
                return SIM_FLASH_ERASE_128K_USEC;
        if (size >= 65536)
                return SIM_FLASH_ERASE_64K_USEC;
        return SIM_FLASH_ERASE_16K_USEC;
}

/**
 * sim_flash_new() - flash as it leaves the factory
 * @bootloader_generation: generation of the installed bootloader (1 or 2)
 * @ret: the new object (caller frees with sim_flash_free())
 *
 * The new-app buffer is erased; sector 11 holds an intact bootloader.
 * Returns 0 or -ENOMEM.
 */
int sim_flash_new(uint8_t bootloader_generation, SimFlash **ret) {
        SimFlash *f = calloc(1, sizeof *f);

        if (!f)
                return -ENOMEM;
        f->mem = malloc(SIM_FLASH_REGION);
        if (!f->mem) {
                free(f);
                return -ENOMEM;
        }
        memset(f->mem, 0xff, SIM_FLASH_NEW_APP);
        /* The factory bootloader's bytes are not modelled, only its presence. */
        memset(f->mem + SIM_FLASH_NEW_APP, 0, SIM_FLASH_SECTOR);
        f->bl_factory = true;
        f->bl_factory_gen = bootloader_generation;
        *ret = f;
        return 0;
}

/**
 * sim_flash_free() - free a flash model
 * @f: object or NULL
 *
 * Returns NULL.
 */
SimFlash *sim_flash_free(SimFlash *f) {
        if (!f)
                return NULL;
        free(f->mem);
        free(f);
        return NULL;
}

/**
 * sim_flash_erase_new_app() - ERASE_NEW_APP
 * @f: flash
 * @size: bytes to make room for, from the start of sector 8
 *
 * Erases every new-app sector that @size reaches into, at most three.
 * Returns the number of sectors erased (each takes
 * SIM_FLASH_ERASE_128K_USEC at scale 1).
 */
unsigned sim_flash_erase_new_app(SimFlash *f, uint32_t size) {
        unsigned n = 0;

        for (unsigned i = 0; i < 3; i++) {
                if (size <= i * SIM_FLASH_SECTOR)
                        break;
                memset(f->mem + i * SIM_FLASH_SECTOR, 0xff, SIM_FLASH_SECTOR);
                n++;
        }
        f->erases++;
        return n;
}

/**
 * sim_flash_erase_bootloader() - ERASE_BOOTLOADER (sector 11)
 * @f: flash
 */
void sim_flash_erase_bootloader(SimFlash *f) {
        memset(f->mem + SIM_FLASH_NEW_APP, 0xff, SIM_FLASH_SECTOR);
        memset(f->bl_written, 0, sizeof f->bl_written);
        f->bl_factory = false;
        f->bl_bits_lost = false;
        f->erases++;
}

/**
 * sim_flash_write() - WRITE_NEW_APP_DATA
 * @f: flash
 * @offset: offset from the start of sector 8 (sector 11 from 393 216)
 * @data: bytes to program
 * @len: their number
 *
 * Programs as NOR flash does: each stored byte becomes old AND new.
 * Returns 0, or -ERANGE when the data does not fit (nothing written).
 */
int sim_flash_write(SimFlash *f, uint32_t offset, const uint8_t *data, size_t len) {
        if ((uint64_t) offset + len > SIM_FLASH_REGION)
                return -ERANGE;

        for (size_t i = 0; i < len; i++) {
                size_t a = (size_t) offset + i;
                uint8_t v = f->mem[a] & data[i];

                if (a >= SIM_FLASH_NEW_APP) {
                        size_t b = a - SIM_FLASH_NEW_APP;

                        if (f->bl_factory) {
                                /* Programming over the factory bootloader
                                 * without erasing it first corrupts it,
                                 * unless the bytes leave every bit set. */
                                if (data[i] != 0xff) {
                                        f->bl_factory = false;
                                        f->bl_bits_lost = true;
                                }
                        } else if (v != data[i])
                                f->bl_bits_lost = true;
                        f->bl_written[b / 8] |= (uint8_t) (1u << (b % 8));
                }
                f->mem[a] = v;
        }
        f->writes++;
        f->written_bytes += len;
        return 0;
}

/* Whether bytes 0..len-1 of sector 11 were all programmed since its erase.
 * Real flash cannot tell a skipped all-0xFF chunk from a lost one (both
 * read 0xFF), and neither can this bitmap: without knowing the image, only
 * a byte that was written counts. */
static bool bl_range_written(const SimFlash *f, size_t len) {
        for (size_t b = 0; b < len; b++)
                if (!(f->bl_written[b / 8] & (1u << (b % 8))))
                        return false;
        return true;
}

/**
 * sim_flash_bootloader_generation() - what a JUMP would find in sector 11
 * @f: flash
 * @known: optional: recognises sector 11 as a bootloader image the
 *         simulator knows byte for byte (vesc-sim: the bootloaders of the
 *         --image-set manifests, by SHA-256); may be NULL
 * @userdata: passed to @known
 *
 * A bootloader is intact when it is the factory one, or when it was written
 * since the last ERASE_BOOTLOADER without losing bits and either
 *   - its content is exactly a known bootloader image (@known): a writer
 *     that skipped all-0xFF chunks of the erased sector left the same bytes
 *     a full write would have, as on a real controller, while a lost chunk
 *     with content does not match; or
 *   - it carries a VESCDBL1 descriptor and bytes 0..length-1 were all
 *     written (generation from the descriptor); or
 *   - it has no descriptor (a real bootloader) and its first 4 KiB were all
 *     written (counted as generation 2).
 * Returns the generation, or 0 when the bootloader is broken.
 */
unsigned sim_flash_bootloader_generation(const SimFlash *f, SimFlashKnownBootloaderFn known, void *userdata) {
        const uint8_t *bl = f->mem + SIM_FLASH_NEW_APP;
        VescBlDescriptor d;
        unsigned g;
        int r;

        if (f->bl_factory)
                return f->bl_factory_gen;
        if (f->bl_bits_lost)
                return 0;
        if (known) {
                g = known(bl, userdata);
                if (g >= 1 && g <= 2)
                        return g;
        }

        r = vesc_bl_descriptor_parse(bl, SIM_FLASH_SECTOR, &d);
        if (r == -ENOENT)
                return bl_range_written(f, 4096) ? 2 : 0;
        if (r < 0 || d.length == 0 || d.length > SIM_FLASH_SECTOR)
                return 0;
        if (!bl_range_written(f, d.length))
                return 0;
        return d.generation >= 1 && d.generation <= 2 ? d.generation : 0;
}

static uint64_t app_erase_usec(uint32_t bytes) {
        uint64_t t = 0;
        uint32_t covered = 0;

        for (size_t i = 0; i < ELEMENTSOF(app_sector_size) && covered < bytes; i++) {
                t += sector_erase_usec(app_sector_size[i]);
                covered += app_sector_size[i];
        }
        return t;
}

/**
 * sim_flash_boot() - the bootloader's run over the buffered stream
 * @f: flash
 * @gen: generation of the (intact) bootloader: 1 no heatshrink, 2 heatshrink
 * @app: receives the installed application image (SIM_FLASH_APP_AREA bytes)
 * @ret: outcome: header check result, installed length, durations
 *
 * Returns 0.
 */
int sim_flash_boot(const SimFlash *f, unsigned gen, uint8_t *app, SimBootPlan *ret) {
        uint32_t raw = be32_get(f->mem);
        uint16_t crc = be16_get(f->mem + 4);

        *ret = (SimBootPlan) {};

        /* Generation 1 does not know the 0xCC flag: the flagged size is
         * simply too large (spec §14.4, red 3x). */
        if (gen >= 2 && (raw >> 24) == VESC_COMPRESSED_FLAG) {
                ret->compressed = true;
                ret->size = raw & 0xffffffu;
        } else
                ret->size = raw;

        if (ret->size > SIM_FLASH_NEW_APP) {
                ret->result = SIM_BOOT_TOO_LARGE;
                return 0;
        }
        if (ret->size == 0) {
                ret->result = SIM_BOOT_SIZE_ZERO;
                return 0;
        }
        /* The CRC runs over size bytes from offset 6; at the largest size it
         * reads into sector 11, as the real one does. */
        if (crc16(f->mem + 6, ret->size) != crc) {
                ret->result = SIM_BOOT_CRC;
                return 0;
        }

        ret->result = SIM_BOOT_OK;
        memset(app, 0xff, SIM_FLASH_APP_AREA);
        if (ret->compressed) {
                ssize_t n = heatshrink_decode(f->mem + 6, ret->size, app, SIM_FLASH_APP_AREA);

                ret->image_len = n < 0 ? -EOVERFLOW : (long) n;
                /* Sectors 0-7 are erased whatever the image size. */
                ret->erase_usec = app_erase_usec(SIM_FLASH_APP_AREA);
                ret->copy_usec = sim_flash_program_usec(n < 0 ? SIM_FLASH_APP_AREA : (size_t) n);
        } else {
                memcpy(app, f->mem + 6, ret->size);
                ret->image_len = (long) ret->size;
                ret->erase_usec = app_erase_usec(ret->size);
                ret->copy_usec = sim_flash_program_usec(ret->size);
        }
        return 0;
}

/**
 * sim_flash_erase_new_app_usec() - duration of an ERASE_NEW_APP at scale 1
 * @sectors: sectors erased (from sim_flash_erase_new_app())
 *
 * Returns microseconds.
 */
uint64_t sim_flash_erase_new_app_usec(unsigned sectors) {
        return (uint64_t) sectors * SIM_FLASH_ERASE_128K_USEC;
}

/**
 * sim_flash_program_usec() - byte-by-byte programming time at scale 1
 * @bytes: bytes programmed
 *
 * Returns microseconds.
 */
uint64_t sim_flash_program_usec(size_t bytes) {
        return (uint64_t) bytes * SIM_FLASH_PROGRAM_NSEC_PER_BYTE / 1000u;
}
