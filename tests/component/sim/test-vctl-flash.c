/* Flash and bootloader model (sim/vctl-flash.c, spec §14.1-14.4, §21). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc.h"
#include "fwimage.h"
#include "heatshrink.h"
#include "vctl-flash.h"
#include "wire.h"

static int setup(void **state) {
        SimFlash *f;
        if (sim_flash_new(1, &f) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        sim_flash_free(*state);
        return 0;
}

static void test_nor_semantics(void **state) {
        SimFlash *f = *state;
        uint8_t a[4] = { 0xf0, 0x0f, 0xaa, 0x55 }, b[4] = { 0xff, 0xff, 0x0f, 0xf0 };

        assert_int_equal(sim_flash_write(f, 100, a, 4), 0);
        assert_int_equal(sim_flash_write(f, 100, b, 4), 0);
        assert_int_equal(f->mem[100], 0xf0);
        assert_int_equal(f->mem[102], 0x0a);
        assert_int_equal(f->mem[103], 0x50);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_REGION - 2, a, 4), -ERANGE);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_REGION - 4, b, 4), 0);
}

static void test_erase_sectors(void **state) {
        SimFlash *f = *state;

        assert_int_equal(sim_flash_erase_new_app(f, 0), 0);
        assert_int_equal(sim_flash_erase_new_app(f, 1), 1);
        assert_int_equal(sim_flash_erase_new_app(f, 131072), 1);
        assert_int_equal(sim_flash_erase_new_app(f, 131073), 2);
        assert_int_equal(sim_flash_erase_new_app(f, 393216), 3);
        assert_int_equal(sim_flash_erase_new_app(f, 9999999), 3);
        f->mem[SIM_FLASH_NEW_APP] = 0x12; /* the bootloader sector is not touched */
        sim_flash_erase_new_app(f, 9999999);
        assert_int_equal(f->mem[SIM_FLASH_NEW_APP], 0x12);
}

static void bootloader_image(uint8_t *bl, size_t n, uint8_t gen) {
        VescBlDescriptor d = { .generation = gen, .hw_family = "60", .length = (uint32_t) n };

        for (size_t i = 0; i < n; i++)
                bl[i] = (uint8_t) (i * 7u + 1u);
        memset(bl + 384, 0xff, 384);
        vesc_bl_descriptor_write(&d, bl + VESC_DESCRIPTOR_OFFSET);
}

/* The "known image" hook of vesc-sim, reduced to a byte comparison. */
static unsigned known_image(const uint8_t *sector11, void *userdata) {
        const uint8_t *bl = userdata;

        return memcmp(sector11, bl, 5376) == 0 ? 2 : 0;
}

static void test_bootloader_integrity(void **state) {
        SimFlash *f = *state;
        uint8_t bl[5376];

        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 1);   /* factory */
        bootloader_image(bl, sizeof bl, 2);

        /* writing over the factory bootloader without erasing breaks it */
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP, bl, 384), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 0);

        sim_flash_erase_bootloader(f);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 0);
        /* partial write: broken */
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP, bl, 2048), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, known_image, bl), 0);
        /* complete, every byte written: intact, generation 2 from the descriptor */
        sim_flash_erase_bootloader(f);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP, bl, sizeof bl), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 2);

        /* complete with the all-0xFF chunk at 384 skipped: the bytes are those of
         * the image, so intact when the image is known; without knowing it the
         * model cannot tell the skip from a loss and calls it broken */
        sim_flash_erase_bootloader(f);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP, bl, 384), 0);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP + 768, bl + 768, sizeof bl - 768), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, known_image, bl), 2);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 0);

        /* a chunk with content lost (never written): broken, known image or not */
        sim_flash_erase_bootloader(f);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP, bl, 1536), 0);
        assert_int_equal(sim_flash_write(f, SIM_FLASH_NEW_APP + 1920, bl + 1920, sizeof bl - 1920), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, known_image, bl), 0);
        assert_int_equal(sim_flash_bootloader_generation(f, NULL, NULL), 0);
}

static void put_stream(SimFlash *f, const uint8_t *data, size_t n, bool compressed, bool bad_crc) {
        uint8_t h[6];
        uint32_t raw = (uint32_t) n | (compressed ? 0xCC000000u : 0);

        sim_flash_erase_new_app(f, SIM_FLASH_NEW_APP);
        be32_put(h, raw);
        be16_put(h + 4, (uint16_t) (crc16(data, n) ^ (bad_crc ? 1 : 0)));
        assert_int_equal(sim_flash_write(f, 0, h, 6), 0);
        assert_int_equal(sim_flash_write(f, 6, data, n), 0);
}

static void test_boot_checks(void **state) {
        SimFlash *f = *state;
        uint8_t *app = malloc(SIM_FLASH_APP_AREA);
        uint8_t img[1000], *z;
        size_t zn;
        SimBootPlan p;

        assert_non_null(app);
        for (size_t i = 0; i < sizeof img; i++)
                img[i] = (uint8_t) i;

        put_stream(f, img, sizeof img, false, false);
        sim_flash_boot(f, 1, app, &p);
        assert_int_equal(p.result, SIM_BOOT_OK);
        assert_int_equal(p.image_len, 1000);
        assert_memory_equal(app, img, 1000);

        put_stream(f, img, sizeof img, false, true);
        sim_flash_boot(f, 1, app, &p);
        assert_int_equal(p.result, SIM_BOOT_CRC);

        put_stream(f, img, 0, false, false);
        sim_flash_boot(f, 2, app, &p);
        assert_int_equal(p.result, SIM_BOOT_SIZE_ZERO);

        /* compressed: generation 1 sees a huge size, generation 2 decodes */
        assert_int_equal(heatshrink_encode(img, sizeof img, &z, &zn), 0);
        put_stream(f, z, zn, true, false);
        sim_flash_boot(f, 1, app, &p);
        assert_int_equal(p.result, SIM_BOOT_TOO_LARGE);
        sim_flash_boot(f, 2, app, &p);
        assert_int_equal(p.result, SIM_BOOT_OK);
        assert_int_equal(p.image_len, 1000);
        assert_memory_equal(app, img, 1000);
        free(z);
        free(app);
}

static void test_boot_overflow_bricks(void **state) {
        SimFlash *f = *state;
        size_t big = SIM_FLASH_APP_AREA + 100;
        uint8_t *zeros = calloc(1, big), *app = malloc(SIM_FLASH_APP_AREA), *z;
        size_t zn;
        SimBootPlan p;

        assert_non_null(zeros);
        assert_non_null(app);
        assert_int_equal(heatshrink_encode(zeros, big, &z, &zn), 0);
        assert_true(zn < SIM_FLASH_NEW_APP);
        put_stream(f, z, zn, true, false);
        sim_flash_boot(f, 2, app, &p);
        assert_int_equal(p.result, SIM_BOOT_OK);
        assert_int_equal(p.image_len, -EOVERFLOW);
        free(z);
        free(zeros);
        free(app);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_nor_semantics, setup, teardown),
                cmocka_unit_test_setup_teardown(test_erase_sectors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bootloader_integrity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_boot_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_boot_overflow_bricks, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
