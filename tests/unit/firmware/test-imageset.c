/* Image sets: every validation rule with a crafted set (in memory, as a
 * tar archive, as a directory), signatures and trust, JSON rendering, and
 * the installed-set store (install, list, remove, rollback, pruning). */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwimage.h"
#include "imageset.h"
#include "imagestore.h"
#include "macro.h"

/* ------------------------------------------------------------ fixtures */

typedef struct Img {
        uint8_t *data;
        size_t len;
} Img;

static void put_le32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

/* A test application like firmware/testfw's: vectors, descriptor, code. */
static Img make_app(unsigned major, unsigned minor, const char *hw, unsigned minbl, bool descriptor) {
        size_t n = vesc_app_size_for_major(major);
        Img m = { .data = malloc(n), .len = n };
        assert_non_null(m.data);
        memset(m.data, 0xFF, n);
        put_le32(m.data, 0x20000800);
        put_le32(m.data + 4, 0x0800C001);
        for (size_t i = 0xC000; i < 0xC400; i++)
                m.data[i] = (uint8_t) (i * 7);
        if (descriptor) {
                VescFwDescriptor d = { .major = (uint8_t) major, .minor = (uint8_t) minor,
                                       .min_bootloader = (uint8_t) minbl, .build_id = 42 };
                snprintf(d.hw_name, sizeof d.hw_name, "%s", hw);
                vesc_fw_descriptor_write(&d, m.data + 0x400);
        }
        return m;
}

static Img make_bl(unsigned gen, const char *hw, size_t n) {
        Img m = { .data = malloc(n), .len = n };
        assert_non_null(m.data);
        for (size_t i = 0; i < n; i++)
                m.data[i] = (uint8_t) (i * 13 + 1);
        VescBlDescriptor d = { .generation = (uint8_t) gen, .length = (uint32_t) n };
        snprintf(d.hw_family, sizeof d.hw_family, "%s", hw);
        vesc_bl_descriptor_write(&d, m.data + 0x400);
        return m;
}

typedef struct Fixture {
        Img app60, app410, bl60;
        char sha60[65], sha410[65], shabl[65];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);
        f->app60 = make_app(6, 5, "60", 2, true);
        f->app410 = make_app(6, 5, "410", 2, true);
        f->bl60 = make_bl(2, "60", 5376);
        image_sha256_hex(f->app60.data, f->app60.len, f->sha60);
        image_sha256_hex(f->app410.data, f->app410.len, f->sha410);
        image_sha256_hex(f->bl60.data, f->bl60.len, f->shabl);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        free(f->app60.data);
        free(f->app410.data);
        free(f->bl60.data);
        free(f);
        return 0;
}

/* A manifest for 60 (+ bootloader) and 410 with fields overridable. */
typedef struct ManifestOpts {
        const char *name;
        const char *app60_file;
        long long app60_size;
        const char *app60_sha;
        int major, minor, minbl;
        const char *hw410;
        bool bootloader;
        int bl_gen;
        const char *extra; /* appended inside the 60 entry */
} ManifestOpts;

static char *manifest(const Fixture *f, const ManifestOpts *o) {
        char blpart[256] = "";
        char *m = NULL;
        if (o->bootloader)
                snprintf(blpart, sizeof blpart,
                         ", \"bootloader\": {\"file\": \"60/bootloader.bin\", \"size\": 5376, \"sha256\": \"%s\", "
                         "\"generation\": %d}",
                         f->shabl, o->bl_gen ?: 2);
        int r = asprintf(
                &m,
                "{\"format_version\": 1, \"name\": \"%s\", \"version\": \"6.05\",\n"
                " \"hardware\": [\n"
                "  {\"hw_name\": \"60\", \"app\": {\"file\": \"%s\", \"size\": %lld, \"sha256\": \"%s\",\n"
                "    \"firmware_major\": %d, \"firmware_minor\": %d, \"firmware_test_build\": 0,\n"
                "    \"firmware_name\": \"\", \"min_bootloader\": %d%s}%s},\n"
                "  {\"hw_name\": \"%s\", \"app\": {\"file\": \"410/firmware.bin\", \"size\": 524280, \"sha256\": "
                "\"%s\",\n"
                "    \"firmware_major\": 6, \"firmware_minor\": 5, \"firmware_test_build\": 0,\n"
                "    \"firmware_name\": \"\", \"min_bootloader\": 2}}],\n"
                " \"provenance\": {\"source\": \"unit test\", \"created\": \"2026-01-01T00:00:00Z\", "
                "\"tool\": \"test\"}}\n",
                o->name ?: "test-set", o->app60_file ?: "60/firmware.bin", o->app60_size ?: 524280,
                o->app60_sha ?: f->sha60, o->major ?: 6, o->minor ?: 5, o->minbl ?: 2, o->extra ?: "", blpart,
                o->hw410 ?: "410", f->sha410);
        assert_true(r > 0);
        return m;
}

/* Assemble files into a set; verify; return r and the error. */
static int try_set(const char *man, const Img *a60, const Img *a410, const Img *bl, const ImageTrust *trust,
                   const uint8_t *sig, char **err) {
        ImageSetFile files[4] = { { "manifest.json", (const uint8_t *) man, strlen(man) } };
        size_t n = 1;
        if (a60)
                files[n++] = (ImageSetFile){ "60/firmware.bin", a60->data, a60->len };
        if (a410)
                files[n++] = (ImageSetFile){ "410/firmware.bin", a410->data, a410->len };
        if (bl)
                files[n++] = (ImageSetFile){ "60/bootloader.bin", bl->data, bl->len };
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        int r = image_set_new_memory(files, n, &s, err);
        if (r < 0)
                return r;
        if (sig)
                assert_int_equal(image_set_set_signature(s, sig), 0);
        return image_set_verify(s, trust, err);
}

static void expect_error(int r, const char *err, int want, const char *part) {
        print_message("  -> %d: %s\n", r, err ?: "(no message)");
        assert_int_equal(r, want);
        assert_non_null(err);
        if (!strstr(err, part))
                fail_msg("expected '%s' in '%s'", part, err);
}

/* The call runs before err is read (argument evaluation order is unspecified). */
#define EXPECT_ERROR(call, want, part)                  \
        do {                                            \
                int r_ = (call);                        \
                expect_error(r_, err, (want), (part));  \
        } while (0)

/* --------------------------------------------------------------- tests */

static void test_good_set(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){ .bootloader = true });
        _cleanup_free_ char *err = NULL;
        ImageSetFile files[] = {
                { "manifest.json", (const uint8_t *) m, strlen(m) },
                { "60/firmware.bin", f->app60.data, f->app60.len },
                { "410/firmware.bin", f->app410.data, f->app410.len },
                { "60/bootloader.bin", f->bl60.data, f->bl60.len },
        };
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        assert_int_equal(image_set_new_memory(files, ELEMENTSOF(files), &s, &err), 0);
        assert_int_equal(image_set_verify(s, NULL, &err), 0);
        assert_string_equal(image_set_name(s), "test-set");
        assert_int_equal(image_set_n_entries(s), 2);
        char id[17];
        image_set_id_from_manifest((const uint8_t *) m, strlen(m), id);
        assert_string_equal(image_set_id(s), id);
        assert_int_equal(strlen(id), 16);

        const ImageSetEntry *e = image_set_find(s, "60");
        assert_non_null(e);
        assert_true(e->has_bootloader);
        assert_null(image_set_find(s, "75_300"));
        assert_false(image_set_find(s, "410")->has_bootloader);

        _cleanup_free_ uint8_t *app = NULL, *bl = NULL;
        size_t n;
        assert_int_equal(image_set_read_app(s, e, &app, &n, &err), 0);
        assert_int_equal(n, VESC_APP_SIZE_V6);
        assert_int_equal(image_set_read_bootloader(s, e, &bl, &n, &err), 0);
        assert_int_equal(n, 5376);
        uint8_t *none = NULL;
        assert_int_equal(image_set_read_bootloader(s, image_set_find(s, "410"), &none, &n, &err), -ENOENT);

        json_auto_t *j = image_set_to_json(s);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "id")), id);
        assert_string_equal(json_string_value(json_object_get(j, "signature")), "none");
        json_t *h0 = json_array_get(json_object_get(j, "hardware"), 0);
        assert_string_equal(json_string_value(json_object_get(h0, "hw_name")), "60");
        json_t *a = json_object_get(h0, "app");
        assert_string_equal(json_string_value(json_object_get(a, "firmware_version")), "6.05");
        assert_true(json_is_true(json_object_get(a, "compressed")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(h0, "bootloader"), "generation")), 2);
        assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "hardware"), 1), "bootloader")));
}

typedef struct BadManifest {
        const char *name;
        const char *text;
        const char *part;
} BadManifest;

static const BadManifest bad_manifests[] = {
        { "empty", "", "not valid JSON" },
        { "truncated", "{\"format_version\": 1, \"name\":", "not valid JSON" },
        { "array", "[1, 2]", "top level must be an object" },
        { "duplicate key", "{\"format_version\": 1, \"format_version\": 1}", "not valid JSON" },
        { "format 2", "{\"format_version\": 2}", "format_version: expected 1, found 2" },
        { "format string", "{\"format_version\": \"1\"}", "format_version: expected the integer 1" },
        { "unknown top", "{\"format_version\": 1, \"colour\": 3}", "unknown top-level field \"colour\"" },
        { "no name", "{\"format_version\": 1}", "missing field \"name\"" },
        { "bad name", "{\"format_version\": 1, \"name\": \"a/b\", \"version\": \"1\"}", "invalid name" },
        { "no provenance", "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\"}", "provenance" },
        { "no hardware",
          "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\", \"provenance\": {\"source\": \"s\", "
          "\"created\": \"c\", \"tool\": \"t\"}}",
          "missing array \"hardware\"" },
        { "empty hardware",
          "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\", \"hardware\": [], \"provenance\": "
          "{\"source\": \"s\", \"created\": \"c\", \"tool\": \"t\"}}",
          "must list 1-64 hardware names, found 0" },
        { "hw not object",
          "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\", \"hardware\": [3], \"provenance\": "
          "{\"source\": \"s\", \"created\": \"c\", \"tool\": \"t\"}}",
          "hardware[0]: must be an object" },
        { "empty hw name",
          "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\", \"hardware\": [{\"hw_name\": \"\"}], "
          "\"provenance\": {\"source\": \"s\", \"created\": \"c\", \"tool\": \"t\"}}",
          "invalid hw_name" },
        { "no app",
          "{\"format_version\": 1, \"name\": \"x\", \"version\": \"1\", \"hardware\": [{\"hw_name\": \"60\"}], "
          "\"provenance\": {\"source\": \"s\", \"created\": \"c\", \"tool\": \"t\"}}",
          "hardware '60': missing object \"app\"" },
        { "nul byte", "{\"format_version\": 1\0}", "NUL" },
};

static void test_bad_manifests(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad_manifests); i++) {
                const BadManifest *b = &bad_manifests[i];
                size_t n = strcmp(b->name, "nul byte") == 0 ? 22 : strlen(b->text);
                _cleanup_free_ char *err = NULL;
                ImageSetEntry *e = NULL;
                size_t ne = 0;
                print_message("%s\n", b->name);
                int r = image_manifest_parse((const uint8_t *) b->text, n, NULL, &e, &ne, &err);
                EXPECT_ERROR(r, -EBADMSG, b->part);
                assert_null(e);
        }
        /* Bounded size. */
        size_t big = IMAGE_SET_MANIFEST_MAX + 1;
        _cleanup_free_ uint8_t *buf = malloc(big);
        memset(buf, ' ', big);
        _cleanup_free_ char *err = NULL;
        ImageSetEntry *e = NULL;
        size_t ne;
        EXPECT_ERROR(image_manifest_parse(buf, big, NULL, &e, &ne, &err), -EFBIG, "too large");
}

typedef struct RuleCase {
        const char *name;
        ManifestOpts opts;
        int app60; /* 0 good, 1 wrong hw, 2 truncated, 3 bad sp, 4 even reset, 5 reset in eeprom,
                      6 reset outside, 7 5.03 image, 8 corrupt descriptor, 9 descriptor version */
        int want;
        const char *part;
} RuleCase;

static const RuleCase rule_cases[] = {
        { "good", { .bootloader = true }, 0, 0, NULL },
        { "wrong hw in image", {}, 1, -EBADMSG, "wrong hardware: descriptor says '410', manifest says '60'" },
        { "truncated image", {}, 2, -EBADMSG, "size mismatch: manifest says 524280 bytes, file has 524000" },
        { "sp outside RAM", {}, 3, -EBADMSG, "bad vector table: initial stack pointer" },
        { "even reset vector", {}, 4, -EBADMSG, "bad vector table: reset vector is even" },
        { "reset in EEPROM", {}, 5, -EBADMSG, "reset vector points into the EEPROM sectors" },
        { "reset outside image", {}, 6, -EBADMSG, "reset vector points outside the image" },
        { "size does not fit major", { .app60_size = 393208 }, 0, -EBADMSG,
          "size 393208 does not fit firmware 6.05: expected 524280" },
        { "too large", { .app60_size = 600000 }, 0, -EBADMSG, "size 600000 does not fit firmware 6.05" },
        { "bad hash", { .app60_sha = "0000000000000000000000000000000000000000000000000000000000000000" }, 0,
          -EBADMSG, "SHA-256 mismatch: manifest says 0000" },
        { "hash not hex", { .app60_sha = "xyz" }, 0, -EBADMSG, "\"sha256\" must be 64 lower-case hex digits" },
        { "path traversal", { .app60_file = "../etc/passwd" }, 0, -EBADMSG, "unsafe file name \"../etc/passwd\"" },
        { "absolute path", { .app60_file = "/etc/passwd" }, 0, -EBADMSG, "unsafe file name" },
        { "missing file", { .app60_file = "60/other.bin" }, 0, -ENOENT, "60/other.bin: missing" },
        { "6.x with gen-1 bootloader", { .minbl = 1 }, 0, -EBADMSG, "min_bootloader must be 2, found 1" },
        { "descriptor disagrees", { .minor = 6 }, 0, -EBADMSG,
          "version mismatch: descriptor says 6.05 test build 0, manifest says 6.06" },
        { "corrupt descriptor", {}, 8, -EBADMSG, "corrupt VESCDFW1 descriptor" },
        { "duplicate hw", { .hw410 = "60" }, 0, -EBADMSG, "hardware '60' listed twice" },
        { "unknown app field", { .extra = ", \"colour\": 1" }, 0, -EBADMSG, "unknown field \"colour\"" },
        { "bad bootloader gen", { .bootloader = true, .bl_gen = 1 }, 0, -EBADMSG,
          "generation 1 cannot install the app, which needs generation 2" },
};

static void test_rules(void **state) {
        Fixture *f = *state;
        for (size_t i = 0; i < ELEMENTSOF(rule_cases); i++) {
                const RuleCase *c = &rule_cases[i];
                print_message("%s\n", c->name);
                Img a = { .data = malloc(f->app60.len), .len = f->app60.len };
                memcpy(a.data, f->app60.data, a.len);
                switch (c->app60) {
                case 1:
                        memcpy(a.data, f->app410.data, a.len);
                        break;
                case 2:
                        a.len = 524000;
                        break;
                case 3:
                        put_le32(a.data, 0x30000000);
                        break;
                case 4:
                        put_le32(a.data + 4, 0x0800C000);
                        break;
                case 5:
                        put_le32(a.data + 4, 0x08008001);
                        break;
                case 6:
                        put_le32(a.data + 4, 0x08090001);
                        break;
                case 8:
                        a.data[0x400 + 20] ^= 0x40;
                        break;
                }
                ManifestOpts o = c->opts;
                char sha[65];
                if (c->app60 && !o.app60_sha) {
                        image_sha256_hex(a.data, a.len, sha);
                        o.app60_sha = sha;
                }
                if (o.bootloader && !o.bl_gen)
                        o.bl_gen = 2;
                _cleanup_free_ char *m = manifest(f, &o);
                _cleanup_free_ char *err = NULL;
                int r = try_set(m, &a, &f->app410, o.bootloader ? &f->bl60 : NULL, NULL, NULL, &err);
                free(a.data);
                if (c->want == 0) {
                        if (r < 0)
                                fail_msg("%s: %s", c->name, err);
                        continue;
                }
                EXPECT_ERROR(r, c->want, c->part);
        }
}

static void test_incompressible(void **state) {
        Fixture *f = *state;
        /* A 6.x image of noise: valid vectors, but the stream cannot fit. */
        Img a = { .data = malloc(f->app60.len), .len = f->app60.len };
        uint32_t x = 9;
        for (size_t i = 0; i < a.len; i++) {
                x = x * 1103515245u + 12345u;
                a.data[i] = (uint8_t) (x >> 16);
        }
        put_le32(a.data, 0x20000800);
        put_le32(a.data + 4, 0x0800C001);
        memset(a.data + 0x400, 0xFF, 128); /* no descriptor */
        char sha[65];
        image_sha256_hex(a.data, a.len, sha);
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){ .app60_sha = sha });
        _cleanup_free_ char *err = NULL;
        int r = try_set(m, &a, &f->app410, NULL, NULL, NULL, &err);
        free(a.data);
        EXPECT_ERROR(r, -EFBIG, "does not compress enough");
}

static void test_bootloader_rules(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){ .bootloader = true, .bl_gen = 2 });
        _cleanup_free_ char *err = NULL;
        /* Descriptor for the wrong hw family. */
        Img bl = make_bl(2, "410", 5376);
        char sha[65];
        image_sha256_hex(bl.data, bl.len, sha);
        char *p = strstr(m, f->shabl);
        memcpy(p, sha, 64);
        int r = try_set(m, &f->app60, &f->app410, &bl, NULL, NULL, &err);
        EXPECT_ERROR(r, -EBADMSG, "wrong hardware: bootloader descriptor says '410', manifest says '60'");
        free(bl.data);

        /* Generation disagreeing with the manifest. */
        bl = make_bl(1, "60", 5376);
        image_sha256_hex(bl.data, bl.len, sha);
        memcpy(p, sha, 64);
        r = try_set(m, &f->app60, &f->app410, &bl, NULL, NULL, &err);
        EXPECT_ERROR(r, -EBADMSG, "generation mismatch: descriptor says 1, manifest says 2");
        free(bl.data);

        /* Larger than sector 11 is refused by the manifest rule. */
        _cleanup_free_ char *m2 = manifest(f, &(ManifestOpts){ .bootloader = true, .bl_gen = 2 });
        char *s = strstr(m2, "\"size\": 5376");
        assert_non_null(s);
        *s = 0;
        _cleanup_free_ char *m3 = NULL;
        assert_true(asprintf(&m3, "%s\"size\": 131073%s", m2, s + strlen("\"size\": 5376")) > 0);
        ImageSetEntry *e = NULL;
        size_t ne;
        r = image_manifest_parse((const uint8_t *) m3, strlen(m3), NULL, &e, &ne, &err);
        EXPECT_ERROR(r, -EBADMSG, "\"size\" out of range: expected 1..131072");
}

static void test_signature(void **state) {
        Fixture *f = *state;
        uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64];
        assert_int_equal(image_keypair_generate(pk, sk), 0);
        assert_int_equal(image_keypair_generate(pk2, sk2), 0);
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){});
        assert_int_equal(image_sign((const uint8_t *) m, strlen(m), sk, sig), 0);
        _cleanup_free_ char *err = NULL;

        ImageTrust t = {};
        assert_int_equal(image_trust_add_key(&t, pk), 0);
        /* Signed, trusted key: fine, also when required. */
        assert_int_equal(try_set(m, &f->app60, &f->app410, NULL, &t, sig, &err), 0);
        t.require_signed = true;
        assert_int_equal(try_set(m, &f->app60, &f->app410, NULL, &t, sig, &err), 0);
        /* Unsigned when required. */
        EXPECT_ERROR(try_set(m, &f->app60, &f->app410, NULL, &t, NULL, &err), -EPERM,
                     "manifest.json.sig: missing, but signed sets are required");
        /* Bad signature (one bit). */
        sig[10] ^= 1;
        EXPECT_ERROR(try_set(m, &f->app60, &f->app410, NULL, &t, sig, &err), -EPERM,
                     "signature does not verify with any of the 1 trusted key(s)");
        sig[10] ^= 1;
        image_trust_done(&t);
        /* Signed by another key. */
        assert_int_equal(image_trust_add_key(&t, pk2), 0);
        EXPECT_ERROR(try_set(m, &f->app60, &f->app410, NULL, &t, sig, &err), -EPERM, "does not verify");
        image_trust_done(&t);
        /* Required but no keys. */
        t.require_signed = true;
        EXPECT_ERROR(try_set(m, &f->app60, &f->app410, NULL, &t, sig, &err), -EPERM,
                     "no trusted key is configured");
        image_trust_done(&t);

        /* Trust file syntax. */
        char hex[65];
        for (size_t i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", pk[i]);
        _cleanup_free_ char *text = NULL;
        assert_true(asprintf(&text, "# keys\n\ned25519 %s release key\nrequire-signed\n", hex) > 0);
        assert_int_equal(image_trust_parse(&t, text, strlen(text), "trust", &err), 0);
        assert_int_equal(t.n_keys, 1);
        assert_true(t.require_signed);
        assert_memory_equal(t.keys[0], pk, 32);
        image_trust_done(&t);
        EXPECT_ERROR(image_trust_parse(&t, "ed25519 abcd\n", 13, "trust", &err), -EBADMSG,
                     "trust:1: bad public key");
        EXPECT_ERROR(image_trust_parse(&t, "\nfoo\n", 5, "trust", &err), -EBADMSG, "trust:2: expected");
        image_trust_done(&t);
}

/* Build a ustar archive by hand for the tar reader's rules. */
static size_t tar_add(uint8_t *buf, size_t off, const char *name, char type, const void *data, size_t n) {
        uint8_t *h = buf + off;
        memset(h, 0, 512);
        memcpy(h, name, strlen(name));
        sprintf((char *) h + 100, "%07o", 0644);
        sprintf((char *) h + 108, "%07o", 0);
        sprintf((char *) h + 116, "%07o", 0);
        sprintf((char *) h + 124, "%011zo", n);
        sprintf((char *) h + 136, "%011o", 0);
        h[156] = (uint8_t) type;
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += h[i];
        sprintf((char *) h + 148, "%06o", sum);
        off += 512;
        if (n)
                memcpy(buf + off, data, n);
        return off + (n + 511) / 512 * 512;
}

static void test_tar(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){});
        size_t cap = 3 * 1024 * 1024;
        _cleanup_free_ uint8_t *buf = calloc(1, cap);
        _cleanup_free_ char *err = NULL;
        size_t off = 0;
        off = tar_add(buf, off, "./manifest.json", '0', m, strlen(m));
        off = tar_add(buf, off, "60/", '5', NULL, 0);
        off = tar_add(buf, off, "60/firmware.bin", '0', f->app60.data, f->app60.len);
        off = tar_add(buf, off, "410/firmware.bin", '0', f->app410.data, f->app410.len);
        size_t good = off + 1024;
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        assert_int_equal(image_set_open_tar_buffer(buf, good, &s, &err), 0);
        assert_int_equal(image_set_verify(s, NULL, &err), 0);

        /* Read from an fd, as vescd gets sets over D-Bus. */
        int p[2];
        assert_int_equal(pipe(p), 0);
        FILE *tmp = tmpfile();
        assert_non_null(tmp);
        assert_int_equal(fwrite(buf, 1, good, tmp), good);
        fflush(tmp);
        rewind(tmp);
        ImageSet *s2 = NULL;
        assert_int_equal(image_set_open_fd(fileno(tmp), &s2, &err), 0);
        assert_string_equal(image_set_id(s2), image_set_id(s));
        s2 = image_set_free(s2);
        fclose(tmp);
        close(p[0]);
        close(p[1]);

        /* Truncated archive. */
        EXPECT_ERROR(image_set_open_tar_buffer(buf, 3072, &s2, &err), -EBADMSG, "truncated");
        EXPECT_ERROR(image_set_open_tar_buffer(buf, 1000, &s2, &err), -EBADMSG, "not a multiple of 512");
        /* Checksum. */
        buf[0] ^= 1;
        EXPECT_ERROR(image_set_open_tar_buffer(buf, good, &s2, &err), -EBADMSG, "checksum mismatch");
        buf[0] ^= 1;

        /* A symlink member, a traversal member, duplicates, no manifest. */
        _cleanup_free_ uint8_t *b2 = calloc(1, 8192);
        off = tar_add(b2, 0, "manifest.json", '2', NULL, 0);
        EXPECT_ERROR(image_set_open_tar_buffer(b2, off + 1024, &s2, &err), -EBADMSG,
                     "has type '2': only regular files and directories");
        off = tar_add(b2, 0, "../evil", '0', "x", 1);
        EXPECT_ERROR(image_set_open_tar_buffer(b2, off + 1024, &s2, &err), -EBADMSG,
                     "unsafe member name '../evil'");
        memset(b2, 0, 8192);
        off = tar_add(b2, 0, "a.bin", '0', "x", 1);
        off = tar_add(b2, off, "a.bin", '0', "y", 1);
        EXPECT_ERROR(image_set_open_tar_buffer(b2, off + 1024, &s2, &err), -EBADMSG, "appears twice");
        memset(b2, 0, 8192);
        off = tar_add(b2, 0, "a.bin", '0', "x", 1);
        EXPECT_ERROR(image_set_open_tar_buffer(b2, off + 1024, &s2, &err), -EBADMSG,
                     "manifest.json: missing");
        assert_null(s2);
}

static void write_file(int dirfd, const char *name, const void *data, size_t n) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, n), (ssize_t) n);
        close(fd);
}

static char *make_tmpdir(void) {
        const char *t = getenv("TMPDIR");
        char *p = NULL;
        assert_true(asprintf(&p, "%s/test-imageset-XXXXXX", t && *t ? t : "/tmp") > 0);
        assert_non_null(mkdtemp(p));
        return p;
}

static void test_directory_and_symlinks(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){});
        _cleanup_free_ char *err = NULL;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(mkdirat(dfd, "set", 0755), 0);
        assert_int_equal(mkdirat(dfd, "set/60", 0755), 0);
        assert_int_equal(mkdirat(dfd, "set/410", 0755), 0);
        write_file(dfd, "set/manifest.json", m, strlen(m));
        write_file(dfd, "set/60/firmware.bin", f->app60.data, f->app60.len);
        write_file(dfd, "set/410/firmware.bin", f->app410.data, f->app410.len);

        _cleanup_free_ char *setp = NULL;
        assert_true(asprintf(&setp, "%s/set", dir) > 0);
        ImageSet *s = NULL;
        assert_int_equal(image_set_open_path(setp, &s, &err), 0);
        assert_int_equal(image_set_verify(s, NULL, &err), 0);

        /* Round trip: write as tar and as directory, ids equal. */
        _cleanup_free_ char *tarp = NULL, *copyp = NULL;
        assert_true(asprintf(&tarp, "%s/set.tar", dir) > 0);
        assert_true(asprintf(&copyp, "%s/copy", dir) > 0);
        assert_int_equal(image_set_write_tar(s, tarp, &err), 0);
        assert_int_equal(image_set_write_dir(s, copyp, &err), 0);
        /* The directory must not exist (nothing half-written, no merge). */
        EXPECT_ERROR(image_set_write_dir(s, setp, &err), -ENOTEMPTY, "cannot move into place");
        ImageSet *t = NULL;
        assert_int_equal(image_set_open_path(tarp, &t, &err), 0);
        assert_string_equal(image_set_id(t), image_set_id(s));
        image_set_free(t);
        assert_int_equal(image_set_open_path(copyp, &t, &err), 0);
        assert_int_equal(image_set_verify(t, NULL, &err), 0);
        image_set_free(t);
        image_set_free(s);

        /* A symlink escaping the set is refused, even to a valid file. */
        assert_int_equal(unlinkat(dfd, "set/60/firmware.bin", 0), 0);
        write_file(dfd, "outside.bin", f->app60.data, f->app60.len);
        assert_int_equal(symlinkat("../../outside.bin", dfd, "set/60/firmware.bin"), 0);
        assert_int_equal(image_set_open_path(setp, &s, &err), 0);
        EXPECT_ERROR(image_set_verify(s, NULL, &err), -EBADMSG, "refusing a symbolic link");
        image_set_free(s);
        /* A symlinked directory component too. */
        assert_int_equal(unlinkat(dfd, "set/60/firmware.bin", 0), 0);
        assert_int_equal(unlinkat(dfd, "set/60", AT_REMOVEDIR), 0);
        assert_int_equal(mkdirat(dfd, "elsewhere", 0755), 0);
        write_file(dfd, "elsewhere/firmware.bin", f->app60.data, f->app60.len);
        assert_int_equal(symlinkat("../elsewhere", dfd, "set/60"), 0);
        assert_int_equal(image_set_open_path(setp, &s, &err), 0);
        EXPECT_ERROR(image_set_verify(s, NULL, &err), -EBADMSG, "refusing a symbolic link");
        image_set_free(s);

        close(dfd);
        assert_int_equal(image_rm_rf(AT_FDCWD, dir), 0);
}

static ImageSet *set_named(const Fixture *f, const char *name) {
        _cleanup_free_ char *m = manifest(f, &(ManifestOpts){ .name = name });
        _cleanup_free_ char *err = NULL;
        ImageSetFile files[] = {
                { "manifest.json", (const uint8_t *) m, strlen(m) },
                { "60/firmware.bin", f->app60.data, f->app60.len },
                { "410/firmware.bin", f->app410.data, f->app410.len },
        };
        ImageSet *s = NULL;
        assert_int_equal(image_set_new_memory(files, ELEMENTSOF(files), &s, &err), 0);
        return s;
}

static size_t count(char **v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

static void test_store(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *err = NULL;
        ImageStore *st = NULL;
        assert_int_equal(image_store_open(dir, &st, &err), 0);

        ImageSet *a = set_named(f, "set-a"), *b = set_named(f, "set-b"), *c = set_named(f, "set-c");
        char *id = NULL, **ids = NULL;
        char *cur = NULL;
        assert_int_equal(image_store_get_current(st, &cur), -ENOENT);

        assert_int_equal(image_store_install(st, a, NULL, true, 2, NULL, &id, NULL, &err), 0);
        assert_string_equal(id, image_set_id(a));
        free(id);
        /* Installing the same set again is a no-op that says so. */
        assert_int_equal(image_store_install(st, a, NULL, true, 2, NULL, NULL, NULL, &err), 1);
        assert_int_equal(image_store_install(st, b, NULL, true, 2, NULL, NULL, NULL, &err), 0);
        assert_int_equal(image_store_get_current(st, &cur), 0);
        assert_string_equal(cur, image_set_id(b));
        free(cur);
        assert_int_equal(image_store_get_previous(st, &cur), 0);
        assert_string_equal(cur, image_set_id(a));
        free(cur);

        /* A third set: a (no longer previous) is pruned, b and c remain. */
        assert_int_equal(image_store_install(st, c, NULL, true, 2, NULL, NULL, NULL, &err), 0);
        assert_int_equal(image_store_list(st, &ids), 0);
        assert_int_equal(count(ids), 2);
        image_store_strv_free(ids);
        ImageSet *g = NULL;
        assert_int_equal(image_store_get(st, image_set_id(a), &g, &err), -ENOENT);
        assert_int_equal(image_store_get(st, image_set_id(b), &g, &err), 0);
        assert_int_equal(image_set_verify(g, NULL, &err), 0);
        image_set_free(g);

        /* Rollback swaps current and previous. */
        assert_int_equal(image_store_rollback(st, &err), 0);
        assert_int_equal(image_store_get_current(st, &cur), 0);
        assert_string_equal(cur, image_set_id(b));
        free(cur);
        assert_int_equal(image_store_get_previous(st, &cur), 0);
        assert_string_equal(cur, image_set_id(c));
        free(cur);

        /* keep = 3 keeps an extra one; installing without marking keeps it. */
        assert_int_equal(image_store_install(st, a, NULL, false, 3, NULL, NULL, NULL, &err), 0);
        assert_int_equal(image_store_list(st, &ids), 0);
        assert_int_equal(count(ids), 3);
        image_store_strv_free(ids);

        /* Remove: the current one is protected. */
        EXPECT_ERROR(image_store_remove(st, image_set_id(b), false, &err), -EBUSY, "is the current set");
        assert_int_equal(image_store_remove(st, image_set_id(a), false, &err), 0);
        EXPECT_ERROR(image_store_remove(st, image_set_id(a), false, &err), -ENOENT, "not installed");
        EXPECT_ERROR(image_store_remove(st, "../../etc", false, &err), -EINVAL, "not a set id");
        assert_int_equal(image_store_remove(st, image_set_id(c), false, &err), 0);
        assert_int_equal(image_store_get_previous(st, &cur), -ENOENT);
        EXPECT_ERROR(image_store_rollback(st, &err), -ENOENT, "no previous set");
        assert_int_equal(image_store_remove(st, image_set_id(b), true, &err), 0);
        assert_int_equal(image_store_list(st, &ids), 0);
        assert_int_equal(count(ids), 0);
        image_store_strv_free(ids);

        /* A set failing verification is not installed and leaves nothing. */
        ImageTrust t = { .require_signed = true };
        EXPECT_ERROR(image_store_install(st, a, &t, true, 2, NULL, NULL, NULL, &err), -EPERM, "signed sets are required");
        assert_int_equal(image_store_list(st, &ids), 0);
        assert_int_equal(count(ids), 0);
        image_store_strv_free(ids);

        image_set_free(a);
        image_set_free(b);
        image_set_free(c);
        image_store_free(st);
        assert_int_equal(image_rm_rf(AT_FDCWD, dir), 0);
}

/* keep counts current, previous, the new set and the protected ones first;
 * the oldest of the rest goes, and the caller learns which. */
static void test_store_keep(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *err = NULL;
        ImageStore *st = NULL;
        ImageSet *s[5];
        char **removed = NULL, **ids = NULL;
        const char *names[] = { "set-a", "set-b", "set-c", "set-d", "set-e" };

        assert_int_equal(image_store_open(dir, &st, &err), 0);
        for (size_t i = 0; i < 5; i++)
                s[i] = set_named(f, names[i]);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(image_store_install(st, s[i], NULL, true, 3, NULL, NULL, &removed, &err), 0);
                assert_null(removed);
        }
        /* d: current d, previous c, newest other b; a goes */
        assert_int_equal(image_store_install(st, s[3], NULL, true, 3, NULL, NULL, &removed, &err), 0);
        assert_int_equal(count(removed), 1);
        assert_string_equal(removed[0], image_set_id(s[0]));
        image_store_strv_free(removed);
        /* e with b protected (a job's set): current e, previous d, b; c goes */
        const char *protect[] = { image_set_id(s[1]), NULL };
        assert_int_equal(image_store_install(st, s[4], NULL, true, 3, protect, NULL, &removed, &err), 0);
        assert_int_equal(count(removed), 1);
        assert_string_equal(removed[0], image_set_id(s[2]));
        image_store_strv_free(removed);
        assert_int_equal(image_store_list(st, &ids), 0);
        assert_int_equal(count(ids), 3);
        image_store_strv_free(ids);
        ImageSet *g = NULL;
        assert_int_equal(image_store_get(st, image_set_id(s[1]), &g, &err), 0);
        image_set_free(g);

        for (size_t i = 0; i < 5; i++)
                image_set_free(s[i]);
        image_store_free(st);
        assert_int_equal(image_rm_rf(AT_FDCWD, dir), 0);
}

static void test_helpers(void **state) {
        (void) state;
        assert_true(image_path_is_safe("a/b.bin"));
        assert_true(image_path_is_safe("60/firmware.bin"));
        assert_false(image_path_is_safe(""));
        assert_false(image_path_is_safe("/a"));
        assert_false(image_path_is_safe("a//b"));
        assert_false(image_path_is_safe("a/../b"));
        assert_false(image_path_is_safe(".."));
        assert_false(image_path_is_safe("./a"));
        assert_false(image_path_is_safe("a b"));
        assert_false(image_path_is_safe("a/"));
        assert_true(image_hw_name_is_valid("75_300_R2"));
        assert_true(image_hw_name_is_valid("Little FOCer"));
        assert_false(image_hw_name_is_valid(""));
        assert_false(image_hw_name_is_valid("a/b"));
        assert_false(image_hw_name_is_valid("123456789012345678901234567890123"));
        assert_true(image_set_id_is_valid("0123456789abcdef"));
        assert_false(image_set_id_is_valid("0123456789ABCDEF"));
        assert_false(image_set_id_is_valid("0123456789abcde"));
        char id[17];
        /* SHA-256("") = e3b0c44298fc1c14... */
        image_set_id_from_manifest((const uint8_t *) "", 0, id);
        assert_string_equal(id, "e3b0c44298fc1c14");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_helpers),
                cmocka_unit_test(test_bad_manifests),
                cmocka_unit_test_setup_teardown(test_good_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_incompressible, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bootloader_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signature, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directory_and_symlinks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_store, setup, teardown),
                cmocka_unit_test_setup_teardown(test_store_keep, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
