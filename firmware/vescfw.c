/* vescfw: build, verify, show, sign and pack firmware image sets, and make
 * signing keys.  A thin command line over imageset.[ch]; every rule and
 * message lives there.  Exit codes (docs/vescfw.1): 0 ok, 1 invalid set or
 * input, 2 usage, 3 signature or trust failure, 4 system error. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <sodium.h>

#include "fwimage.h"
#include "imageset.h"
#include "macro.h"

#define EXIT_INVALID 1
#define EXIT_USAGE   2
#define EXIT_TRUST   3
#define EXIT_SYSTEM  4

static bool arg_json;
static bool arg_require_signed;
static const char *arg_output;
static const char *arg_key;
static const char *arg_name;
static const char *arg_version;
static const char *arg_source;
static const char *arg_tree;

typedef struct Input {
        char *hw;
        char *app_path;
        char *bl_path;
} Input;

static Input arg_inputs[IMAGE_SET_ENTRIES_MAX];
static size_t arg_n_inputs;
static ImageTrust arg_trust;

/* Options that override or supply the metadata of images without a
 * VESCDFW1/VESCDBL1 descriptor (real firmware builds). */
static int arg_fw_major = -1, arg_fw_minor = -1, arg_test_build = -1, arg_min_bl = -1, arg_bl_gen = -1;
static const char *arg_fw_name;

static int exit_for(int r) {
        switch (r) {
        case -EPERM:
                return EXIT_TRUST;
        case -EBADMSG:
        case -EFBIG:
        case -EINVAL:
        case -ENOENT:
        case -EEXIST:
        case -ENOTEMPTY:
        case -EIO:
                return EXIT_INVALID;
        default:
                return EXIT_SYSTEM;
        }
}

static int fail(int r, const char *err, const char *what) {
        if (err)
                fprintf(stderr, "vescfw: %s\n", err);
        else
                fprintf(stderr, "vescfw: %s: %s\n", what, strerror(-r));
        return exit_for(r);
}

static Input *input_for(const char *hw) {
        for (size_t i = 0; i < arg_n_inputs; i++)
                if (strcmp(arg_inputs[i].hw, hw) == 0)
                        return &arg_inputs[i];
        if (arg_n_inputs >= ELEMENTSOF(arg_inputs))
                return NULL;
        Input *in = &arg_inputs[arg_n_inputs++];
        in->hw = strdup(hw);
        return in->hw ? in : NULL;
}

/* HW=FILE */
static int add_input(const char *spec, bool bootloader) {
        const char *eq = strchr(spec, '=');
        if (!eq || eq == spec || !eq[1]) {
                fprintf(stderr, "vescfw: '%s': expected HW=FILE\n", spec);
                return -EINVAL;
        }
        _cleanup_free_ char *hw = strndup(spec, (size_t) (eq - spec));
        if (!hw)
                return -ENOMEM;
        if (!image_hw_name_is_valid(hw)) {
                fprintf(stderr, "vescfw: '%s': invalid hardware name (1-32 printable characters, no '/')\n", hw);
                return -EINVAL;
        }
        Input *in = input_for(hw);
        if (!in)
                return -ENOMEM;
        char **slot = bootloader ? &in->bl_path : &in->app_path;
        if (*slot) {
                fprintf(stderr, "vescfw: hardware '%s': %s given twice\n", hw, bootloader ? "bootloader" : "app");
                return -EINVAL;
        }
        *slot = strdup(eq + 1);
        return *slot ? 0 : -ENOMEM;
}

static void inputs_free(void) {
        for (size_t i = 0; i < arg_n_inputs; i++) {
                free(arg_inputs[i].hw);
                free(arg_inputs[i].app_path);
                free(arg_inputs[i].bl_path);
        }
        arg_n_inputs = 0;
}

static int read_whole(const char *path, size_t max, uint8_t **ret, size_t *ret_len) {
        /* O_NONBLOCK: a FIFO given as an input must not hang vescfw (refused below) */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        size_t n = (size_t) st.st_size, got = 0;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        while (got < n) {
                ssize_t k = read(fd, buf + got, n - got);
                if (k <= 0) {
                        free(buf);
                        return k < 0 ? -errno : -EIO;
                }
                got += (size_t) k;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

/* File name inside the set for a hw name: "<hw>/<leaf>" with unsafe
 * characters replaced. */
static char *set_path(const char *hw, const char *leaf) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", hw, leaf) < 0)
                return NULL;
        for (char *c = p; *c && c < p + strlen(hw); c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      *c == '.' || *c == '_' || *c == '-' || *c == '+'))
                        *c = '_';
        if (p[0] == '.')
                p[0] = '_';
        return p;
}

static int tree_inputs(const char *tree) {
        DIR *d = opendir(tree);
        if (!d) {
                fprintf(stderr, "vescfw: %s: cannot open: %s\n", tree, strerror(errno));
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s/%s", tree, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                struct stat st;
                if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                /* The firmware build names its output <hw>.bin, the
                 * release tree VESC_default.bin; the bootloader is
                 * bootloader.bin. */
                static const char *const app_names[] = { NULL, "VESC_default.bin" };
                _cleanup_free_ char *own = NULL;
                if (asprintf(&own, "%s.bin", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                _cleanup_free_ char *app = NULL, *bl = NULL;
                for (size_t i = 0; i < ELEMENTSOF(app_names) && !app; i++) {
                        char *p = NULL;
                        if (asprintf(&p, "%s/%s", sub, app_names[i] ? app_names[i] : own) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        if (access(p, R_OK) == 0)
                                app = p;
                        else
                                free(p);
                }
                if (asprintf(&bl, "%s/bootloader.bin", sub) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (!app) {
                        fprintf(stderr, "vescfw: %s: no %s or VESC_default.bin, skipping\n", sub, own);
                        continue;
                }
                _cleanup_free_ char *spec = NULL;
                if (asprintf(&spec, "%s=%s", de->d_name, app) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = add_input(spec, false);
                if (r == 0 && access(bl, R_OK) == 0) {
                        free(spec);
                        spec = NULL;
                        if (asprintf(&spec, "%s=%s", de->d_name, bl) < 0)
                                r = -ENOMEM;
                        else
                                r = add_input(spec, true);
                }
        }
        closedir(d);
        if (r == 0 && arg_n_inputs == 0) {
                fprintf(stderr, "vescfw: %s: no hardware folders with firmware found\n", tree);
                return -ENOENT;
        }
        return r;
}

static int parse_version(const char *s, int *major, int *minor) {
        unsigned a, b;
        char tail;
        if (sscanf(s, "%u.%u%c", &a, &b, &tail) != 2 || a > 255 || b > 99)
                return -EINVAL;
        *major = (int) a;
        *minor = (int) b;
        return 0;
}

static void created_now(char out[static 32]) {
        time_t t = time(NULL);
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        if (sde && *sde) {
                char *end;
                long long v = strtoll(sde, &end, 10);
                if (!*end && v >= 0)
                        t = (time_t) v;
        }
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_set(ImageSet *s, const char *out, char **err) {
        size_t len = strlen(out);
        if (len > 4 && strcmp(out + len - 4, ".tar") == 0)
                return image_set_write_tar(s, out, err);
        return image_set_write_dir(s, out, err);
}

static int verb_build(void) {
        _cleanup_free_ char *err = NULL;
        int r;

        if (!arg_name || !arg_version || !arg_output) {
                fprintf(stderr, "vescfw build: --name, --version and --output are required\n");
                return EXIT_USAGE;
        }
        if (arg_tree && (r = tree_inputs(arg_tree)) < 0)
                return exit_for(r);
        if (arg_n_inputs == 0) {
                fprintf(stderr, "vescfw build: no firmware given (--app HW=FILE or --tree DIR)\n");
                return EXIT_USAGE;
        }

        json_auto_t *hw = json_array();
        ImageSetFile files[1 + 2 * IMAGE_SET_ENTRIES_MAX] = {};
        uint8_t *bufs[2 * IMAGE_SET_ENTRIES_MAX] = {};
        char *names[2 * IMAGE_SET_ENTRIES_MAX] = {};
        size_t nf = 1, nb = 0;
        int ret = 0;

        for (size_t i = 0; i < arg_n_inputs && ret == 0; i++) {
                const Input *in = &arg_inputs[i];
                if (!in->app_path) {
                        fprintf(stderr, "vescfw build: hardware '%s': bootloader given without an app\n", in->hw);
                        ret = EXIT_USAGE;
                        break;
                }
                uint8_t *app;
                size_t alen;
                r = read_whole(in->app_path, VESC_APP_SIZE_V6 + 65536, &app, &alen);
                if (r < 0) {
                        fprintf(stderr, "vescfw build: %s: %s\n", in->app_path,
                                r == -EFBIG ? "too large for a VESC application" : strerror(-r));
                        ret = exit_for(r);
                        break;
                }
                bufs[nb++] = app;

                VescFwDescriptor d = {};
                int dr = vesc_fw_descriptor_parse(app, alen, &d);
                if (dr == -EBADMSG) {
                        fprintf(stderr, "vescfw build: %s: corrupt VESCDFW1 descriptor at 0x400\n", in->app_path);
                        ret = EXIT_INVALID;
                        break;
                }
                int major = dr == 0 ? d.major : arg_fw_major, minor = dr == 0 ? d.minor : arg_fw_minor;
                int test = dr == 0 ? d.test_build : MAX(arg_test_build, 0);
                int minbl = dr == 0 ? d.min_bootloader : arg_min_bl;
                const char *fwname = dr == 0 ? d.fw_name : (arg_fw_name ?: "");
                if (dr == 0 && strcmp(d.hw_name, in->hw) != 0) {
                        fprintf(stderr, "vescfw build: %s: wrong hardware: descriptor says '%s', given for '%s'\n",
                                in->app_path, d.hw_name, in->hw);
                        ret = EXIT_INVALID;
                        break;
                }
                if (major < 0 || minor < 0) {
                        fprintf(stderr,
                                "vescfw build: %s: no VESCDFW1 descriptor: give --firmware-version MAJOR.MINOR\n",
                                in->app_path);
                        ret = EXIT_USAGE;
                        break;
                }
                if (minbl < 0)
                        minbl = major >= 6 ? 2 : 1;

                size_t k = nf++; /* files[k], names[k - 1] */
                names[k - 1] = set_path(in->hw, "firmware.bin");
                if (!names[k - 1]) {
                        ret = EXIT_SYSTEM;
                        break;
                }
                char sha[65];
                image_sha256_hex(app, alen, sha);
                files[k] = (ImageSetFile){ .name = names[k - 1], .data = app, .size = alen };
                json_t *appj = json_pack("{s:s, s:I, s:s, s:i, s:i, s:i, s:s, s:i}", "file", names[k - 1], "size",
                                         (json_int_t) alen, "sha256", sha, "firmware_major", major,
                                         "firmware_minor", minor, "firmware_test_build", test, "firmware_name",
                                         fwname, "min_bootloader", minbl);
                json_t *e = json_pack("{s:s, s:o*}", "hw_name", in->hw, "app", appj);
                if (!e || json_array_append_new(hw, e) < 0) {
                        ret = EXIT_SYSTEM;
                        break;
                }

                if (in->bl_path) {
                        uint8_t *bl;
                        size_t blen;
                        r = read_whole(in->bl_path, IMAGE_BOOTLOADER_MAX, &bl, &blen);
                        if (r < 0) {
                                fprintf(stderr, "vescfw build: %s: %s\n", in->bl_path,
                                        r == -EFBIG ? "larger than 128 KiB (sector 11)" : strerror(-r));
                                ret = exit_for(r);
                                break;
                        }
                        bufs[nb++] = bl;
                        VescBlDescriptor bd;
                        int br = vesc_bl_descriptor_parse(bl, blen, &bd);
                        int gen = br == 0 ? bd.generation : (arg_bl_gen > 0 ? arg_bl_gen : 2);
                        k = nf++;
                        names[k - 1] = set_path(in->hw, "bootloader.bin");
                        if (!names[k - 1]) {
                                ret = EXIT_SYSTEM;
                                break;
                        }
                        image_sha256_hex(bl, blen, sha);
                        files[k] = (ImageSetFile){ .name = names[k - 1], .data = bl, .size = blen };
                        json_t *blj = json_pack("{s:s, s:I, s:s, s:i}", "file", names[k - 1], "size",
                                                (json_int_t) blen, "sha256", sha, "generation", gen);
                        if (!blj || json_object_set_new(e, "bootloader", blj) < 0) {
                                ret = EXIT_SYSTEM;
                                break;
                        }
                }
        }

        if (ret == 0) {
                char created[32];
                created_now(created);
                _cleanup_free_ char *source = NULL;
                if (!arg_source) {
                        if (arg_tree) {
                                const char *b = strrchr(arg_tree, '/');
                                r = asprintf(&source, "firmware build tree %s", b && b[1] ? b + 1 : arg_tree);
                        } else
                                r = asprintf(&source, "%zu firmware file(s) given on the command line",
                                             arg_n_inputs);
                        if (r < 0)
                                source = NULL;
                }
                json_auto_t *m = json_pack("{s:i, s:s, s:s, s:O, s:{s:s, s:s, s:s}}", "format_version",
                                           IMAGE_SET_FORMAT_VERSION, "name", arg_name, "version", arg_version,
                                           "hardware", hw, "provenance", "source",
                                           arg_source ?: (source ?: "unknown"), "created", created, "tool",
                                           "vescfw " PACKAGE_VERSION);
                _cleanup_free_ char *text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
                if (!text)
                        ret = EXIT_SYSTEM;
                else {
                        size_t tl = strlen(text);
                        _cleanup_free_ char *nl = malloc(tl + 2);
                        if (!nl)
                                ret = EXIT_SYSTEM;
                        else {
                                memcpy(nl, text, tl);
                                nl[tl] = '\n';
                                nl[tl + 1] = 0;
                                files[0] = (ImageSetFile){ .name = IMAGE_SET_MANIFEST, .data = (uint8_t *) nl,
                                                           .size = tl + 1 };
                                _cleanup_(image_set_freep) ImageSet *s = NULL;
                                r = image_set_new_memory(files, nf, &s, &err);
                                if (r >= 0)
                                        r = write_set(s, arg_output, &err);
                                if (r < 0)
                                        ret = fail(r, err, arg_output);
                                else
                                        printf("%s: set %s %s, id %s\n", arg_output, image_set_name(s),
                                               image_set_version(s), image_set_id(s));
                        }
                }
        }

        for (size_t i = 0; i < nb; i++)
                free(bufs[i]);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                free(names[i]);
        return ret;
}

static int open_verified(const char *path, ImageSet **ret) {
        _cleanup_free_ char *err = NULL;
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        int r = image_set_open_path(path, &s, &err);
        if (r >= 0)
                r = image_set_verify(s, &arg_trust, &err);
        if (r < 0) {
                if (err)
                        fprintf(stderr, "vescfw: %s: %s\n", path, err);
                else
                        fprintf(stderr, "vescfw: %s: %s\n", path, strerror(-r));
                return -exit_for(r);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int verb_verify(const char *path) {
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        int r = open_verified(path, &s);
        if (r < 0)
                return -r;
        printf("%s: OK: set %s %s, id %s, %zu hardware name(s), signature %s\n", path, image_set_name(s),
               image_set_version(s), image_set_id(s), image_set_n_entries(s),
               image_signature_state_to_string(image_set_signature_state(s)));
        return 0;
}

static int verb_show(const char *path) {
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        int r = open_verified(path, &s);
        if (r < 0)
                return -r;
        json_auto_t *j = image_set_to_json(s);
        if (!j)
                return EXIT_SYSTEM;
        if (arg_json) {
                if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                        return EXIT_SYSTEM;
                putchar('\n');
                return 0;
        }
        json_t *p = json_object_get(j, "provenance");
        printf("set         %s %s\nid          %s\nformat      %d\nsignature   %s\n", image_set_name(s),
               image_set_version(s), image_set_id(s), IMAGE_SET_FORMAT_VERSION,
               image_signature_state_to_string(image_set_signature_state(s)));
        printf("created     %s by %s\nsource      %s\n", json_string_value(json_object_get(p, "created")),
               json_string_value(json_object_get(p, "tool")), json_string_value(json_object_get(p, "source")));
        for (size_t i = 0; i < image_set_n_entries(s); i++) {
                const ImageSetEntry *e = image_set_entry(s, i);
                printf("hardware    %s\n", e->hw_name);
                printf("  app         %s, %llu bytes, sha256 %s\n", e->app.file, (unsigned long long) e->app.size,
                       e->app.sha256);
                printf("  firmware    %u.%02u%s%.0u, name \"%s\", needs bootloader generation %u, uploaded %s\n",
                       e->app.major, e->app.minor, e->app.test_build ? " test build " : "", e->app.test_build,
                       e->app.fw_name, e->app.min_bootloader, e->app.major >= 6 ? "compressed" : "plain");
                if (e->has_bootloader)
                        printf("  bootloader  %s, %llu bytes, generation %u, sha256 %s\n", e->bootloader.file,
                               (unsigned long long) e->bootloader.size, e->bootloader.generation,
                               e->bootloader.sha256);
                else
                        printf("  bootloader  none\n");
        }
        return 0;
}

static int verb_sign(const char *path) {
        _cleanup_free_ char *err = NULL;
        uint8_t sk[IMAGE_ED25519_SK_LEN], sig[IMAGE_ED25519_SIG_LEN];
        if (!arg_key) {
                fprintf(stderr, "vescfw sign: --key SECRET_KEY_FILE is required\n");
                return EXIT_USAGE;
        }
        int r = image_secret_key_load(arg_key, sk, &err);
        if (r < 0)
                return fail(r, err, arg_key);
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        r = open_verified(path, &s);
        if (r < 0) {
                sodium_memzero(sk, sizeof sk);
                return -r;
        }
        const uint8_t *m;
        size_t mlen;
        image_set_manifest_bytes(s, &m, &mlen);
        r = image_sign(m, mlen, sk, sig);
        sodium_memzero(sk, sizeof sk);
        if (r < 0)
                return fail(r, NULL, "signing");

        if (image_set_is_directory(s)) {
                /* Temp file + rename inside the set directory. */
                _cleanup_free_ char *tmp = NULL, *dst = NULL;
                if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", path, IMAGE_SET_SIGNATURE) < 0 ||
                    asprintf(&dst, "%s/%s", path, IMAGE_SET_SIGNATURE) < 0)
                        return EXIT_SYSTEM;
                int fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0)
                        return fail(-errno, NULL, path);
                bool ok = write(fd, sig, sizeof sig) == (ssize_t) sizeof sig && fchmod(fd, 0644) == 0 &&
                          fsync(fd) == 0;
                r = ok ? 0 : -errno;
                close(fd);
                if (r == 0 && rename(tmp, dst) < 0)
                        r = -errno;
                if (r < 0) {
                        (void) unlink(tmp);
                        return fail(r, NULL, dst);
                }
        } else {
                r = image_set_set_signature(s, sig);
                if (r >= 0)
                        r = image_set_write_tar(s, path, &err);
                if (r < 0)
                        return fail(r, err, path);
        }
        printf("%s: signed set %s (id %s)\n", path, image_set_name(s), image_set_id(s));
        return 0;
}

static int write_key_file(const char *path, const char *prefix, const uint8_t *key, size_t n, mode_t mode) {
        char hex[2 * IMAGE_ED25519_SK_LEN + 1];
        sodium_bin2hex(hex, sizeof hex, key, n);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                return -errno;
        }
        fprintf(f, "%s %s\n", prefix, hex);
        sodium_memzero(hex, sizeof hex);
        if (fclose(f) != 0) {
                (void) unlink(path);
                return -EIO;
        }
        return 0;
}

static int verb_keygen(void) {
        uint8_t pk[IMAGE_ED25519_PK_LEN], sk[IMAGE_ED25519_SK_LEN];
        if (!arg_output) {
                fprintf(stderr, "vescfw keygen: --output BASENAME is required (writes BASENAME.key and .pub)\n");
                return EXIT_USAGE;
        }
        _cleanup_free_ char *kp = NULL, *pp = NULL;
        if (asprintf(&kp, "%s.key", arg_output) < 0 || asprintf(&pp, "%s.pub", arg_output) < 0)
                return EXIT_SYSTEM;
        if (access(kp, F_OK) == 0 || access(pp, F_OK) == 0) {
                fprintf(stderr, "vescfw keygen: %s or %s exists, refusing to overwrite\n", kp, pp);
                return EXIT_INVALID;
        }
        int r = image_keypair_generate(pk, sk);
        if (r < 0)
                return fail(r, NULL, "keygen");
        r = write_key_file(kp, "ed25519-secret", sk, sizeof sk, 0600);
        sodium_memzero(sk, sizeof sk);
        if (r < 0)
                return fail(r, NULL, kp);
        r = write_key_file(pp, "ed25519", pk, sizeof pk, 0644);
        if (r < 0) {
                (void) unlink(kp);
                return fail(r, NULL, pp);
        }
        printf("%s: secret key (keep it private)\n%s: public key (give it to vescfw verify --key / vescd)\n", kp,
               pp);
        return 0;
}

static int verb_pack(const char *path) {
        _cleanup_free_ char *err = NULL;
        if (!arg_output) {
                fprintf(stderr, "vescfw pack: --output DIR|FILE.tar is required\n");
                return EXIT_USAGE;
        }
        _cleanup_(image_set_freep) ImageSet *s = NULL;
        int r = open_verified(path, &s);
        if (r < 0)
                return -r;
        r = write_set(s, arg_output, &err);
        if (r < 0)
                return fail(r, err, arg_output);
        printf("%s: set %s %s, id %s\n", arg_output, image_set_name(s), image_set_version(s), image_set_id(s));
        return 0;
}

static void help(void) {
        printf("usage: vescfw build --name NAME --version VERSION --output DIR|FILE.tar\n"
               "                    (--app HW=FILE [--bootloader HW=FILE] ... | --tree DIR)\n"
               "                    [--source TEXT] [--firmware-version M.N] [--test-build N]\n"
               "                    [--firmware-name NAME] [--min-bootloader G] [--bootloader-generation G]\n"
               "       vescfw verify [--key PUBFILE]... [--trust FILE] [--require-signed] SET\n"
               "       vescfw show [--json] [--key PUBFILE]... SET\n"
               "       vescfw sign --key SECRETFILE SET\n"
               "       vescfw keygen --output BASENAME\n"
               "       vescfw pack --output DIR|FILE.tar SET\n"
               "SET is an image-set directory or a .tar archive.  See vescfw(1).\n");
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_APP = 0x100, ARG_BOOTLOADER, ARG_TREE, ARG_NAME, ARG_VERSION, ARG_SOURCE, ARG_FWVER,
                ARG_TEST, ARG_FWNAME, ARG_MINBL, ARG_BLGEN, ARG_TRUST, ARG_REQUIRE, ARG_JSON,
        };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { "key", required_argument, NULL, 'k' },
                { "app", required_argument, NULL, ARG_APP },
                { "bootloader", required_argument, NULL, ARG_BOOTLOADER },
                { "tree", required_argument, NULL, ARG_TREE },
                { "name", required_argument, NULL, ARG_NAME },
                { "version", required_argument, NULL, ARG_VERSION },
                { "source", required_argument, NULL, ARG_SOURCE },
                { "firmware-version", required_argument, NULL, ARG_FWVER },
                { "test-build", required_argument, NULL, ARG_TEST },
                { "firmware-name", required_argument, NULL, ARG_FWNAME },
                { "min-bootloader", required_argument, NULL, ARG_MINBL },
                { "bootloader-generation", required_argument, NULL, ARG_BLGEN },
                { "trust", required_argument, NULL, ARG_TRUST },
                { "require-signed", no_argument, NULL, ARG_REQUIRE },
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        _cleanup_free_ char *err = NULL;
        int c, r;

        /* Keys are applied after parsing: sign takes a secret key. */
        while ((c = getopt_long(argc, argv, "ho:k:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'o': arg_output = optarg; break;
                case 'k': arg_key = optarg; break;
                case ARG_APP:
                case ARG_BOOTLOADER:
                        if (add_input(optarg, c == ARG_BOOTLOADER) < 0)
                                return -EXIT_USAGE;
                        break;
                case ARG_TREE: arg_tree = optarg; break;
                case ARG_NAME: arg_name = optarg; break;
                case ARG_VERSION: arg_version = optarg; break;
                case ARG_SOURCE: arg_source = optarg; break;
                case ARG_FWVER:
                        if (parse_version(optarg, &arg_fw_major, &arg_fw_minor) < 0) {
                                fprintf(stderr, "vescfw: --firmware-version '%s': expected MAJOR.MINOR\n", optarg);
                                return -EXIT_USAGE;
                        }
                        break;
                case ARG_TEST:
                case ARG_MINBL:
                case ARG_BLGEN: {
                        char *end;
                        long v = strtol(optarg, &end, 10);
                        long max = c == ARG_TEST ? 255 : 2;
                        if (!*optarg || *end || v < (c == ARG_TEST ? 0 : 1) || v > max) {
                                fprintf(stderr, "vescfw: '%s': expected a number up to %ld\n", optarg, max);
                                return -EXIT_USAGE;
                        }
                        *(c == ARG_TEST ? &arg_test_build : c == ARG_MINBL ? &arg_min_bl : &arg_bl_gen) = (int) v;
                        break;
                }
                case ARG_FWNAME: arg_fw_name = optarg; break;
                case ARG_TRUST:
                        r = image_trust_load(&arg_trust, optarg, &err);
                        if (r < 0) {
                                fprintf(stderr, "vescfw: %s\n", err ?: strerror(-r));
                                return -exit_for(r);
                        }
                        break;
                case ARG_REQUIRE: arg_require_signed = true; break;
                case ARG_JSON: arg_json = true; break;
                default:
                        return -EXIT_USAGE;
                }
        }
        return 1;
}

int main(int argc, char **argv) {
        int r, ret;

        if (argc < 2 || argv[1][0] == '-') {
                if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                        help();
                        return 0;
                }
                help();
                return EXIT_USAGE;
        }
        const char *verb = argv[1];
        r = parse_argv(argc - 1, argv + 1);
        if (r <= 0) {
                ret = -r;
                goto finish;
        }
        int nargs = argc - 1 - optind;
        char **args = argv + 1 + optind;
        bool needs_set = strcmp(verb, "verify") == 0 || strcmp(verb, "show") == 0 || strcmp(verb, "sign") == 0 ||
                         strcmp(verb, "pack") == 0;
        if ((needs_set && nargs != 1) || (!needs_set && nargs != 0)) {
                fprintf(stderr, "vescfw %s: %s\n", verb,
                        needs_set ? "expected exactly one SET argument" : "unexpected arguments");
                ret = EXIT_USAGE;
                goto finish;
        }

        if (arg_key && strcmp(verb, "sign") != 0) {
                _cleanup_free_ char *err = NULL;
                r = image_trust_load(&arg_trust, arg_key, &err);
                if (r < 0) {
                        fprintf(stderr, "vescfw: %s\n", err ?: strerror(-r));
                        ret = exit_for(r);
                        goto finish;
                }
        }
        if (arg_require_signed)
                arg_trust.require_signed = true;

        if (strcmp(verb, "build") == 0)
                ret = verb_build();
        else if (strcmp(verb, "verify") == 0)
                ret = verb_verify(args[0]);
        else if (strcmp(verb, "show") == 0)
                ret = verb_show(args[0]);
        else if (strcmp(verb, "sign") == 0)
                ret = verb_sign(args[0]);
        else if (strcmp(verb, "keygen") == 0)
                ret = verb_keygen();
        else if (strcmp(verb, "pack") == 0)
                ret = verb_pack(args[0]);
        else {
                fprintf(stderr, "vescfw: unknown command '%s'\n", verb);
                help();
                ret = EXIT_USAGE;
        }
finish:
        inputs_free();
        image_trust_done(&arg_trust);
        return ret;
}
