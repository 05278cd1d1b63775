/* Conformance of vesc-sim's flash and bootloader model (spec §14): full
 * updates driven through the real frame sequence with only the codec
 * (ERASE_NEW_APP, WRITE_NEW_APP_DATA in acknowledged 384-byte chunks, JUMP),
 * and the awkward parts: an old bootloader refusing a compressed stream, a
 * corrupted chunk caught by the bootloader's CRC, the three-deep hardware
 * FIFO during an erase, a power cycle during the bootloader's copy.
 *
 * Uses the project's test images from $top_builddir/firmware/imagesets when
 * they were built, else synthetic images with a VESCDFW1 descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fwimage.h"
#include "sim-harness.h"
#include "proto/vesc-can.h"
#include "proto/vesc-comm.h"
#include "wire.h"

#define T_MS 3000
#define CHUNK 384
#define REBOOT_MS 20000

static const uint8_t uuid_a[12] = { 0x3c, 0x00, 0x29, 0x00, 0x0d, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x34 };
static const uint8_t uuid_b[12] = { 0x2f, 0x00, 0x2b, 0x00, 0x14, 0x51, 0x36, 0x33, 0x36, 0x33, 0x35, 0x31 };

/* ------------------------------------------------------------ images */

typedef struct Image {
        uint8_t *data;
        size_t len;
        bool real;
} Image;

static int read_file(const char *path, uint8_t **ret, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t cap = 1u << 20, len = 0;
        uint8_t *buf;
        ssize_t k;

        if (fd < 0)
                return -errno;
        buf = malloc(cap);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while ((k = read(fd, buf + len, cap - len)) > 0)
                len += (size_t) k;
        close(fd);
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* The app (or bootloader) file for hw "60" of an image set, by its manifest. */
static bool real_image(const char *set, const char *kind, Image *img) {
        const char *top = getenv("top_builddir");
        char dir[512], path[1024];
        json_t *m, *hw, *e;
        size_t i;
        bool ok = false;

        snprintf(dir, sizeof dir, "%s/firmware/imagesets/%s", top ? top : ".", set);
        snprintf(path, sizeof path, "%s/manifest.json", dir);
        m = json_load_file(path, 0, NULL);
        if (!m)
                return false;
        hw = json_object_get(m, "hardware");
        json_array_foreach(hw, i, e) {
                const char *name = json_string_value(json_object_get(e, "hw_name"));
                const char *file = json_string_value(json_object_get(json_object_get(e, kind), "file"));
                if (!name || strcmp(name, "60") != 0 || !file)
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, file);
                ok = read_file(path, &img->data, &img->len) == 0;
                img->real = ok;
                break;
        }
        json_decref(m);
        return ok;
}

static void synth_app_hw(unsigned major, unsigned minor, const char *hw, Image *img) {
        size_t n = vesc_app_size_for_major(major);
        VescFwDescriptor d = { .major = (uint8_t) major, .minor = (uint8_t) minor,
                               .min_bootloader = major >= 6 ? 2 : 1, .build_id = 1 };
        uint8_t *p = malloc(n);

        snprintf(d.hw_name, sizeof d.hw_name, "%s", hw);

        assert_non_null(p);
        memset(p, 0xff, n);
        /* little-endian vector table: SP in SRAM, Thumb reset vector */
        p[0] = 0x00; p[1] = 0x08; p[2] = 0x00; p[3] = 0x20;
        p[4] = 0x01; p[5] = 0xc0; p[6] = 0x00; p[7] = 0x08;
        for (size_t i = 0; i < 3000; i++)
                p[0xc000 + i] = (uint8_t) (i * 131u + minor);
        vesc_fw_descriptor_write(&d, p + VESC_DESCRIPTOR_OFFSET);
        *img = (Image) { .data = p, .len = n };
}

static void synth_app(unsigned major, unsigned minor, Image *img) {
        synth_app_hw(major, minor, "60", img);
}

static void synth_bootloader(Image *img) {
        size_t n = 5376;
        VescBlDescriptor d = { .generation = 2, .hw_family = "60", .length = (uint32_t) n };
        uint8_t *p = malloc(n);

        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (i * 7u);
        vesc_bl_descriptor_write(&d, p + VESC_DESCRIPTOR_OFFSET);
        *img = (Image) { .data = p, .len = n };
}

static void app_image(unsigned major, Image *img) {
        if (!real_image(major >= 6 ? "vesc-6.05-test" : "vesc-5.03-test", "app", img))
                synth_app(major, major >= 6 ? 5 : 3, img);
        fprintf(stderr, "# using %s %u.x image (%zu bytes)\n", img->real ? "real" : "synthetic", major, img->len);
}

/* ------------------------------------------------------------ steps */

static int erase(Harness *h, uint8_t id, uint32_t size) {
        uint8_t req[8], buf[16];
        ssize_t k = vesc_erase_new_app_encode(size, req, sizeof req);
        VescFlashReply r;

        assert_true(k > 0);
        k = harness_request(h, id, req, (size_t) k, buf, sizeof buf, 20000);
        if (k < 0)
                return (int) k;
        assert_int_equal(vesc_flash_reply_decode(buf, (size_t) k, &r), 0);
        return r.ok ? 0 : -EIO;
}

static bool chunk_all_ff(const uint8_t *data, size_t n, size_t off) {
        size_t len = n - off < CHUNK ? n - off : CHUNK;

        for (size_t j = 0; j < len; j++)
                if (data[off + j] != 0xff)
                        return false;
        return true;
}

/* Write data at base in 384-byte chunks, each acknowledged.  skip_ff: skip
 * all-0xFF chunks (the erase covered them).  corrupt_chunk >= 0 flips a byte
 * of that chunk on the wire; lose_chunk >= 0 is never sent (a writer's bug).
 * echo: the 5.00+ offset echo is expected. */
static void write_chunks(Harness *h, uint8_t id, uint32_t base, const uint8_t *data, size_t n, bool echo,
                         bool skip_ff, long corrupt_chunk, long lose_chunk) {
        uint8_t req[CHUNK + 8], buf[16], chunk[CHUNK];

        for (size_t off = 0, i = 0; off < n; off += CHUNK, i++) {
                size_t len = n - off < CHUNK ? n - off : CHUNK;
                VescFlashReply r;
                ssize_t k;

                if ((skip_ff && chunk_all_ff(data, n, off)) || (long) i == lose_chunk)
                        continue;
                memcpy(chunk, data + off, len);
                if ((long) i == corrupt_chunk)
                        chunk[len / 2] ^= 0x5a;
                k = vesc_write_new_app_encode(base + (uint32_t) off, chunk, len, req, sizeof req);
                assert_true(k > 0);
                k = harness_request(h, id, req, (size_t) k, buf, sizeof buf, T_MS);
                assert_true(k > 0);
                assert_int_equal(k, echo ? 6 : 2);
                assert_int_equal(vesc_flash_reply_decode(buf, (size_t) k, &r), 0);
                assert_true(r.ok);
                assert_int_equal(r.has_offset, echo);
                if (echo)
                        assert_int_equal(r.offset, base + off);
        }
}

static void write_all(Harness *h, uint8_t id, uint32_t base, const uint8_t *data, size_t n, bool echo,
                      long corrupt_chunk) {
        write_chunks(h, id, base, data, n, echo, /* skip_ff= */ true, corrupt_chunk, -1);
}

static void jump(Harness *h, uint8_t id) {
        uint8_t req = COMM_JUMP_TO_BOOTLOADER;
        /* mode 2: no reply exists */
        assert_int_equal(harness_send_buffer(h, id, HARNESS_OWN_ID, 2, &req, 1), 0);
}

/* Poll FW_VERSION at id until it answers (bounded). */
static ssize_t wait_fw_version(Harness *h, uint8_t id, VescFwVersion *v, int timeout_ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) timeout_ms * 1000;
        uint8_t req = COMM_FW_VERSION, buf[512];

        while (harness_now_usec() < deadline) {
                ssize_t n = harness_request(h, id, &req, 1, buf, sizeof buf, 200);
                if (n > 0) {
                        assert_int_equal(vesc_fw_version_decode(buf, (size_t) n, v), 0);
                        return n;
                }
        }
        return -ETIMEDOUT;
}

/* One controller's object from the control socket's status line. */
static json_t *ctl_status(Harness *h, const char *name) {
        static char line[16384];
        json_t *root, *arr, *e, *ret = NULL;
        size_t i;

        assert_int_equal(harness_control(h, "status", line, sizeof line), 0);
        root = json_loads(line, 0, NULL);
        assert_non_null(root);
        arr = json_object_get(root, "controllers");
        json_array_foreach(arr, i, e)
                if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
                        ret = json_incref(e);
        json_decref(root);
        assert_non_null(ret);
        return ret;
}

static long ctl_counter(Harness *h, const char *name, const char *key) {
        json_t *c = ctl_status(h, name);
        long v = (long) json_integer_value(json_object_get(json_object_get(c, "counters"), key));
        json_decref(c);
        return v;
}

static long ctl_bootloader_generation(Harness *h, const char *name) {
        json_t *c = ctl_status(h, name);
        long v = (long) json_integer_value(json_object_get(c, "bootloader_generation"));

        assert_true(json_is_true(json_object_get(c, "bootloader_intact")) == (v > 0));
        json_decref(c);
        return v;
}

static void erase_bootloader(Harness *h, uint8_t id) {
        uint8_t req[8], buf[16];
        ssize_t k = vesc_erase_bootloader_encode(req, sizeof req);

        assert_true(k > 0);
        k = harness_request(h, id, req, (size_t) k, buf, sizeof buf, 20000);
        assert_int_equal(k, 2);
        assert_int_equal(buf[1], 1);
}

static bool has_ff_chunk(const Image *img) {
        for (size_t off = 0; off < img->len; off += CHUNK)
                if (chunk_all_ff(img->data, img->len, off))
                        return true;
        return false;
}

static void upload_stream(Harness *h, uint8_t id, const Image *img, bool compress, bool echo, long corrupt_chunk) {
        uint8_t *stream = NULL;
        size_t n = 0;

        assert_int_equal(vesc_upload_stream_build(img->data, img->len, compress, &stream, &n), 0);
        assert_int_equal(erase(h, id, (uint32_t) n), 0);
        write_all(h, id, 0, stream, n, echo, corrupt_chunk);
        free(stream);
}

static unsigned count_status(Harness *h, uint8_t id, int ms) {
        uint64_t deadline = harness_now_usec() + (uint64_t) ms * 1000;
        unsigned n = 0;

        while (harness_now_usec() < deadline) {
                struct can_frame f;
                if (harness_recv(h, &f, 50) == 0 && f.can_id == vesc_can_id(CAN_PACKET_STATUS, id))
                        n++;
        }
        return n;
}

/* ------------------------------------------------------------ setups */

static Harness harness;

static int start(void **state, const char *board, const char *scale) {
        const char *extra[] = { "--time-scale", scale, NULL };

        return harness_setup(state, &harness, board, extra);
}
static int setup_mismatch(void **state) {
        return start(state, "dual-mismatch", "0.05");
}
static int setup_358(void **state) {
        return start(state, "dual-358", "0.05");
}
static int setup_oldbl(void **state) {
        return start(state, "dual-old-bootloader", "0.05");
}
static int setup_oldbl_slow(void **state) {
        /* erase of 3 sectors = 0.9 s: the test's 5 frames surely land inside */
        return start(state, "dual-old-bootloader", "0.3");
}
static int setup_oldbl_imageset(void **state) {
        const char *top = getenv("top_builddir");
        static char dir[512];
        const char *extra[] = { "--time-scale", "0.05", "--image-set", dir, NULL };

        snprintf(dir, sizeof dir, "%s/firmware/imagesets/vesc-6.05-test", top ? top : ".");
        return harness_setup(state, &harness, "dual-old-bootloader", extra);
}
static int setup_dual_mcu(void **state) {
        return start(state, "dual-mcu", "0.05");
}

/* ------------------------------------------------------------ tests */

/* The seed repair: B (3.58) to 5.03 with a plain image. */
static void test_repair_b(void **state) {
        Harness *h = *state;
        Image img;
        VescFwVersion v;
        uint8_t req = COMM_GET_APPCONF, buf[520];
        uint8_t new_id = vesc_default_id_from_uuid(uuid_b, 5, 3);
        ssize_t n;

        app_image(5, &img);
        upload_stream(h, 74, &img, false, /* echo= */ false, -1);
        jump(h, 74);

        n = wait_fw_version(h, new_id, &v, REBOOT_MS);
        assert_int_equal(n, 25);
        assert_int_equal(v.major, 5);
        assert_int_equal(v.minor, 3);
        assert_memory_equal(v.uuid, uuid_b, 12);
        assert_int_equal(ctl_counter(h, "B", "boots"), 2);

        /* configuration reset: 5.03 signature, UUID default id, broadcasts off */
        n = harness_request(h, new_id, &req, 1, buf, sizeof buf, T_MS);
        assert_int_equal(n, 1 + 476);
        assert_int_equal(be32_get(buf + 1), 3733512279u);
        assert_int_equal(buf[1 + 4], new_id);
        assert_int_equal(buf[1 + 13], 0);
        assert_int_equal(count_status(h, new_id, 300), 0);
        free(img.data);
}

/* dual-358 A: id 10 under 3.58 becomes 12 under 5.03 (found again by UUID). */
static void test_id_change(void **state) {
        Harness *h = *state;
        Image img;
        VescFwVersion v;
        uint8_t d[8];

        app_image(5, &img);
        upload_stream(h, 10, &img, false, false, -1);
        jump(h, 10);
        assert_int_equal(wait_fw_version(h, 12, &v, REBOOT_MS), 25);
        assert_memory_equal(v.uuid, uuid_a, 12);
        assert_true(harness_ping(h, 10, HARNESS_OWN_ID, d, 300) < 0);
        free(img.data);
}

/* Generation-1 bootloader + compressed 6.05 stream: refused, old firmware back. */
static void test_gen1_refuses_compressed(void **state) {
        Harness *h = *state;
        Image img;
        VescFwVersion v;

        app_image(6, &img);
        upload_stream(h, 12, &img, true, /* echo= */ true, -1);
        jump(h, 12);
        assert_int_equal(wait_fw_version(h, 12, &v, REBOOT_MS), 25);
        assert_int_equal(v.major, 5);
        assert_int_equal(v.minor, 3);
        assert_int_equal(ctl_counter(h, "A", "boots"), 2);
        free(img.data);
}

/* A chunk corrupted on the wire (acked all the same): the bootloader's CRC
 * refuses, the old firmware comes back with its configuration. */
static void test_corrupt_chunk(void **state) {
        Harness *h = *state;
        Image img;
        VescFwVersion v;

        app_image(5, &img);
        upload_stream(h, 74, &img, false, false, /* corrupt_chunk= */ 0);
        jump(h, 74);
        assert_int_equal(wait_fw_version(h, 74, &v, REBOOT_MS), 19);
        assert_int_equal(v.major, 3);
        assert_int_equal(v.minor, 58);
        assert_int_equal(ctl_counter(h, "B", "boots"), 2);
        assert_true(count_status(h, 74, 500) > 0);
        free(img.data);
}

/* Five PINGs during an erase: the first two and the last are answered. */
static void test_fifo_during_erase(void **state) {
        Harness *h = *state;
        uint8_t req[8], buf[16];
        ssize_t k = vesc_erase_new_app_encode(VESC_NEW_APP_BUFFER, req, sizeof req);
        bool pong[5] = {};
        uint64_t deadline;

        assert_true(k > 0);
        assert_int_equal(harness_send_buffer(h, 12, HARNESS_OWN_ID, 0, req, (size_t) k), 0);
        for (int i = 0; i < 5; i++) {
                struct can_frame f;
                vesc_ping_encode(&f, 12, (uint8_t) (240 + i));
                assert_int_equal(harness_send(h, &f), 0);
        }
        assert_int_equal(harness_wait_reply(h, COMM_ERASE_NEW_APP, buf, sizeof buf, NULL, 20000), 2);
        assert_int_equal(buf[1], 1);
        deadline = harness_now_usec() + 500000u;
        while (harness_now_usec() < deadline) {
                struct can_frame f;
                uint8_t type, addr;
                if (harness_recv(h, &f, 50) == 0 && vesc_can_id_unpack(f.can_id, &type, &addr) == 0 &&
                    type == CAN_PACKET_PONG && addr >= 240 && addr < 245)
                        pong[addr - 240] = true;
        }
        assert_true(pong[0]);
        assert_true(pong[1]);
        assert_false(pong[2]);
        assert_false(pong[3]);
        assert_true(pong[4]);
        assert_int_equal(ctl_counter(h, "A", "fifo_overwritten"), 2);
}

/* Power lost while the bootloader copies the application: bricked. */
static void test_powercycle_bricks(void **state) {
        Harness *h = *state;
        Image img;
        char line[256];
        uint8_t d[8];
        json_t *c;
        uint64_t deadline;
        bool bricked = false;

        assert_int_equal(harness_control(h, "powercycle B bootloader", line, sizeof line), 0);
        assert_true(strncmp(line, "ok", 2) == 0);
        app_image(5, &img);
        upload_stream(h, 74, &img, false, false, -1);
        jump(h, 74);
        deadline = harness_now_usec() + (uint64_t) REBOOT_MS * 1000;
        while (!bricked && harness_now_usec() < deadline) {
                c = ctl_status(h, "B");
                bricked = strcmp(json_string_value(json_object_get(c, "phase")), "bricked") == 0;
                json_decref(c);
                if (!bricked)
                        harness_ping(h, 1, 2, d, 50); /* bounded pause between polls */
        }
        assert_true(bricked);
        assert_true(harness_ping(h, 74, HARNESS_OWN_ID, d, 300) < 0);
        free(img.data);
}

/* 5.03 with a generation-1 bootloader: write the generation-2 bootloader,
 * then the compressed 6.05 stream installs (the DESIGN.md journey). */
static void test_bootloader_then_605(void **state) {
        Harness *h = *state;
        Image app, bl;
        VescFwVersion v;

        if (!real_image("vesc-6.05-test", "bootloader", &bl))
                synth_bootloader(&bl);
        erase_bootloader(h, 12);
        assert_int_equal(ctl_bootloader_generation(h, "A"), 0);
        /* vesc-sim was not told the image set: a bootloader with skipped
         * all-0xFF chunks cannot be told from one with lost chunks: broken */
        if (has_ff_chunk(&bl)) {
                write_chunks(h, 12, VESC_BOOTLOADER_OFFSET, bl.data, bl.len, true, /* skip_ff= */ true, -1, -1);
                assert_int_equal(ctl_bootloader_generation(h, "A"), 0);
                erase_bootloader(h, 12);
        }
        /* every byte written: intact (DESIGN.md) */
        write_chunks(h, 12, VESC_BOOTLOADER_OFFSET, bl.data, bl.len, true, /* skip_ff= */ false, -1, -1);
        assert_int_equal(ctl_bootloader_generation(h, "A"), 2);

        app_image(6, &app);
        upload_stream(h, 12, &app, true, true, -1);
        jump(h, 12);
        assert_int_equal(wait_fw_version(h, vesc_default_id_from_uuid(uuid_a, 6, 5), &v, REBOOT_MS), 31);
        assert_int_equal(v.major, 6);
        assert_int_equal(v.minor, 5);
        free(app.data);
        free(bl.data);
}

/* vesc-sim --image-set knows the set's bootloaders by content: written with
 * its all-0xFF chunks skipped, the bootloader is the image byte for byte and
 * intact, as on a real controller; with a chunk of code lost it is broken. */
static void test_bootloader_known_image(void **state) {
        Harness *h = *state;
        Image bl;
        long lost = -1;

        if (!real_image("vesc-6.05-test", "bootloader", &bl))
                skip();
        assert_true(has_ff_chunk(&bl));
        erase_bootloader(h, 12);
        write_chunks(h, 12, VESC_BOOTLOADER_OFFSET, bl.data, bl.len, true, /* skip_ff= */ true, -1, -1);
        assert_int_equal(ctl_bootloader_generation(h, "A"), 2);

        for (size_t off = 0; off < bl.len && lost < 0; off += CHUNK)
                if (off > VESC_DESCRIPTOR_OFFSET + 64 && !chunk_all_ff(bl.data, bl.len, off))
                        lost = (long) (off / CHUNK);
        assert_true(lost >= 0);
        erase_bootloader(h, 12);
        write_chunks(h, 12, VESC_BOOTLOADER_OFFSET, bl.data, bl.len, true, /* skip_ff= */ true, -1, lost);
        assert_int_equal(ctl_bootloader_generation(h, "A"), 0);
        free(bl.data);
}

/* JUMP after ERASE_BOOTLOADER: silent until the watchdog, then the old firmware. */
static void test_jump_into_erased_bootloader(void **state) {
        Harness *h = *state;
        VescFwVersion v;

        erase_bootloader(h, 74);
        jump(h, 74);
        /* watchdog 32 s x 0.05 */
        assert_int_equal(wait_fw_version(h, 74, &v, REBOOT_MS), 25);
        assert_int_equal(ctl_counter(h, "B", "boots"), 2);
}

/* dual-mcu: one MCU behind ids 20 and 21.  One update through the primary
 * id flashes it; both motors come back together on the new firmware, at the
 * new version's UUID default id and that id + 1. */
static void test_dual_mcu_update(void **state) {
        static const uint8_t uuid_dual[12] = { 0x5a, 0x00, 0x30, 0x00, 0x09, 0x51, 0x39, 0x32, 0x36, 0x35, 0x39, 0x40 };
        Harness *h = *state;
        uint8_t uuid2[12], id = vesc_default_id_from_uuid(uuid_dual, 6, 6), d[8];
        Image img;
        VescFwVersion v;

        memcpy(uuid2, uuid_dual, 12);
        uuid2[11]++;
        synth_app_hw(6, 6, "STORMCORE_100D", &img);
        upload_stream(h, 20, &img, true, /* echo= */ true, -1);
        jump(h, 20);
        /* the one MCU is in its bootloader: neither motor answers */
        assert_int_equal(harness_ping(h, 21, HARNESS_OWN_ID, d, 50), -ETIMEDOUT);

        assert_true(wait_fw_version(h, id, &v, REBOOT_MS) > 0);
        assert_int_equal(v.major, 6);
        assert_int_equal(v.minor, 6);
        assert_string_equal(v.hw_name, "STORMCORE_100D");
        assert_memory_equal(v.uuid, uuid_dual, 12);
        assert_true(wait_fw_version(h, (uint8_t) (id + 1), &v, T_MS) > 0);
        assert_int_equal(v.minor, 6);
        assert_memory_equal(v.uuid, uuid2, 12);
        /* one boot for both, one set of flash operations */
        assert_int_equal(ctl_counter(h, "A", "boots"), 2);
        assert_int_equal(ctl_counter(h, "A", "erases"), 1);
        assert_int_equal(harness_ping(h, 20, HARNESS_OWN_ID, d, 200), -ETIMEDOUT);
        free(img.data);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_repair_b, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_id_change, setup_358, harness_teardown),
                cmocka_unit_test_setup_teardown(test_gen1_refuses_compressed, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_chunk, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_fifo_during_erase, setup_oldbl_slow, harness_teardown),
                cmocka_unit_test_setup_teardown(test_powercycle_bricks, setup_mismatch, harness_teardown),
                cmocka_unit_test_setup_teardown(test_bootloader_then_605, setup_oldbl, harness_teardown),
                cmocka_unit_test_setup_teardown(test_jump_into_erased_bootloader, setup_oldbl, harness_teardown),
                cmocka_unit_test_setup_teardown(test_bootloader_known_image, setup_oldbl_imageset, harness_teardown),
                cmocka_unit_test_setup_teardown(test_dual_mcu_update, setup_dual_mcu, harness_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
