/* Fuzz target: manifest.json parsing and the ustar reader of image sets.
 * Invariants: a manifest that parses satisfies every structural rule
 * (so later code may rely on them); a failure always carries a message;
 * a set that opens renders to JSON with the right id. */

#include <string.h>

#include "fuzz.h"
#include "fwimage.h"
#include "imageset.h"
#include "macro.h"

static void check_entries(const ImageSetEntry *e, size_t n) {
        FUZZ_CHECK(n >= 1 && n <= IMAGE_SET_ENTRIES_MAX);
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(image_hw_name_is_valid(e[i].hw_name));
                FUZZ_CHECK(image_path_is_safe(e[i].app.file));
                FUZZ_CHECK(strlen(e[i].app.sha256) == 64);
                FUZZ_CHECK(e[i].app.size == vesc_app_size_for_major(e[i].app.major));
                FUZZ_CHECK(e[i].app.min_bootloader >= 1 && e[i].app.min_bootloader <= 2);
                FUZZ_CHECK(e[i].app.major < 6 || e[i].app.min_bootloader == 2);
                FUZZ_CHECK(strlen(e[i].app.fw_name) <= 32);
                if (e[i].has_bootloader) {
                        FUZZ_CHECK(image_path_is_safe(e[i].bootloader.file));
                        FUZZ_CHECK(e[i].bootloader.size >= 1 && e[i].bootloader.size <= IMAGE_BOOTLOADER_MAX);
                        FUZZ_CHECK(e[i].bootloader.generation >= e[i].app.min_bootloader);
                }
                for (size_t j = 0; j < i; j++)
                        FUZZ_CHECK(strcmp(e[i].hw_name, e[j].hw_name) != 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *err = NULL;
        ImageSetEntry *e = NULL;
        size_t n = 0;

        int r = image_manifest_parse(data, size, NULL, &e, &n, &err);
        if (r < 0) {
                FUZZ_CHECK(err && *err);
                FUZZ_CHECK(!e);
        } else {
                check_entries(e, n);
                image_set_entries_free(e, n);

                /* The same bytes as a one-file set: JSON view and id. */
                ImageSetFile f = { IMAGE_SET_MANIFEST, data, size };
                ImageSet *s = NULL;
                free(err);
                err = NULL;
                FUZZ_CHECK(image_set_new_memory(&f, 1, &s, &err) == 0);
                char id[IMAGE_SET_ID_LEN + 1];
                image_set_id_from_manifest(data, size, id);
                FUZZ_CHECK(strcmp(image_set_id(s), id) == 0);
                json_t *j = image_set_to_json(s);
                FUZZ_CHECK(j);
                FUZZ_CHECK(json_array_size(json_object_get(j, "hardware")) == n);
                json_decref(j);
                /* The images are missing: verification must fail cleanly. */
                FUZZ_CHECK(image_set_verify(s, NULL, &err) < 0 && err);
                image_set_free(s);
        }

        /* The same bytes as a tar archive. */
        free(err);
        err = NULL;
        ImageSet *t = NULL;
        r = image_set_open_tar_buffer(data, size, &t, &err);
        if (r < 0)
                FUZZ_CHECK(err && *err && !t);
        else {
                const uint8_t *m;
                size_t mlen;
                image_set_manifest_bytes(t, &m, &mlen);
                char id[IMAGE_SET_ID_LEN + 1];
                image_set_id_from_manifest(m, mlen, id);
                FUZZ_CHECK(strcmp(image_set_id(t), id) == 0);
                free(err);
                err = NULL;
                (void) image_set_verify(t, NULL, &err);
                image_set_free(t);
        }
        return 0;
}
