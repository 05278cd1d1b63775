/* Firmware image sets (docs/image-sets.md): a directory, or the same content
 * as an uncompressed ustar archive, holding manifest.json, an optional
 * detached Ed25519 signature manifest.json.sig, and raw application and
 * bootloader images per hardware name.
 *
 * Every function that can fail on input returns -errno and, when ret_error
 * is not NULL, a malloc'd human-readable message naming the file, the rule,
 * and what was expected and found.  Nothing here logs. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define IMAGE_SET_FORMAT_VERSION 1
#define IMAGE_SET_MANIFEST       "manifest.json"
#define IMAGE_SET_SIGNATURE      "manifest.json.sig"
#define IMAGE_SET_MANIFEST_MAX   (64u * 1024u)  /* bytes */
#define IMAGE_SET_ARCHIVE_MAX    (64u * 1024u * 1024u)
#define IMAGE_SET_ENTRIES_MAX    64u
#define IMAGE_SET_PATH_MAX       99u            /* fits a ustar name field */
#define IMAGE_SET_ID_LEN         16u            /* hex digits */
#define IMAGE_BOOTLOADER_MAX     (128u * 1024u)
#define IMAGE_ED25519_PK_LEN     32u
#define IMAGE_ED25519_SK_LEN     64u
#define IMAGE_ED25519_SIG_LEN    64u

typedef struct ImageSet ImageSet;

typedef struct ImageSetApp {
        char *file;            /* relative path inside the set */
        uint64_t size;
        char sha256[65];       /* lower-case hex */
        uint8_t major, minor, test_build;
        char *fw_name;         /* "" when none */
        uint8_t min_bootloader;
} ImageSetApp;

typedef struct ImageSetBootloader {
        char *file;
        uint64_t size;
        char sha256[65];
        uint8_t generation;
} ImageSetBootloader;

typedef struct ImageSetEntry {
        char *hw_name;
        ImageSetApp app;
        bool has_bootloader;
        ImageSetBootloader bootloader;
} ImageSetEntry;

/* What we know about the signature after image_set_verify(). */
typedef enum ImageSignatureState {
        IMAGE_SIGNATURE_NONE = 0,       /* no manifest.json.sig */
        IMAGE_SIGNATURE_UNCHECKED = 1,  /* present, no trusted key given */
        IMAGE_SIGNATURE_VALID = 2,      /* verified with a trusted key */
        _IMAGE_SIGNATURE_MAX,
} ImageSignatureState;
const char *image_signature_state_to_string(ImageSignatureState s);

/* Accepted public keys and the "require signed" flag. */
typedef struct ImageTrust {
        uint8_t (*keys)[IMAGE_ED25519_PK_LEN];
        size_t n_keys;
        bool require_signed;
} ImageTrust;

/* ---------------------------------------------------------- trust/keys */

/* Trust file: lines "ed25519 <64 hex digits> [comment]" and
 * "require-signed", '#' comments; a public key file is a trust file. */
int image_trust_load(ImageTrust *t, const char *path, char **ret_error);
int image_trust_parse(ImageTrust *t, const char *text, size_t n, const char *origin, char **ret_error);
int image_trust_add_key(ImageTrust *t, const uint8_t pk[static IMAGE_ED25519_PK_LEN]);
void image_trust_done(ImageTrust *t);

int image_keypair_generate(uint8_t pk[static IMAGE_ED25519_PK_LEN], uint8_t sk[static IMAGE_ED25519_SK_LEN]);
/* Secret key file: "ed25519-secret <128 hex digits>". */
int image_secret_key_load(const char *path, uint8_t sk[static IMAGE_ED25519_SK_LEN], char **ret_error);
int image_sign(const uint8_t *msg, size_t n, const uint8_t sk[static IMAGE_ED25519_SK_LEN],
               uint8_t sig[static IMAGE_ED25519_SIG_LEN]);

/* ------------------------------------------------------------ manifest */

/* Pure: parse and check the structure of manifest bytes (types, names,
 * paths, sizes, hw names, version rules).  Used by image_set_open_*() and
 * by the fuzzer.  *ret_entries is an array of *ret_n entries, freed with
 * image_set_entries_free(). */
int image_manifest_parse(const uint8_t *buf, size_t n, json_t **ret_manifest, ImageSetEntry **ret_entries,
                         size_t *ret_n, char **ret_error);
void image_set_entries_free(ImageSetEntry *e, size_t n);

/* Pure: check a raw application image against its manifest entry (size,
 * vector table, descriptor agreement, upload stream size; not the hash). */
int image_check_app(const ImageSetEntry *e, const uint8_t *img, size_t n, char **ret_error);
/* Pure: check a bootloader image (size bound, descriptor agreement). */
int image_check_bootloader(const ImageSetEntry *e, const uint8_t *img, size_t n, char **ret_error);

/* Set id: first 16 hex digits of SHA-256(manifest bytes), into out[17]. */
void image_set_id_from_manifest(const uint8_t *buf, size_t n, char out[static IMAGE_SET_ID_LEN + 1]);

/* ---------------------------------------------------------------- sets */

/* Open a set from a directory or a tar file.  Parses the manifest (and
 * reads the signature if present); image files are read by
 * image_set_verify() and image_set_read_*(). */
int image_set_open_path(const char *path, ImageSet **ret, char **ret_error);
/* Open a set from an fd holding a tar archive (read to EOF from its current
 * position, bounded by IMAGE_SET_ARCHIVE_MAX; the fd is not closed). */
int image_set_open_fd(int fd, ImageSet **ret, char **ret_error);
/* Open a set from a tar archive in memory (copied). */
int image_set_open_tar_buffer(const uint8_t *buf, size_t n, ImageSet **ret, char **ret_error);
ImageSet *image_set_free(ImageSet *s);

/* A set assembled in memory (vescfw build): files copied. */
typedef struct ImageSetFile {
        const char *name;
        const uint8_t *data;
        size_t size;
} ImageSetFile;
int image_set_new_memory(const ImageSetFile *files, size_t n_files, ImageSet **ret, char **ret_error);
/* Attach a detached signature (checked by image_set_verify()). */
int image_set_set_signature(ImageSet *s, const uint8_t sig[static IMAGE_ED25519_SIG_LEN]);
bool image_set_is_directory(const ImageSet *s);

/* Verify everything: each image's size and SHA-256, every image rule, and
 * the signature against trust (NULL = no keys, not required).  Returns 0,
 * or -EBADMSG (bad content), -EPERM (signature rule), -EIO/-ENOENT... */
int image_set_verify(ImageSet *s, const ImageTrust *trust, char **ret_error);

const char *image_set_id(const ImageSet *s);
const char *image_set_name(const ImageSet *s);
const char *image_set_version(const ImageSet *s);
size_t image_set_n_entries(const ImageSet *s);
const ImageSetEntry *image_set_entry(const ImageSet *s, size_t i);
const ImageSetEntry *image_set_find(const ImageSet *s, const char *hw_name);
bool image_set_has_signature(const ImageSet *s);
ImageSignatureState image_set_signature_state(const ImageSet *s);
void image_set_manifest_bytes(const ImageSet *s, const uint8_t **ret, size_t *ret_len);

/* Read an image, checked against the manifest (size + SHA-256; the app
 * also through image_check_app()).  Malloc'd result. */
int image_set_read_app(ImageSet *s, const ImageSetEntry *e, uint8_t **ret, size_t *ret_len, char **ret_error);
int image_set_read_bootloader(ImageSet *s, const ImageSetEntry *e, uint8_t **ret, size_t *ret_len,
                              char **ret_error);
/* Read any file of the set by relative path (bounded), unchecked. */
int image_set_read_file(ImageSet *s, const char *rel, size_t max, uint8_t **ret, size_t *ret_len,
                        char **ret_error);

/* JSON snapshot (new reference): id, name, version, format_version,
 * signature, provenance, hardware[] with app/bootloader fields. */
json_t *image_set_to_json(const ImageSet *s);

/* Write the set's files (manifest, signature, images) as a directory
 * (created; must not exist) or a ustar archive; via temp + rename, nothing
 * left behind on failure.  The set is verified first. */
int image_set_write_dir(ImageSet *s, const char *path, char **ret_error);
int image_set_write_tar(ImageSet *s, const char *path, char **ret_error);

/* ------------------------------------------------------------ helpers */

/* True for a safe relative path: components of [A-Za-z0-9._+-], not "." or
 * "..", no empty components, at most IMAGE_SET_PATH_MAX bytes. */
bool image_path_is_safe(const char *p);
/* True for a usable hw name: 1..32 printable ASCII bytes, no '/' or '\\'. */
bool image_hw_name_is_valid(const char *s);
/* Remove a directory tree below dirfd without following symlinks. */
int image_rm_rf(int dirfd, const char *name);
/* A directory below dirfd opened for reading (@flags: O_NOFOLLOW or 0); NULL, errno set. */
DIR *image_opendir_at(int dirfd, const char *name, int flags);
void image_sha256_hex(const uint8_t *buf, size_t n, char out[static 65]);

static inline void image_set_freep(ImageSet **s) {
        if (*s)
                image_set_free(*s);
}
