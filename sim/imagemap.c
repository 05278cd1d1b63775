/* SHA-256 -> version map for descriptor-less images (see imagemap.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "imagemap.h"
#include "macro.h"

static int hex_sha(const char *s, uint8_t out[static 32]) {
        if (strlen(s) != 64)
                return -EINVAL;
        for (int i = 0; i < 32; i++) {
                unsigned v;
                char b[3] = { s[2 * i], s[2 * i + 1], 0 };
                char *end;

                v = (unsigned) strtoul(b, &end, 16);
                if (*end || !b[0] || !b[1])
                        return -EINVAL;
                out[i] = (uint8_t) v;
        }
        return 0;
}

static int add_entry(SimImageMap *m, const SimImageMapEntry *entry) {
        SimImageMapEntry *e;

        e = realloc(m->entries, (m->n + 1) * sizeof *e);
        if (!e)
                return -ENOMEM;
        m->entries = e;
        e[m->n++] = *entry;
        return 0;
}

static int add(SimImageMap *m, const uint8_t sha[static 32], unsigned major, unsigned minor) {
        SimImageMapEntry e = {};

        if (major > 255 || minor > 255)
                return -EINVAL;
        memcpy(e.sha256, sha, 32);
        e.major = (uint8_t) major;
        e.minor = (uint8_t) minor;
        return add_entry(m, &e);
}

static int add_bootloader(SimImageMap *m, const uint8_t sha[static 32], json_int_t size, json_int_t generation) {
        SimImageMapEntry e = {};

        memcpy(e.sha256, sha, 32);
        e.bl_size = (uint32_t) size;
        e.bl_generation = (uint8_t) generation;
        return add_entry(m, &e);
}

/**
 * sim_image_map_add_arg() - add one --image-map argument
 * @m: map
 * @arg: "SHA256=MAJOR.MINOR"
 *
 * Returns 0, -EINVAL or -ENOMEM.
 */
int sim_image_map_add_arg(SimImageMap *m, const char *arg) {
        const char *eq = strchr(arg, '=');
        char hex[65];
        uint8_t sha[32];
        unsigned major, minor;
        char tail;

        if (!eq || eq - arg != 64)
                return -EINVAL;
        memcpy(hex, arg, 64);
        hex[64] = 0;
        if (hex_sha(hex, sha) < 0)
                return -EINVAL;
        if (sscanf(eq + 1, "%u.%u%c", &major, &minor, &tail) != 2)
                return -EINVAL;
        return add(m, sha, major, minor);
}

static int walk(SimImageMap *m, json_t *j) {
        int n = 0, r;

        if (json_is_object(j)) {
                const char *key;
                json_t *v;
                json_t *sha = json_object_get(j, "sha256");
                json_t *maj = json_object_get(j, "firmware_major");
                json_t *min = json_object_get(j, "firmware_minor");
                uint8_t h[32];

                if (!maj || !min) {
                        maj = json_object_get(j, "major");
                        min = json_object_get(j, "minor");
                }
                json_t *size = json_object_get(j, "size");
                json_t *gen = json_object_get(j, "generation");

                if (json_is_string(sha) && json_is_integer(maj) && json_is_integer(min) &&
                    hex_sha(json_string_value(sha), h) == 0) {
                        r = add(m, h, (unsigned) json_integer_value(maj), (unsigned) json_integer_value(min));
                        if (r < 0)
                                return r;
                        n++;
                } else if (json_is_string(sha) && json_is_integer(size) && json_is_integer(gen) &&
                           json_integer_value(size) > 0 && json_integer_value(size) <= 131072 &&
                           json_integer_value(gen) >= 1 && json_integer_value(gen) <= 2 &&
                           hex_sha(json_string_value(sha), h) == 0) {
                        /* A bootloader entry (sha256, size, generation): it
                         * lives in sector 11, 128 KiB; generations 1 and 2. */
                        r = add_bootloader(m, h, json_integer_value(size), json_integer_value(gen));
                        if (r < 0)
                                return r;
                        n++;
                }
                json_object_foreach(j, key, v) {
                        r = walk(m, v);
                        if (r < 0)
                                return r;
                        n += r;
                }
        } else if (json_is_array(j)) {
                size_t i;
                json_t *v;

                json_array_foreach(j, i, v) {
                        r = walk(m, v);
                        if (r < 0)
                                return r;
                        n += r;
                }
        }
        return n;
}

/**
 * sim_image_map_add_manifest() - add the images of an image-set manifest
 * @m: map
 * @json: manifest bytes
 * @len: their length
 *
 * Returns the number of entries added, -EBADMSG or -ENOMEM.
 */
int sim_image_map_add_manifest(SimImageMap *m, const char *json, size_t len) {
        json_error_t err;
        json_t *j = json_loadb(json, len, 0, &err);
        int r;

        if (!j)
                return -EBADMSG;
        r = walk(m, j);
        json_decref(j);
        return r;
}

/**
 * sim_image_map_add_set() - add DIR/manifest.json
 * @m: map
 * @dir: image-set directory
 *
 * Returns the number of entries added or a negative errno.
 */
int sim_image_map_add_set(SimImageMap *m, const char *dir) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0, cap = 65536;
        ssize_t k;

        if (asprintf(&path, "%s/manifest.json", dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        while ((k = read(fd, buf + len, cap - len)) > 0) {
                len += (size_t) k;
                if (len == cap)
                        return -EFBIG;
        }
        if (k < 0)
                return -errno;
        return sim_image_map_add_manifest(m, buf, len);
}

/**
 * sim_image_map_done() - free the entries
 * @m: map
 */
void sim_image_map_done(SimImageMap *m) {
        free(m->entries);
        *m = (SimImageMap) {};
}
