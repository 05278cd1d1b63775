/* mkimage: turn the objcopy output of the test firmware into a real-sized
 * VESC image with the project's descriptor at offset 0x400.
 *
 *   mkimage app --major M --minor N [--test-build T] [--hw-type H]
 *               --hw NAME [--fw-name NAME] --min-bootloader G --build-id ID IN OUT
 *   mkimage bootloader --generation G --hw NAME [--size BYTES] IN OUT
 *
 * An application is padded with 0xFF to exactly 393 208 bytes (major < 6)
 * or 524 280 bytes (6.x), as objcopy --gap-fill 0xFF does for real builds.
 * A bootloader is padded to --size (default 5376, within the size range of
 * the real ones) with a deterministic non-0xFF filler standing in for code,
 * so every byte of it has to be written.  Build-time tool (noinst). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwimage.h"
#include "macro.h"

static int read_file(const char *path, uint8_t **ret, size_t *ret_len) {
        FILE *f = fopen(path, "rb");
        if (!f)
                return -errno;
        size_t cap = 1 << 20, n;
        uint8_t *buf = malloc(cap);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(buf, 1, cap, f);
        int bad = ferror(f) || !feof(f);
        fclose(f);
        if (bad) {
                free(buf);
                return -EFBIG;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int write_file(const char *path, const uint8_t *buf, size_t n) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        FILE *f = fopen(tmp, "wb");
        if (!f)
                return -errno;
        size_t k = fwrite(buf, 1, n, f);
        if (fclose(f) != 0 || k != n) {
                (void) remove(tmp);
                return -EIO;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                (void) remove(tmp);
                return r;
        }
        return 0;
}

static int parse_u(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 0);
        if (errno || !*s || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int usage(void) {
        fprintf(stderr,
                "usage: mkimage app --major M --minor N [--test-build T] [--hw-type H] --hw NAME\n"
                "                   [--fw-name NAME] --min-bootloader G --build-id ID IN OUT\n"
                "       mkimage bootloader --generation G --hw NAME [--size BYTES] IN OUT\n");
        return 2;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "major", required_argument, NULL, 'M' },      { "minor", required_argument, NULL, 'm' },
                { "test-build", required_argument, NULL, 't' }, { "hw-type", required_argument, NULL, 'T' },
                { "hw", required_argument, NULL, 'h' },         { "fw-name", required_argument, NULL, 'f' },
                { "min-bootloader", required_argument, NULL, 'b' },
                { "build-id", required_argument, NULL, 'i' },   { "generation", required_argument, NULL, 'g' },
                { "size", required_argument, NULL, 's' },       {}
        };
        unsigned long major = 256, minor = 256, test = 0, hwtype = 0, minbl = 0, build = 0, gen = 0, size = 5376;
        const char *hw = NULL, *fwname = "";
        int c;

        if (argc < 2)
                return usage();
        const char *kind = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 'M': r = parse_u(optarg, 255, &major); break;
                case 'm': r = parse_u(optarg, 255, &minor); break;
                case 't': r = parse_u(optarg, 255, &test); break;
                case 'T': r = parse_u(optarg, 255, &hwtype); break;
                case 'b': r = parse_u(optarg, 255, &minbl); break;
                case 'i': r = parse_u(optarg, UINT32_MAX, &build); break;
                case 'g': r = parse_u(optarg, 255, &gen); break;
                case 's': r = parse_u(optarg, VESC_BOOTLOADER_SECTOR, &size); break;
                case 'h': hw = optarg; break;
                case 'f': fwname = optarg; break;
                default: return usage();
                }
                if (r < 0) {
                        fprintf(stderr, "mkimage: bad number '%s'\n", optarg);
                        return 2;
                }
        }
        if (argc - optind != 2 || !hw || strlen(hw) > 32 || strlen(fwname) > 32)
                return usage();
        const char *in = argv[optind], *out = argv[optind + 1];

        _cleanup_free_ uint8_t *raw = NULL;
        size_t n = 0;
        int r = read_file(in, &raw, &n);
        if (r < 0) {
                fprintf(stderr, "mkimage: %s: %s\n", in, strerror(-r));
                return 1;
        }

        size_t target;
        bool app = strcmp(kind, "app") == 0;
        if (app) {
                if (major > 255 || minor > 99 || minbl < 1)
                        return usage();
                target = vesc_app_size_for_major((unsigned) major);
        } else if (strcmp(kind, "bootloader") == 0) {
                if (gen < 1 || size < VESC_DESCRIPTOR_OFFSET + VESC_BL_DESC_LEN)
                        return usage();
                target = size;
        } else
                return usage();

        if (n > target || n < VESC_DESCRIPTOR_OFFSET + 128) {
                fprintf(stderr, "mkimage: %s: %zu bytes, must be %u..%zu\n", in, n, VESC_DESCRIPTOR_OFFSET + 128,
                        target);
                return 1;
        }
        for (size_t i = 0; i < 128; i++)
                if (raw[VESC_DESCRIPTOR_OFFSET + i] != 0xFF) {
                        fprintf(stderr, "mkimage: %s: descriptor slot at 0x400 is not empty\n", in);
                        return 1;
                }

        _cleanup_free_ uint8_t *img = malloc(target);
        if (!img)
                return 1;
        memcpy(img, raw, n);
        for (size_t i = n; i < target; i++)
                img[i] = app ? 0xFF : (uint8_t) (0x5A ^ (i * 131u) ^ (i >> 7));

        if (app) {
                VescFwDescriptor d = {
                        .major = (uint8_t) major,
                        .minor = (uint8_t) minor,
                        .test_build = (uint8_t) test,
                        .hw_type = (uint8_t) hwtype,
                        .min_bootloader = (uint8_t) minbl,
                        .build_id = (uint32_t) build,
                };
                snprintf(d.hw_name, sizeof d.hw_name, "%s", hw);
                snprintf(d.fw_name, sizeof d.fw_name, "%s", fwname);
                vesc_fw_descriptor_write(&d, img + VESC_DESCRIPTOR_OFFSET);
                const char *reason;
                if (vesc_image_check_vectors(img, target, &reason) < 0) {
                        fprintf(stderr, "mkimage: %s: %s\n", in, reason);
                        return 1;
                }
        } else {
                VescBlDescriptor d = { .generation = (uint8_t) gen, .length = (uint32_t) target };
                snprintf(d.hw_family, sizeof d.hw_family, "%s", hw);
                vesc_bl_descriptor_write(&d, img + VESC_DESCRIPTOR_OFFSET);
        }

        r = write_file(out, img, target);
        if (r < 0) {
                fprintf(stderr, "mkimage: %s: %s\n", out, strerror(-r));
                return 1;
        }
        return 0;
}
