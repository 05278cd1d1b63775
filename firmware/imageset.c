/* Firmware image sets: parse and check manifest.json, read a set from a
 * directory or a ustar archive without trusting any name or size in it,
 * verify images and the Ed25519 signature, render the set as JSON, and write
 * a set out atomically.  See docs/image-sets.md for the format and the exact
 * rules; the error texts here are the ones documented there.
 *
 * Nothing in a set is trusted: the manifest is bounded, parsed with
 * duplicate keys rejected and unknown keys refused where a typo would change
 * meaning; file names are restricted to plain relative paths; a directory
 * set is walked with O_NOFOLLOW one component at a time so no symlink can
 * lead outside it; a tar set may hold only regular files and directories. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fwimage.h"
#include "heatshrink.h"
#include "imageset.h"
#include "macro.h"

typedef struct TarMember {
        char *name;
        const uint8_t *data; /* into ImageSet.archive, or owned */
        size_t size;
        uint8_t *owned;      /* in-memory sets: the data, freed with the set */
} TarMember;

struct ImageSet {
        int dirfd;           /* directory set, or -1 */
        uint8_t *archive;    /* tar set: the whole archive, or NULL */
        size_t archive_len;
        TarMember *members;
        size_t n_members;

        uint8_t *manifest;
        size_t manifest_len;
        json_t *manifest_json;
        uint8_t *sig;
        size_t sig_len;

        ImageSetEntry *entries;
        size_t n_entries;
        char id[IMAGE_SET_ID_LEN + 1];
        ImageSignatureState sig_state;
};

_printf_(3, 4) static int set_error(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                char *m = NULL;
                va_start(ap, fmt);
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                free(*ret_error);
                *ret_error = m;
        }
        return r;
}

static const char *const signature_state_table[_IMAGE_SIGNATURE_MAX] = {
        [IMAGE_SIGNATURE_NONE] = "none",
        [IMAGE_SIGNATURE_UNCHECKED] = "unchecked",
        [IMAGE_SIGNATURE_VALID] = "valid",
};

/**
 * image_signature_state_to_string() - name of a signature state
 * @s: state
 *
 * Return: "none", "unchecked", "valid", or NULL when out of range.
 */
const char *image_signature_state_to_string(ImageSignatureState s) {
        if ((unsigned) s >= _IMAGE_SIGNATURE_MAX)
                return NULL;
        return signature_state_table[s];
}

/* ------------------------------------------------------------ helpers */

static bool is_path_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-' || c == '+';
}

/**
 * image_path_is_safe() - is this a harmless relative path inside a set?
 * @p: path
 *
 * Return: true for 1..IMAGE_SET_PATH_MAX bytes of '/'-separated components
 * made of [A-Za-z0-9._+-], none empty, "." or "..".
 */
bool image_path_is_safe(const char *p) {
        size_t len = strlen(p);
        if (len == 0 || len > IMAGE_SET_PATH_MAX)
                return false;
        const char *c = p;
        for (;;) {
                const char *end = strchr(c, '/');
                size_t n = end ? (size_t) (end - c) : strlen(c);
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!is_path_char(c[i]))
                                return false;
                if (!end)
                        return true;
                c = end + 1;
        }
}

/**
 * image_hw_name_is_valid() - is this a usable hardware name?
 * @s: name
 *
 * Return: true for 1..32 printable ASCII bytes without '/' or '\\'.
 */
bool image_hw_name_is_valid(const char *s) {
        size_t len = strlen(s);
        if (len == 0 || len > 32)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '/' || s[i] == '\\')
                        return false;
        return true;
}

static bool is_printable(const char *s, size_t max) {
        size_t len = strlen(s);
        if (len > max)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return false;
        return true;
}

/**
 * image_sha256_hex() - SHA-256 as 64 lower-case hex digits
 * @buf: data
 * @n: length
 * @out: 65 bytes, NUL-terminated
 */
void image_sha256_hex(const uint8_t *buf, size_t n, char out[static 65]) {
        uint8_t h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, buf, n);
        sodium_bin2hex(out, 65, h, sizeof h);
}

/**
 * image_set_id_from_manifest() - a set's id
 * @buf: manifest bytes
 * @n: length
 * @out: the first 16 hex digits of their SHA-256, NUL-terminated
 */
void image_set_id_from_manifest(const uint8_t *buf, size_t n, char out[static IMAGE_SET_ID_LEN + 1]) {
        char hex[65];
        image_sha256_hex(buf, n, hex);
        memcpy(out, hex, IMAGE_SET_ID_LEN);
        out[IMAGE_SET_ID_LEN] = 0;
}

static void fw_version_string(const ImageSetApp *a, char out[static 16]) {
        snprintf(out, 16, "%u.%02u", a->major, a->minor);
}

/* ------------------------------------------------------------ manifest */

static void entry_done(ImageSetEntry *e) {
        free(e->hw_name);
        free(e->app.file);
        free(e->app.fw_name);
        free(e->bootloader.file);
        *e = (ImageSetEntry){};
}

/**
 * image_set_entries_free() - free an array from image_manifest_parse()
 * @e: the array (may be NULL)
 * @n: its length
 */
void image_set_entries_free(ImageSetEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                entry_done(&e[i]);
        free(e);
}

static bool only_keys(json_t *obj, const char *const *keys, const char **ret_bad) {
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v) {
                bool ok = false;
                for (size_t i = 0; keys[i]; i++)
                        if (strcmp(k, keys[i]) == 0)
                                ok = true;
                if (!ok) {
                        *ret_bad = k;
                        return false;
                }
        }
        return true;
}

/* Fetch an integer field in [lo, hi]. */
static int get_int(json_t *obj, const char *where, const char *key, long long lo, long long hi,
                   long long *ret, char **ret_error) {
        json_t *v = json_object_get(obj, key);
        if (!v)
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: missing field \"%s\"", where, key);
        if (!json_is_integer(v))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: \"%s\" must be an integer", where, key);
        long long x = json_integer_value(v);
        if (x < lo || x > hi)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: \"%s\" out of range: expected %lld..%lld, found %lld", where,
                                 key, lo, hi, x);
        *ret = x;
        return 0;
}

static int get_str(json_t *obj, const char *where, const char *key, const char **ret, char **ret_error) {
        json_t *v = json_object_get(obj, key);
        if (!v)
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: missing field \"%s\"", where, key);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: \"%s\" must be a string", where, key);
        *ret = json_string_value(v);
        return 0;
}

static int get_sha(json_t *obj, const char *where, char out[static 65], char **ret_error) {
        const char *s;
        int r = get_str(obj, where, "sha256", &s, ret_error);
        if (r < 0)
                return r;
        bool ok = strlen(s) == 64;
        for (size_t i = 0; ok && i < 64; i++)
                ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (!ok)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: \"sha256\" must be 64 lower-case hex digits, found \"%.80s\"",
                                 where, s);
        memcpy(out, s, 65);
        return 0;
}

static int get_file(json_t *obj, const char *where, char **ret, char **ret_error) {
        const char *s;
        int r = get_str(obj, where, "file", &s, ret_error);
        if (r < 0)
                return r;
        if (!image_path_is_safe(s))
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: unsafe file name \"%.120s\": expected a relative path of "
                                 "[A-Za-z0-9._+-] components without \"..\", at most %u bytes",
                                 where, s, IMAGE_SET_PATH_MAX);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The fields every file of an entry has: file, sha256, size (1…@max). */
static int get_file_fields(json_t *obj, const char *where, uint64_t max, char **file, char sha256[static 65],
                           uint64_t *size, char **ret_error) {
        long long x;
        int r;

        if ((r = get_file(obj, where, file, ret_error)) < 0 || (r = get_sha(obj, where, sha256, ret_error)) < 0 ||
            (r = get_int(obj, where, "size", 1, (long long) max, &x, ret_error)) < 0)
                return r;
        *size = (uint64_t) x;
        return 0;
}

static int get_u8(json_t *obj, const char *where, const char *key, uint8_t lo, uint8_t hi, uint8_t *ret,
                  char **ret_error) {
        long long x;
        int r = get_int(obj, where, key, lo, hi, &x, ret_error);

        if (r >= 0)
                *ret = (uint8_t) x;
        return r;
}

static int parse_entry(json_t *h, size_t idx, ImageSetEntry *e, char **ret_error) {
        static const char *const entry_keys[] = { "hw_name", "app", "bootloader", NULL };
        static const char *const app_keys[] = { "file", "size", "sha256", "firmware_major", "firmware_minor",
                                                "firmware_test_build", "firmware_name", "min_bootloader", NULL };
        static const char *const bl_keys[] = { "file", "size", "sha256", "generation", NULL };
        char where[96];
        const char *s, *bad;
        int r;

        snprintf(where, sizeof where, "hardware[%zu]", idx);
        if (!json_is_object(h))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: must be an object", where);
        if (!only_keys(h, entry_keys, &bad))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: unknown field \"%.64s\"", where, bad);
        r = get_str(h, where, "hw_name", &s, ret_error);
        if (r < 0)
                return r;
        if (!image_hw_name_is_valid(s))
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: invalid hw_name \"%.64s\": expected 1-32 printable characters "
                                 "without '/'",
                                 where, s);
        e->hw_name = strdup(s);
        if (!e->hw_name)
                return -ENOMEM;
        snprintf(where, sizeof where, "hardware '%s'", e->hw_name);

        json_t *app = json_object_get(h, "app");
        if (!json_is_object(app))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: missing object \"app\"", where);
        char w[128];
        snprintf(w, sizeof w, "%s app", where);
        if (!only_keys(app, app_keys, &bad))
                return set_error(ret_error, -EBADMSG, "manifest.json: %s: unknown field \"%.64s\"", w, bad);
        if ((r = get_file_fields(app, w, IMAGE_SET_ARCHIVE_MAX, &e->app.file, e->app.sha256, &e->app.size,
                                 ret_error)) < 0 ||
            (r = get_u8(app, w, "firmware_major", 0, 255, &e->app.major, ret_error)) < 0 ||
            (r = get_u8(app, w, "firmware_minor", 0, 99, &e->app.minor, ret_error)) < 0 ||
            (r = get_u8(app, w, "firmware_test_build", 0, 255, &e->app.test_build, ret_error)) < 0 ||
            (r = get_u8(app, w, "min_bootloader", 1, 2, &e->app.min_bootloader, ret_error)) < 0)
                return r;
        if ((r = get_str(app, w, "firmware_name", &s, ret_error)) < 0)
                return r;
        if (!is_printable(s, 32))
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: firmware_name must be at most 32 printable characters", w);
        e->app.fw_name = strdup(s);
        if (!e->app.fw_name)
                return -ENOMEM;

        size_t want = vesc_app_size_for_major(e->app.major);
        if (e->app.size != want)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: size %llu does not fit firmware %u.%02u: expected %zu (%s)", w,
                                 (unsigned long long) e->app.size, e->app.major, e->app.minor, want,
                                 e->app.major >= 6 ? "6.x/7.x raw image" : "3.x-5.x raw image");
        if (e->app.major >= 6 && e->app.min_bootloader < 2)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: %s: firmware %u.%02u is uploaded compressed: min_bootloader must "
                                 "be 2, found %u",
                                 w, e->app.major, e->app.minor, e->app.min_bootloader);

        json_t *bl = json_object_get(h, "bootloader");
        if (bl && !json_is_null(bl)) {
                snprintf(w, sizeof w, "%s bootloader", where);
                if (!json_is_object(bl))
                        return set_error(ret_error, -EBADMSG, "manifest.json: %s: must be an object", w);
                if (!only_keys(bl, bl_keys, &bad))
                        return set_error(ret_error, -EBADMSG, "manifest.json: %s: unknown field \"%.64s\"", w, bad);
                if ((r = get_file_fields(bl, w, IMAGE_BOOTLOADER_MAX, &e->bootloader.file, e->bootloader.sha256,
                                         &e->bootloader.size, ret_error)) < 0 ||
                    (r = get_u8(bl, w, "generation", 1, 2, &e->bootloader.generation, ret_error)) < 0)
                        return r;
                e->has_bootloader = true;
                if (e->bootloader.generation < e->app.min_bootloader)
                        return set_error(ret_error, -EBADMSG,
                                         "manifest.json: %s: generation %u cannot install the app, which needs "
                                         "generation %u",
                                         w, e->bootloader.generation, e->app.min_bootloader);
        }
        return 0;
}

/**
 * image_manifest_parse() - parse and check manifest.json
 * @buf: manifest bytes (untrusted)
 * @n: their length (more than IMAGE_SET_MANIFEST_MAX is refused)
 * @ret_manifest: on success, the parsed JSON (new reference); may be NULL
 * @ret_entries: on success, the per-hw entries (free with
 *               image_set_entries_free())
 * @ret_n: their number
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0, -EBADMSG for any rule broken, -EFBIG when too large, -ENOMEM.
 */
int image_manifest_parse(const uint8_t *buf, size_t n, json_t **ret_manifest, ImageSetEntry **ret_entries,
                         size_t *ret_n, char **ret_error) {
        static const char *const top_keys[] = { "format_version", "name", "version", "hardware", "provenance",
                                                NULL };
        json_error_t jerr;
        const char *s, *bad;
        int r;

        if (n > IMAGE_SET_MANIFEST_MAX)
                return set_error(ret_error, -EFBIG, "manifest.json: too large: %zu bytes, at most %u allowed", n,
                                 IMAGE_SET_MANIFEST_MAX);
        if (memchr(buf, 0, n))
                return set_error(ret_error, -EBADMSG, "manifest.json: contains a NUL byte");
        json_auto_t *m = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!m)
                return set_error(ret_error, -EBADMSG, "manifest.json: not valid JSON: %s (line %d, column %d)",
                                 jerr.text, jerr.line, jerr.column);
        if (!json_is_object(m))
                return set_error(ret_error, -EBADMSG, "manifest.json: the top level must be an object");
        if (!only_keys(m, top_keys, &bad))
                return set_error(ret_error, -EBADMSG, "manifest.json: unknown top-level field \"%.64s\"", bad);

        json_t *fv = json_object_get(m, "format_version");
        if (!json_is_integer(fv) || json_integer_value(fv) != IMAGE_SET_FORMAT_VERSION) {
                if (json_is_integer(fv))
                        return set_error(ret_error, -EBADMSG,
                                         "manifest.json: format_version: expected %d, found %lld",
                                         IMAGE_SET_FORMAT_VERSION, (long long) json_integer_value(fv));
                return set_error(ret_error, -EBADMSG, "manifest.json: format_version: expected the integer %d",
                                 IMAGE_SET_FORMAT_VERSION);
        }
        if ((r = get_str(m, "set", "name", &s, ret_error)) < 0)
                return r;
        bool name_ok = *s && strlen(s) <= 64;
        for (const char *p = s; name_ok && *p; p++)
                name_ok = is_path_char(*p);
        if (!name_ok)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: set: invalid name \"%.80s\": expected 1-64 characters of "
                                 "[A-Za-z0-9._+-]",
                                 s);
        if ((r = get_str(m, "set", "version", &s, ret_error)) < 0)
                return r;
        if (!*s || !is_printable(s, 32))
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: set: version must be 1-32 printable characters");

        json_t *prov = json_object_get(m, "provenance");
        if (!json_is_object(prov))
                return set_error(ret_error, -EBADMSG, "manifest.json: missing object \"provenance\"");
        static const char *const prov_keys[] = { "source", "created", "tool" };
        for (size_t i = 0; i < ELEMENTSOF(prov_keys); i++) {
                if ((r = get_str(prov, "provenance", prov_keys[i], &s, ret_error)) < 0)
                        return r;
                if (!is_printable(s, 1024))
                        return set_error(ret_error, -EBADMSG,
                                         "manifest.json: provenance: \"%s\" must be at most 1024 printable "
                                         "characters",
                                         prov_keys[i]);
        }

        json_t *hw = json_object_get(m, "hardware");
        if (!json_is_array(hw))
                return set_error(ret_error, -EBADMSG, "manifest.json: missing array \"hardware\"");
        size_t nh = json_array_size(hw);
        if (nh == 0 || nh > IMAGE_SET_ENTRIES_MAX)
                return set_error(ret_error, -EBADMSG,
                                 "manifest.json: \"hardware\" must list 1-%u hardware names, found %zu",
                                 IMAGE_SET_ENTRIES_MAX, nh);

        ImageSetEntry *entries = calloc(nh, sizeof *entries);
        if (!entries)
                return -ENOMEM;
        for (size_t i = 0; i < nh; i++) {
                r = parse_entry(json_array_get(hw, i), i, &entries[i], ret_error);
                if (r < 0) {
                        image_set_entries_free(entries, nh);
                        return r;
                }
                for (size_t j = 0; j < i; j++)
                        if (strcmp(entries[j].hw_name, entries[i].hw_name) == 0) {
                                r = set_error(ret_error, -EBADMSG, "manifest.json: hardware '%s' listed twice",
                                              entries[i].hw_name);
                                image_set_entries_free(entries, nh);
                                return r;
                        }
        }
        if (ret_manifest)
                *ret_manifest = TAKE_PTR(m);
        *ret_entries = entries;
        *ret_n = nh;
        return 0;
}

/* ---------------------------------------------------------- image rules */

/**
 * image_check_app() - check a raw application image against its entry
 * @e: manifest entry
 * @img: image bytes
 * @n: length
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Size as declared, vector table (spec §14.1), a VESCDFW1 descriptor if
 * present must agree with the manifest, and for 6.x the compressed upload
 * stream must fit the new-app buffer (built and self-checked here).
 * The SHA-256 is not checked here (image_set_read_app() does).
 *
 * Return: 0, -EBADMSG, -EFBIG (stream too large), -ENOMEM.
 */
int image_check_app(const ImageSetEntry *e, const uint8_t *img, size_t n, char **ret_error) {
        const char *hw = e->hw_name, *file = e->app.file, *reason;
        char ver[16];
        int r;

        fw_version_string(&e->app, ver);
        if (n != e->app.size)
                return set_error(ret_error, -EBADMSG, "%s (hardware '%s'): size mismatch: manifest says %llu bytes, "
                                 "file has %zu", file, hw, (unsigned long long) e->app.size, n);
        if (n != vesc_app_size_for_major(e->app.major))
                return set_error(ret_error, -EBADMSG, "%s (hardware '%s'): %zu bytes, expected %zu for firmware %s",
                                 file, hw, n, vesc_app_size_for_major(e->app.major), ver);
        if (vesc_image_check_vectors(img, n, &reason) < 0)
                return set_error(ret_error, -EBADMSG, "%s (hardware '%s'): bad vector table: %s", file, hw, reason);

        VescFwDescriptor d;
        r = vesc_fw_descriptor_parse(img, n, &d);
        if (r == -EBADMSG)
                return set_error(ret_error, -EBADMSG,
                                 "%s (hardware '%s'): corrupt VESCDFW1 descriptor at 0x400 (CRC, padding or "
                                 "reserved bytes)",
                                 file, hw);
        if (r >= 0) {
                if (strcmp(d.hw_name, hw) != 0)
                        return set_error(ret_error, -EBADMSG,
                                         "%s: wrong hardware: descriptor says '%s', manifest says '%s'", file,
                                         d.hw_name, hw);
                if (d.major != e->app.major || d.minor != e->app.minor || d.test_build != e->app.test_build)
                        return set_error(ret_error, -EBADMSG,
                                         "%s (hardware '%s'): version mismatch: descriptor says %u.%02u test build "
                                         "%u, manifest says %s test build %u",
                                         file, hw, d.major, d.minor, d.test_build, ver, e->app.test_build);
                if (strcmp(d.fw_name, e->app.fw_name) != 0)
                        return set_error(ret_error, -EBADMSG,
                                         "%s (hardware '%s'): firmware name mismatch: descriptor says \"%s\", "
                                         "manifest says \"%s\"",
                                         file, hw, d.fw_name, e->app.fw_name);
                if (d.min_bootloader != e->app.min_bootloader)
                        return set_error(ret_error, -EBADMSG,
                                         "%s (hardware '%s'): minimum bootloader mismatch: descriptor says %u, "
                                         "manifest says %u",
                                         file, hw, d.min_bootloader, e->app.min_bootloader);
        }

        if (e->app.major >= 6) {
                _cleanup_free_ uint8_t *packed = NULL;
                size_t plen;
                r = heatshrink_encode(img, n, &packed, &plen);
                if (r < 0)
                        return r;
                if (plen > VESC_UPLOAD_MAX - VESC_UPLOAD_HEADER)
                        return set_error(ret_error, -EFBIG,
                                         "%s (hardware '%s'): does not compress enough: upload stream would be %zu "
                                         "bytes, at most %u fit the new-app buffer",
                                         file, hw, plen + VESC_UPLOAD_HEADER, VESC_UPLOAD_MAX);
                _cleanup_free_ uint8_t *check = malloc(n + 1);
                if (!check)
                        return -ENOMEM;
                if (heatshrink_decode(packed, plen, check, n + 1) != (ssize_t) n || memcmp(check, img, n) != 0)
                        return set_error(ret_error, -EIO, "%s (hardware '%s'): compression self-check failed", file,
                                         hw);
        }
        return 0;
}

/**
 * image_check_bootloader() - check a bootloader image against its entry
 * @e: manifest entry (must have a bootloader)
 * @img: image bytes
 * @n: length
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Size as declared and at most 128 KiB (sector 11); a VESCDBL1 descriptor
 * if present must agree (generation, hw family = hw name, length).
 *
 * Return: 0 or -EBADMSG.
 */
int image_check_bootloader(const ImageSetEntry *e, const uint8_t *img, size_t n, char **ret_error) {
        const char *hw = e->hw_name, *file = e->bootloader.file;

        if (!e->has_bootloader)
                return set_error(ret_error, -EBADMSG, "hardware '%s': the set has no bootloader", hw);
        if (n != e->bootloader.size)
                return set_error(ret_error, -EBADMSG, "%s (hardware '%s'): size mismatch: manifest says %llu bytes, "
                                 "file has %zu", file, hw, (unsigned long long) e->bootloader.size, n);
        if (n == 0 || n > IMAGE_BOOTLOADER_MAX)
                return set_error(ret_error, -EBADMSG,
                                 "%s (hardware '%s'): bootloader is %zu bytes, expected 1-%u (sector 11)", file, hw,
                                 n, IMAGE_BOOTLOADER_MAX);
        VescBlDescriptor d;
        int r = vesc_bl_descriptor_parse(img, n, &d);
        if (r == -EBADMSG)
                return set_error(ret_error, -EBADMSG, "%s (hardware '%s'): corrupt VESCDBL1 descriptor at 0x400",
                                 file, hw);
        if (r >= 0) {
                if (strcmp(d.hw_family, hw) != 0)
                        return set_error(ret_error, -EBADMSG,
                                         "%s: wrong hardware: bootloader descriptor says '%s', manifest says '%s'",
                                         file, d.hw_family, hw);
                if (d.generation != e->bootloader.generation)
                        return set_error(ret_error, -EBADMSG,
                                         "%s (hardware '%s'): generation mismatch: descriptor says %u, manifest "
                                         "says %u",
                                         file, hw, d.generation, e->bootloader.generation);
                if (d.length != n)
                        return set_error(ret_error, -EBADMSG,
                                         "%s (hardware '%s'): descriptor length %u does not match the file (%zu "
                                         "bytes)",
                                         file, hw, d.length, n);
        }
        return 0;
}

/* ---------------------------------------------------------------- tar */

static bool block_is_zero(const uint8_t *b) {
        for (size_t i = 0; i < 512; i++)
                if (b[i])
                        return false;
        return true;
}

static int octal_field(const uint8_t *p, size_t len, uint64_t *ret) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < len && p[i] == ' ')
                i++;
        if (i == len || p[i] < '0' || p[i] > '7')
                return -EBADMSG;
        for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
                if (v > (UINT64_MAX >> 3))
                        return -EBADMSG;
                v = (v << 3) | (uint64_t) (p[i] - '0');
        }
        for (; i < len; i++)
                if (p[i] != ' ' && p[i] != 0)
                        return -EBADMSG;
        *ret = v;
        return 0;
}

static int tar_parse(ImageSet *s, char **ret_error) {
        const uint8_t *a = s->archive;
        size_t n = s->archive_len, off = 0;

        if (n % 512 != 0)
                return set_error(ret_error, -EBADMSG,
                                 "archive: length %zu is not a multiple of 512: not a ustar archive, or truncated", n);
        while (off + 512 <= n) {
                const uint8_t *h = a + off;
                if (block_is_zero(h))
                        break;
                uint64_t sum, size;
                if (octal_field(h + 148, 8, &sum) < 0)
                        return set_error(ret_error, -EBADMSG, "archive: header at offset %zu: bad checksum field",
                                         off);
                uint64_t calc = 0;
                for (size_t i = 0; i < 512; i++)
                        calc += (i >= 148 && i < 156) ? ' ' : h[i];
                if (calc != sum)
                        return set_error(ret_error, -EBADMSG,
                                         "archive: header at offset %zu: checksum mismatch (expected %llo, found %llo)",
                                         off, (unsigned long long) calc, (unsigned long long) sum);
                if (memcmp(h + 257, "ustar", 5) != 0)
                        return set_error(ret_error, -EBADMSG, "archive: header at offset %zu: not a ustar header",
                                         off);
                char name[256 + 2];
                size_t plen = strnlen((const char *) h + 345, 155), nlen = strnlen((const char *) h, 100);
                if (plen) {
                        memcpy(name, h + 345, plen);
                        name[plen] = '/';
                        memcpy(name + plen + 1, h, nlen);
                        name[plen + 1 + nlen] = 0;
                } else {
                        memcpy(name, h, nlen);
                        name[nlen] = 0;
                }
                char *nm = name;
                while (nm[0] == '.' && nm[1] == '/')
                        nm += 2;
                if (octal_field(h + 124, 12, &size) < 0)
                        return set_error(ret_error, -EBADMSG, "archive: member '%.100s': bad size field", nm);
                char type = (char) h[156];
                off += 512;
                if (size > n - off)
                        return set_error(ret_error, -EBADMSG,
                                         "archive: member '%.100s': %llu bytes declared, only %zu left: truncated", nm,
                                         (unsigned long long) size, n - off);
                size_t len = strlen(nm);
                if (type == '5') {
                        while (len > 0 && nm[len - 1] == '/')
                                nm[--len] = 0;
                        if (len > 0 && !image_path_is_safe(nm))
                                return set_error(ret_error, -EBADMSG, "archive: unsafe directory name '%.100s'", nm);
                } else if (type == '0' || type == 0) {
                        if (!image_path_is_safe(nm))
                                return set_error(ret_error, -EBADMSG,
                                                 "archive: unsafe member name '%.100s': expected a relative path of "
                                                 "[A-Za-z0-9._+-] components without \"..\"",
                                                 nm);
                        for (size_t i = 0; i < s->n_members; i++)
                                if (strcmp(s->members[i].name, nm) == 0)
                                        return set_error(ret_error, -EBADMSG, "archive: member '%s' appears twice",
                                                         nm);
                        if (s->n_members >= 4 * IMAGE_SET_ENTRIES_MAX + 8)
                                return set_error(ret_error, -EBADMSG, "archive: too many members");
                        TarMember *m = reallocarray(s->members, s->n_members + 1, sizeof *m);
                        if (!m)
                                return -ENOMEM;
                        s->members = m;
                        m[s->n_members] = (TarMember){ .name = strdup(nm), .data = a + off, .size = size };
                        if (!m[s->n_members].name)
                                return -ENOMEM;
                        s->n_members++;
                } else
                        return set_error(ret_error, -EBADMSG,
                                         "archive: member '%.100s' has type '%c': only regular files and directories "
                                         "are allowed (no links, devices or pax/GNU extensions)",
                                         nm, type >= 0x20 && type < 0x7f ? type : '?');
                off += (size + 511) / 512 * 512;
        }
        return 0;
}

/* ------------------------------------------------------------ reading */

static const char *file_kind(mode_t m) {
        return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device" :
               S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory" : S_ISLNK(m) ? "a symbolic link" :
               "not a file";
}

/* Open rel below dirfd one component at a time, never following a symlink.
 * The last component must be a regular file: it is looked at (fstatat,
 * no open) first, so a FIFO, socket or device is refused before anything
 * could block on it; then opened O_NONBLOCK (a FIFO swapped in between
 * does not wait for a writer) and checked again with fstat by the caller.
 * vescd reads image sets on its event loop: nothing here may block. */
static int open_below(int dirfd, const char *rel, char **ret_error) {
        _cleanup_close_ int fd = dup(dirfd);
        if (fd < 0)
                return -errno;
        const char *c = rel;
        for (;;) {
                const char *end = strchr(c, '/');
                char comp[IMAGE_SET_PATH_MAX + 1];
                size_t n = end ? (size_t) (end - c) : strlen(c);
                memcpy(comp, c, n);
                comp[n] = 0;
                int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | (end ? O_DIRECTORY : 0);
                if (!end) {
                        struct stat st;
                        if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
                            !S_ISLNK(st.st_mode))
                                return set_error(ret_error, -EBADMSG,
                                                 "%s: not a regular file (%s): refused", rel, file_kind(st.st_mode));
                }
                int nfd = openat(fd, comp, flags);
                if (nfd < 0) {
                        int r = -errno;
                        if (r == -ELOOP || (r == -ENOTDIR && end))
                                return set_error(ret_error, -EBADMSG,
                                                 "%s: refusing a symbolic link or non-directory component '%s'", rel,
                                                 comp);
                        return set_error(ret_error, r, "%s: cannot open: %s", rel, strerror(-r));
                }
                safe_close(fd);
                fd = nfd;
                if (!end)
                        break;
                c = end + 1;
        }
        return TAKE_FD(fd);
}

static int read_fd_bounded(int fd, size_t max, uint8_t **ret, size_t *ret_len) {
        size_t cap = 65536, len = 0;
        _cleanup_free_ uint8_t *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        size_t ncap = cap * 2;
                        uint8_t *nb = realloc(buf, ncap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                ssize_t k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > max)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/**
 * image_set_read_file() - read one file of a set, unchecked
 * @s: the set
 * @rel: safe relative path
 * @max: refuse files larger than this (-EFBIG)
 * @ret: on success, malloc'd contents (caller frees; never NULL)
 * @ret_len: their length
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0, -ENOENT, -EFBIG, -EBADMSG (unsafe path, symlink, not a
 * regular file), or another -errno from reading.
 */
int image_set_read_file(ImageSet *s, const char *rel, size_t max, uint8_t **ret, size_t *ret_len,
                        char **ret_error) {
        if (!image_path_is_safe(rel))
                return set_error(ret_error, -EBADMSG, "%s: unsafe path", rel);
        if (s->dirfd < 0) {
                for (size_t i = 0; i < s->n_members; i++) {
                        const TarMember *m = &s->members[i];
                        if (strcmp(m->name, rel) != 0)
                                continue;
                        if (m->size > max)
                                return set_error(ret_error, -EFBIG, "%s: too large: %zu bytes, at most %zu allowed",
                                                 rel, m->size, max);
                        uint8_t *b = malloc(m->size ? m->size : 1);
                        if (!b)
                                return -ENOMEM;
                        memcpy(b, m->data, m->size);
                        *ret = b;
                        *ret_len = m->size;
                        return 0;
                }
                return set_error(ret_error, -ENOENT, "%s: missing from the archive", rel);
        }

        _cleanup_close_ int fd = open_below(s->dirfd, rel, ret_error);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "%s: %m", rel);
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EBADMSG, "%s: not a regular file (%s): refused", rel,
                                 file_kind(st.st_mode));
        if ((uint64_t) st.st_size > max)
                return set_error(ret_error, -EFBIG, "%s: too large: %lld bytes, at most %zu allowed", rel,
                                 (long long) st.st_size, max);
        int r = read_fd_bounded(fd, max, ret, ret_len);
        if (r == -EFBIG)
                return set_error(ret_error, r, "%s: too large (grew while reading)", rel);
        if (r < 0)
                return set_error(ret_error, r, "%s: read failed: %s", rel, strerror(-r));
        return 0;
}

/* Reads @file of entry @e: its size and SHA-256 as the manifest says (the
 * manifest's size bounds the read), then @check's rules for that kind of
 * image. */
static int read_checked(ImageSet *s, const ImageSetEntry *e, const char *file, uint64_t size, const char *sha,
                        int (*check)(const ImageSetEntry *e, const uint8_t *img, size_t n, char **ret_error),
                        uint8_t **ret, size_t *ret_len, char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        const char *hw = e->hw_name;
        size_t len;
        int r = image_set_read_file(s, file, (size_t) size, &buf, &len, ret_error);
        if (r == -EFBIG)
                return set_error(ret_error, -EBADMSG,
                                 "%s (hardware '%s'): size mismatch: manifest says %llu bytes, file is larger", file,
                                 hw, (unsigned long long) size);
        if (r < 0)
                return r;
        if (len != size)
                return set_error(ret_error, -EBADMSG,
                                 "%s (hardware '%s'): size mismatch: manifest says %llu bytes, file has %zu", file,
                                 hw, (unsigned long long) size, len);
        char hex[65];
        image_sha256_hex(buf, len, hex);
        if (strcmp(hex, sha) != 0)
                return set_error(ret_error, -EBADMSG,
                                 "%s (hardware '%s'): SHA-256 mismatch: manifest says %s, file has %s", file, hw,
                                 sha, hex);
        r = check(e, buf, len, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/**
 * image_set_read_app() - read an application image, verified
 * @s: the set
 * @e: its entry (from image_set_find()/image_set_entry())
 * @ret: on success, the malloc'd raw image (caller frees)
 * @ret_len: its length
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Checks size and SHA-256 against the manifest and every image rule of
 * image_check_app().
 *
 * Return: 0 or -errno (-EBADMSG for a rule broken).
 */
int image_set_read_app(ImageSet *s, const ImageSetEntry *e, uint8_t **ret, size_t *ret_len, char **ret_error) {
        return read_checked(s, e, e->app.file, e->app.size, e->app.sha256, image_check_app, ret, ret_len,
                            ret_error);
}

/**
 * image_set_read_bootloader() - read a bootloader image, verified
 * @s: the set
 * @e: its entry; -ENOENT when it has no bootloader
 * @ret: on success, the malloc'd image (caller frees)
 * @ret_len: its length
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 or -errno.
 */
int image_set_read_bootloader(ImageSet *s, const ImageSetEntry *e, uint8_t **ret, size_t *ret_len,
                              char **ret_error) {
        if (!e->has_bootloader)
                return set_error(ret_error, -ENOENT, "hardware '%s': the set carries no bootloader", e->hw_name);
        return read_checked(s, e, e->bootloader.file, e->bootloader.size, e->bootloader.sha256,
                            image_check_bootloader, ret, ret_len, ret_error);
}

/* --------------------------------------------------------------- sets */

static ImageSet *image_set_new(void) {
        ImageSet *s = calloc(1, sizeof *s);
        if (s)
                s->dirfd = -1;
        return s;
}

/**
 * image_set_free() - free a set
 * @s: the set (may be NULL)
 *
 * Return: NULL.
 */
ImageSet *image_set_free(ImageSet *s) {
        if (!s)
                return NULL;
        safe_close(s->dirfd);
        for (size_t i = 0; i < s->n_members; i++) {
                free(s->members[i].name);
                free(s->members[i].owned);
        }
        free(s->members);
        free(s->archive);
        free(s->manifest);
        json_decref(s->manifest_json);
        free(s->sig);
        image_set_entries_free(s->entries, s->n_entries);
        free(s);
        return NULL;
}

static int image_set_load(ImageSet *s, char **ret_error) {
        int r = image_set_read_file(s, IMAGE_SET_MANIFEST, IMAGE_SET_MANIFEST_MAX, &s->manifest, &s->manifest_len,
                                    ret_error);
        if (r == -EFBIG)
                return set_error(ret_error, -EBADMSG, "manifest.json: too large: at most %u bytes allowed",
                                 IMAGE_SET_MANIFEST_MAX);
        if (r == -ENOENT)
                return set_error(ret_error, -EBADMSG, "manifest.json: missing: not an image set");
        if (r < 0)
                return r;
        r = image_manifest_parse(s->manifest, s->manifest_len, &s->manifest_json, &s->entries, &s->n_entries,
                                 ret_error);
        if (r < 0)
                return r;
        image_set_id_from_manifest(s->manifest, s->manifest_len, s->id);

        _cleanup_free_ char *err = NULL;
        r = image_set_read_file(s, IMAGE_SET_SIGNATURE, IMAGE_ED25519_SIG_LEN, &s->sig, &s->sig_len, &err);
        if (r == -ENOENT) {
                s->sig = NULL;
                s->sig_len = 0;
        } else if (r == -EFBIG)
                return set_error(ret_error, -EBADMSG, "manifest.json.sig: expected %u bytes, file is larger",
                                 IMAGE_ED25519_SIG_LEN);
        else if (r < 0) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(err);
                }
                return r;
        } else if (s->sig_len != IMAGE_ED25519_SIG_LEN)
                return set_error(ret_error, -EBADMSG, "manifest.json.sig: expected %u bytes, found %zu",
                                 IMAGE_ED25519_SIG_LEN, s->sig_len);
        s->sig_state = s->sig ? IMAGE_SIGNATURE_UNCHECKED : IMAGE_SIGNATURE_NONE;
        return 0;
}

/**
 * image_set_open_tar_buffer() - open a set from a ustar archive in memory
 * @buf: archive bytes (copied)
 * @n: length, at most IMAGE_SET_ARCHIVE_MAX
 * @ret: on success, the set (free with image_set_free())
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0, -EBADMSG, -EFBIG or -ENOMEM.
 */
int image_set_open_tar_buffer(const uint8_t *buf, size_t n, ImageSet **ret, char **ret_error) {
        if (n > IMAGE_SET_ARCHIVE_MAX)
                return set_error(ret_error, -EFBIG, "archive: too large: %zu bytes, at most %u allowed", n,
                                 IMAGE_SET_ARCHIVE_MAX);
        _cleanup_(image_set_freep) ImageSet *s = image_set_new();
        if (!s)
                return -ENOMEM;
        s->archive = malloc(n ? n : 1);
        if (!s->archive)
                return -ENOMEM;
        if (n)
                memcpy(s->archive, buf, n);
        s->archive_len = n;
        int r = tar_parse(s, ret_error);
        if (r < 0)
                return r;
        r = image_set_load(s, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/**
 * image_set_new_memory() - make a set from files in memory
 * @files: the files; one must be manifest.json (data copied)
 * @n_files: their number
 * @ret: on success, the set (not yet verified)
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Used by vescfw build: the set is assembled here, verified, then written
 * with image_set_write_dir()/image_set_write_tar().
 *
 * Return: 0, -EBADMSG (unsafe or duplicate name, bad manifest), -ENOMEM.
 */
int image_set_new_memory(const ImageSetFile *files, size_t n_files, ImageSet **ret, char **ret_error) {
        _cleanup_(image_set_freep) ImageSet *s = image_set_new();
        if (!s)
                return -ENOMEM;
        s->members = calloc(n_files ? n_files : 1, sizeof *s->members);
        if (!s->members)
                return -ENOMEM;
        for (size_t i = 0; i < n_files; i++) {
                if (!image_path_is_safe(files[i].name))
                        return set_error(ret_error, -EBADMSG, "%s: unsafe file name", files[i].name);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(files[j].name, files[i].name) == 0)
                                return set_error(ret_error, -EBADMSG, "%s: listed twice", files[i].name);
                TarMember *m = &s->members[s->n_members++];
                m->name = strdup(files[i].name);
                m->owned = malloc(files[i].size ? files[i].size : 1);
                if (!m->name || !m->owned)
                        return -ENOMEM;
                if (files[i].size)
                        memcpy(m->owned, files[i].data, files[i].size);
                m->data = m->owned;
                m->size = files[i].size;
        }
        int r = image_set_load(s, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/**
 * image_set_set_signature() - attach a detached signature
 * @s: the set
 * @sig: 64-byte Ed25519 signature over the manifest bytes
 *
 * The signature is not checked here; image_set_verify() does.
 *
 * Return: 0 or -ENOMEM.
 */
int image_set_set_signature(ImageSet *s, const uint8_t sig[static IMAGE_ED25519_SIG_LEN]) {
        uint8_t *c = malloc(IMAGE_ED25519_SIG_LEN);
        if (!c)
                return -ENOMEM;
        memcpy(c, sig, IMAGE_ED25519_SIG_LEN);
        free(s->sig);
        s->sig = c;
        s->sig_len = IMAGE_ED25519_SIG_LEN;
        s->sig_state = IMAGE_SIGNATURE_UNCHECKED;
        return 0;
}

/** image_set_is_directory() - whether the set was opened from a directory */
bool image_set_is_directory(const ImageSet *s) {
        return s->dirfd >= 0;
}

/**
 * image_set_open_fd() - open a set from an fd holding a tar archive
 * @fd: readable fd of a regular file (pipes, sockets and devices are refused
 *      with -EINVAL); read to EOF from its offset, not closed
 * @ret: on success, the set
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 or -errno (-EFBIG beyond IMAGE_SET_ARCHIVE_MAX).
 */
int image_set_open_fd(int fd, ImageSet **ret, char **ret_error) {
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t n;

        /* The fd comes from a client: a pipe, socket or device could block
         * the caller's (single-threaded) loop forever or never end. */
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "archive: %m");
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "archive: not a regular file (a pipe, socket, device or directory)");
        int r = read_fd_bounded(fd, IMAGE_SET_ARCHIVE_MAX, &buf, &n);
        if (r == -EFBIG)
                return set_error(ret_error, r, "archive: larger than %u bytes", IMAGE_SET_ARCHIVE_MAX);
        if (r < 0)
                return set_error(ret_error, r, "archive: read failed: %s", strerror(-r));
        return image_set_open_tar_buffer(buf, n, ret, ret_error);
}

/**
 * image_set_open_path() - open a set from a directory or a tar file
 * @path: the directory or the archive
 * @ret: on success, the set
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 or -errno.
 */
int image_set_open_path(const char *path, ImageSet **ret, char **ret_error) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is
         * refused below); it changes nothing for files and directories */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return set_error(ret_error, -errno, "%s: cannot open: %m", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "%s: %m", path);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_(image_set_freep) ImageSet *s = image_set_new();
                if (!s)
                        return -ENOMEM;
                s->dirfd = TAKE_FD(fd);
                int r = image_set_load(s, ret_error);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(s);
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EBADMSG, "%s: neither a directory nor a tar archive", path);
        return image_set_open_fd(fd, ret, ret_error);
}

/**
 * image_set_verify() - check a whole set
 * @s: the set
 * @trust: accepted keys and the "require signed" flag; NULL for none
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Checks the signature rules first, then every image (size, SHA-256,
 * image rules).  On success image_set_signature_state() tells whether the
 * signature was verified.
 *
 * Return: 0; -EPERM for a signature rule; -EBADMSG/-EFBIG for content;
 * other -errno for I/O.
 */
int image_set_verify(ImageSet *s, const ImageTrust *trust, char **ret_error) {
        int r;

        if (s->sig) {
                s->sig_state = IMAGE_SIGNATURE_UNCHECKED;
                if (trust && trust->n_keys > 0) {
                        if (sodium_init() < 0)
                                return -EIO;
                        for (size_t i = 0; i < trust->n_keys; i++)
                                if (crypto_sign_verify_detached(s->sig, s->manifest, s->manifest_len,
                                                                trust->keys[i]) == 0) {
                                        s->sig_state = IMAGE_SIGNATURE_VALID;
                                        break;
                                }
                        if (s->sig_state != IMAGE_SIGNATURE_VALID)
                                return set_error(ret_error, -EPERM,
                                                 "manifest.json.sig: signature does not verify with any of the %zu "
                                                 "trusted key(s)",
                                                 trust->n_keys);
                }
        }
        if (trust && trust->require_signed) {
                if (!s->sig)
                        return set_error(ret_error, -EPERM,
                                         "manifest.json.sig: missing, but signed sets are required");
                if (s->sig_state != IMAGE_SIGNATURE_VALID)
                        return set_error(ret_error, -EPERM,
                                         "manifest.json.sig: signed sets are required but no trusted key is "
                                         "configured");
        }

        for (size_t i = 0; i < s->n_entries; i++) {
                const ImageSetEntry *e = &s->entries[i];
                _cleanup_free_ uint8_t *app = NULL, *bl = NULL;
                size_t len;
                r = image_set_read_app(s, e, &app, &len, ret_error);
                if (r < 0)
                        return r;
                if (e->has_bootloader) {
                        r = image_set_read_bootloader(s, e, &bl, &len, ret_error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/** image_set_id() - the set's id (16 hex digits) */
const char *image_set_id(const ImageSet *s) {
        return s->id;
}

/** image_set_name() - the set's name from the manifest */
const char *image_set_name(const ImageSet *s) {
        return json_string_value(json_object_get(s->manifest_json, "name"));
}

/** image_set_version() - the set's version from the manifest */
const char *image_set_version(const ImageSet *s) {
        return json_string_value(json_object_get(s->manifest_json, "version"));
}

/** image_set_n_entries() - number of hardware names in the set */
size_t image_set_n_entries(const ImageSet *s) {
        return s->n_entries;
}

/** image_set_entry() - the i-th entry, or NULL when out of range */
const ImageSetEntry *image_set_entry(const ImageSet *s, size_t i) {
        return i < s->n_entries ? &s->entries[i] : NULL;
}

/**
 * image_set_find() - the entry for a hardware name
 * @s: the set
 * @hw_name: exact hardware name
 *
 * Return: the entry (owned by @s) or NULL.
 */
const ImageSetEntry *image_set_find(const ImageSet *s, const char *hw_name) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (strcmp(s->entries[i].hw_name, hw_name) == 0)
                        return &s->entries[i];
        return NULL;
}

/** image_set_has_signature() - whether manifest.json.sig is present */
bool image_set_has_signature(const ImageSet *s) {
        return s->sig != NULL;
}

/** image_set_signature_state() - signature state after image_set_verify() */
ImageSignatureState image_set_signature_state(const ImageSet *s) {
        return s->sig_state;
}

/** image_set_manifest_bytes() - the manifest bytes (owned by the set) */
void image_set_manifest_bytes(const ImageSet *s, const uint8_t **ret, size_t *ret_len) {
        *ret = s->manifest;
        *ret_len = s->manifest_len;
}

/**
 * image_set_to_json() - the set as JSON, for vescfw show --json and vescd
 * @s: the set
 *
 * Return: a new object (caller owns the reference), or NULL on ENOMEM.
 */
json_t *image_set_to_json(const ImageSet *s) {
        json_auto_t *hw = json_array();
        if (!hw)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++) {
                const ImageSetEntry *e = &s->entries[i];
                char ver[16];
                fw_version_string(&e->app, ver);
                json_t *app = json_pack("{s:s, s:I, s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:b}", "file", e->app.file,
                                        "size", (json_int_t) e->app.size, "sha256", e->app.sha256,
                                        "firmware_version", ver, "firmware_major", e->app.major, "firmware_minor",
                                        e->app.minor, "firmware_test_build", e->app.test_build, "firmware_name",
                                        e->app.fw_name, "min_bootloader", e->app.min_bootloader, "compressed",
                                        e->app.major >= 6);
                json_t *bl = e->has_bootloader
                                     ? json_pack("{s:s, s:I, s:s, s:i}", "file", e->bootloader.file, "size",
                                                 (json_int_t) e->bootloader.size, "sha256", e->bootloader.sha256,
                                                 "generation", e->bootloader.generation)
                                     : json_null();
                json_t *o = json_pack("{s:s, s:o*, s:o*}", "hw_name", e->hw_name, "app", app, "bootloader", bl);
                if (!o || json_array_append_new(hw, o) < 0)
                        return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:i, s:s, s:O, s:O}", "id", s->id, "name", image_set_name(s), "version",
                         image_set_version(s), "format_version", IMAGE_SET_FORMAT_VERSION, "signature",
                         image_signature_state_to_string(s->sig_state), "provenance",
                         json_object_get(s->manifest_json, "provenance"), "hardware", hw);
}

/* ------------------------------------------------------------ writing */

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/**
 * image_opendir_at() - open a directory below a directory fd for reading
 * @dirfd: the parent
 * @name: the directory ("." for @dirfd itself)
 * @flags: more open flags than O_RDONLY | O_DIRECTORY | O_CLOEXEC (O_NOFOLLOW)
 *
 * Return: the stream (closedir() closes its fd), or NULL with errno set.
 */
DIR *image_opendir_at(int dirfd, const char *name, int flags) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
        if (fd < 0)
                return NULL;
        DIR *d = fdopendir(fd);
        if (!d)
                safe_close(fd); /* keeps errno */
        return d;
}

/* Remove a tree we created ourselves (no symlink following). */
static int rm_rf_at(int parent, const char *name) {
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        DIR *d = image_opendir_at(parent, name, O_NOFOLLOW);
        if (!d)
                return -errno;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        (void) rm_rf_at(dirfd(d), de->d_name);
        closedir(d);
        return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/**
 * image_rm_rf() - remove a directory tree (internal helper for the store)
 * @dirfd: directory fd or AT_FDCWD
 * @name: entry below it
 *
 * Return: 0 or -errno.
 */
int image_rm_rf(int dirfd, const char *name) {
        return rm_rf_at(dirfd, name);
}

/* Write data to rel below dirfd, creating parent directories. */
static int write_file_at(int dirfd, const char *rel, const uint8_t *data, size_t n) {
        char buf[IMAGE_SET_PATH_MAX + 1];
        snprintf(buf, sizeof buf, "%s", rel);
        for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
                *p = 0;
                if (mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        _cleanup_close_ int fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno; /* same file listed twice */
        int r = write_all(fd, data, n);
        if (r < 0)
                return r;
        return fsync(fd) < 0 ? -errno : 0;
}

typedef int (*FileVisitor)(void *userdata, const char *rel, const uint8_t *data, size_t n);

/* Call visit for manifest, signature and each image file (each once). */
static int image_set_visit_files(ImageSet *s, FileVisitor visit, void *userdata, char **ret_error) {
        int r = visit(userdata, IMAGE_SET_MANIFEST, s->manifest, s->manifest_len);
        if (r < 0)
                return r;
        if (s->sig) {
                r = visit(userdata, IMAGE_SET_SIGNATURE, s->sig, s->sig_len);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_entries; i++) {
                const ImageSetEntry *e = &s->entries[i];
                for (int k = 0; k < 2; k++) {
                        const char *file = k == 0 ? e->app.file : e->has_bootloader ? e->bootloader.file : NULL;
                        if (!file)
                                continue;
                        bool seen = false;
                        for (size_t j = 0; j <= i && !seen; j++) {
                                const ImageSetEntry *o = &s->entries[j];
                                seen = (j < i && strcmp(o->app.file, file) == 0) ||
                                       (j < i && o->has_bootloader && strcmp(o->bootloader.file, file) == 0) ||
                                       (j == i && k == 1 && strcmp(o->app.file, file) == 0);
                        }
                        if (seen)
                                continue;
                        _cleanup_free_ uint8_t *data = NULL;
                        size_t n;
                        r = image_set_read_file(s, file, IMAGE_SET_ARCHIVE_MAX, &data, &n, ret_error);
                        if (r < 0)
                                return r;
                        r = visit(userdata, file, data, n);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int visit_write_dir(void *userdata, const char *rel, const uint8_t *data, size_t n) {
        return write_file_at(*(int *) userdata, rel, data, n);
}

static int split_path(const char *path, char **ret_dir, char **ret_base) {
        const char *slash = strrchr(path, '/');
        char *d = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        char *b = strdup(slash ? slash + 1 : path);
        if (!d || !b) {
                free(d);
                free(b);
                return -ENOMEM;
        }
        *ret_dir = d;
        *ret_base = b;
        return 0;
}

/**
 * image_set_write_dir() - write the set as a directory, atomically
 * @s: the set (verified here without trust: content rules only)
 * @path: the directory to create; must not exist (or be empty)
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Writes into a temporary sibling directory and renames it into place;
 * on failure nothing is left behind.
 *
 * Return: 0 or -errno.
 */
int image_set_write_dir(ImageSet *s, const char *path, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        int r = image_set_verify(s, NULL, ret_error);
        if (r < 0)
                return r;
        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        if (!*base)
                return set_error(ret_error, -EINVAL, "%s: not a directory name", path);
        _cleanup_close_ int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return set_error(ret_error, -errno, "%s: cannot open: %m", dir);

        char tmp[IMAGE_SET_PATH_MAX + 64];
        _cleanup_free_ char *tmpl = NULL;
        if (asprintf(&tmpl, "%s/.%.60s.tmp-XXXXXX", dir, base) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmpl))
                return set_error(ret_error, -errno, "%s: cannot create a temporary directory: %m", dir);
        snprintf(tmp, sizeof tmp, "%s", strrchr(tmpl, '/') + 1);

        _cleanup_close_ int tfd = openat(pfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (tfd < 0)
                r = -errno;
        else
                r = image_set_visit_files(s, visit_write_dir, &tfd, ret_error);
        if (r >= 0 && fchmod(tfd, 0755) < 0)
                r = -errno;
        if (r >= 0 && fsync(tfd) < 0)
                r = -errno;
        if (r >= 0 && renameat(pfd, tmp, pfd, base) < 0)
                r = set_error(ret_error, -errno, "%s: cannot move into place: %m", path);
        if (r < 0) {
                (void) rm_rf_at(pfd, tmp);
                if (ret_error && !*ret_error)
                        set_error(ret_error, r, "%s: writing the set failed: %s", path, strerror(-r));
                return r;
        }
        (void) fsync(pfd);
        return 0;
}

typedef struct TarWriter {
        uint8_t *buf;
        size_t len, cap;
        char dirs[16][IMAGE_SET_PATH_MAX + 2];
        size_t n_dirs;
} TarWriter;

static int tar_reserve(TarWriter *w, size_t n) {
        if (w->cap - w->len >= n)
                return 0;
        size_t ncap = MAX(w->cap * 2, w->len + n + 65536);
        uint8_t *nb = realloc(w->buf, ncap);
        if (!nb)
                return -ENOMEM;
        w->buf = nb;
        w->cap = ncap;
        return 0;
}

static int tar_header(TarWriter *w, const char *name, char type, size_t size) {
        int r = tar_reserve(w, 512);
        if (r < 0)
                return r;
        uint8_t *h = w->buf + w->len;
        memset(h, 0, 512);
        if (strlen(name) > 99)
                return -ENAMETOOLONG;
        memcpy(h, name, strlen(name));
        snprintf((char *) h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
        snprintf((char *) h + 108, 8, "%07o", 0);
        snprintf((char *) h + 116, 8, "%07o", 0);
        snprintf((char *) h + 124, 12, "%011zo", size);
        snprintf((char *) h + 136, 12, "%011o", 0);
        h[156] = (uint8_t) type;
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        h[155] = ' ';
        w->len += 512;
        return 0;
}

static int visit_write_tar(void *userdata, const char *rel, const uint8_t *data, size_t n) {
        TarWriter *w = userdata;
        int r;
        /* Parent directories first, once each, so tar(1) extracts cleanly. */
        char buf[IMAGE_SET_PATH_MAX + 2];
        snprintf(buf, sizeof buf, "%s", rel);
        for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
                p[1] = 0;
                bool seen = false;
                for (size_t i = 0; i < w->n_dirs && !seen; i++)
                        seen = strcmp(w->dirs[i], buf) == 0;
                if (!seen) {
                        if (w->n_dirs >= ELEMENTSOF(w->dirs))
                                return -E2BIG;
                        snprintf(w->dirs[w->n_dirs++], sizeof w->dirs[0], "%s", buf);
                        if ((r = tar_header(w, buf, '5', 0)) < 0)
                                return r;
                }
                snprintf(buf, sizeof buf, "%s", rel);
        }
        if ((r = tar_header(w, rel, '0', n)) < 0)
                return r;
        size_t padded = (n + 511) / 512 * 512;
        if ((r = tar_reserve(w, padded)) < 0)
                return r;
        memcpy(w->buf + w->len, data, n);
        memset(w->buf + w->len + n, 0, padded - n);
        w->len += padded;
        return 0;
}

/**
 * image_set_write_tar() - write the set as a ustar archive, atomically
 * @s: the set (verified here without trust: content rules only)
 * @path: archive to create or replace
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * The archive is deterministic (owner 0, mtime 0, fixed modes, manifest
 * first), written to a temporary file and renamed into place.
 *
 * Return: 0 or -errno.
 */
int image_set_write_tar(ImageSet *s, const char *path, char **ret_error) {
        int r = image_set_verify(s, NULL, ret_error);
        if (r < 0)
                return r;
        _cleanup_free_ TarWriter *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        r = image_set_visit_files(s, visit_write_tar, w, ret_error);
        if (r >= 0)
                r = tar_reserve(w, 1024);
        if (r < 0) {
                free(w->buf);
                return set_error(ret_error, r, "%s: building the archive failed: %s", path, strerror(-r));
        }
        memset(w->buf + w->len, 0, 1024);
        w->len += 1024;

        _cleanup_free_ char *tmpl = NULL;
        if (asprintf(&tmpl, "%s.tmp-XXXXXX", path) < 0) {
                free(w->buf);
                return -ENOMEM;
        }
        _cleanup_close_ int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0) {
                free(w->buf);
                return set_error(ret_error, -errno, "%s: cannot create a temporary file: %m", path);
        }
        r = write_all(fd, w->buf, w->len);
        free(w->buf);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmpl, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmpl);
                return set_error(ret_error, r, "%s: writing the archive failed: %s", path, strerror(-r));
        }
        return 0;
}

/* ---------------------------------------------------------- trust/keys */

/**
 * image_trust_add_key() - accept one more public key
 * @t: trust configuration
 * @pk: Ed25519 public key
 *
 * Return: 0 or -ENOMEM.
 */
int image_trust_add_key(ImageTrust *t, const uint8_t pk[static IMAGE_ED25519_PK_LEN]) {
        uint8_t(*k)[IMAGE_ED25519_PK_LEN] = reallocarray(t->keys, t->n_keys + 1, sizeof *k);
        if (!k)
                return -ENOMEM;
        t->keys = k;
        memcpy(k[t->n_keys++], pk, IMAGE_ED25519_PK_LEN);
        return 0;
}

/**
 * image_trust_parse() - add keys and flags from trust-file text
 * @t: trust configuration to extend
 * @text: file contents
 * @n: length
 * @origin: file name for messages
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Lines: "ed25519 <64 hex digits> [comment]", "require-signed", blank,
 * or '#' comments.
 *
 * Return: 0, -EBADMSG or -ENOMEM.
 */
int image_trust_parse(ImageTrust *t, const char *text, size_t n, const char *origin, char **ret_error) {
        size_t lineno = 0, i = 0;
        while (i < n) {
                size_t end = i;
                while (end < n && text[end] != '\n')
                        end++;
                lineno++;
                char line[512];
                size_t len = MIN(end - i, sizeof line - 1);
                memcpy(line, text + i, len);
                line[len] = 0;
                i = end + 1;

                char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                size_t l = strlen(p);
                while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
                        p[--l] = 0;
                if (!*p || *p == '#')
                        continue;
                if (strcmp(p, "require-signed") == 0) {
                        t->require_signed = true;
                        continue;
                }
                if (strncmp(p, "ed25519 ", 8) == 0) {
                        uint8_t pk[IMAGE_ED25519_PK_LEN];
                        size_t got;
                        const char *hex = p + 8, *hex_end;
                        while (*hex == ' ')
                                hex++;
                        if (sodium_hex2bin(pk, sizeof pk, hex, strlen(hex), NULL, &got, &hex_end) == 0 &&
                            got == sizeof pk && (*hex_end == 0 || *hex_end == ' ' || *hex_end == '\t')) {
                                int r = image_trust_add_key(t, pk);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        return set_error(ret_error, -EBADMSG,
                                         "%s:%zu: bad public key: expected \"ed25519 \" and 64 hex digits", origin,
                                         lineno);
                }
                /* Name only the first word: never echo key material. */
                return set_error(ret_error, -EBADMSG,
                                 "%s:%zu: expected \"ed25519 <hex key>\" or \"require-signed\", found \"%.*s\"",
                                 origin, lineno, (int) MIN(strcspn(p, " \t"), (size_t) 32), p);
        }
        return 0;
}

static int read_small_file(const char *path, size_t max, char **ret, size_t *ret_len, char **ret_error) {
        /* O_NONBLOCK: a FIFO must not hang the caller's loop (refused below) */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return set_error(ret_error, -errno, "%s: cannot open: %m", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, -errno, "%s: %m", path);
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EBADMSG, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
        uint8_t *buf;
        size_t n;
        int r = read_fd_bounded(fd, max, &buf, &n);
        if (r < 0)
                return set_error(ret_error, r, "%s: %s", path, r == -EFBIG ? "too large" : strerror(-r));
        *ret = (char *) buf;
        *ret_len = n;
        return 0;
}

/**
 * image_trust_load() - add keys and flags from a trust or public key file
 * @t: trust configuration to extend
 * @path: file
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 or -errno.
 */
int image_trust_load(ImageTrust *t, const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t n;
        int r = read_small_file(path, 65536, &text, &n, ret_error);
        if (r < 0)
                return r;
        return image_trust_parse(t, text, n, path, ret_error);
}

/**
 * image_trust_done() - free the keys of a trust configuration
 * @t: trust configuration (reset to empty)
 */
void image_trust_done(ImageTrust *t) {
        free(t->keys);
        *t = (ImageTrust){};
}

/**
 * image_keypair_generate() - a new Ed25519 key pair
 * @pk: public key out
 * @sk: secret key out
 *
 * Return: 0 or -EIO when libsodium cannot initialise.
 */
int image_keypair_generate(uint8_t pk[static IMAGE_ED25519_PK_LEN], uint8_t sk[static IMAGE_ED25519_SK_LEN]) {
        if (sodium_init() < 0)
                return -EIO;
        crypto_sign_keypair(pk, sk);
        return 0;
}

/**
 * image_secret_key_load() - read a secret key file
 * @path: file with "ed25519-secret <128 hex digits>"
 * @sk: secret key out
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 or -errno (-EBADMSG for a malformed file).
 */
int image_secret_key_load(const char *path, uint8_t sk[static IMAGE_ED25519_SK_LEN], char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t n, got;
        const char *end;
        int r = read_small_file(path, 4096, &text, &n, ret_error);
        if (r < 0)
                return r;
        const char *p = memmem(text, n, "ed25519-secret ", 15);
        if (!p || p != text)
                return set_error(ret_error, -EBADMSG, "%s: not a secret key file (expected \"ed25519-secret <hex>\")",
                                 path);
        p += 15;
        if (sodium_hex2bin(sk, IMAGE_ED25519_SK_LEN, p, n - (size_t) (p - text), NULL, &got, &end) != 0 ||
            got != IMAGE_ED25519_SK_LEN)
                return set_error(ret_error, -EBADMSG, "%s: bad secret key: expected 128 hex digits", path);
        sodium_memzero(text, n);
        return 0;
}

/**
 * image_sign() - detached Ed25519 signature
 * @msg: message (the manifest bytes)
 * @n: length
 * @sk: secret key
 * @sig: 64-byte signature out
 *
 * Return: 0 or -EIO.
 */
int image_sign(const uint8_t *msg, size_t n, const uint8_t sk[static IMAGE_ED25519_SK_LEN],
               uint8_t sig[static IMAGE_ED25519_SIG_LEN]) {
        if (sodium_init() < 0)
                return -EIO;
        return crypto_sign_detached(sig, NULL, msg, n, sk) == 0 ? 0 : -EIO;
}
