/* Installed image sets under <state>/imagesets/: one directory per set id,
 * written through image_set_write_dir() (temporary sibling + rename, so a
 * set is either fully there or absent), and two symbolic links, "current"
 * and "previous", replaced atomically (new link + rename).  vescd always
 * keeps the previous set so a failed or unwanted update can be rolled back.
 * Pure file operations: no logging, no D-Bus. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imagestore.h"
#include "macro.h"
#include "strv.h"

struct ImageStore {
        char *path; /* <state>/imagesets */
        int dirfd;
};

_printf_(3, 4) static int store_error(char **ret_error, int r, const char *fmt, ...) {
        if (ret_error) {
                va_list ap;
                free(*ret_error);
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/**
 * image_set_id_is_valid() - is this a well-formed set id?
 * @id: string
 *
 * Return: true for exactly 16 lower-case hex digits.
 */
bool image_set_id_is_valid(const char *id) {
        if (!id || strlen(id) != IMAGE_SET_ID_LEN)
                return false;
        for (size_t i = 0; i < IMAGE_SET_ID_LEN; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return false;
        return true;
}

/**
 * image_store_open() - open the store of a state directory
 * @state_dir: vescd's state directory (must exist)
 * @ret: on success, the store (free with image_store_free())
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Creates <state_dir>/imagesets (mode 0755) when missing.
 *
 * Return: 0 or -errno.
 */
int image_store_open(const char *state_dir, ImageStore **ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/imagesets", state_dir) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return store_error(ret_error, -errno, "%s: cannot create: %m", path);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return store_error(ret_error, -errno, "%s: cannot open: %m", path);
        ImageStore *st = calloc(1, sizeof *st);
        if (!st) {
                safe_close(fd);
                return -ENOMEM;
        }
        st->path = TAKE_PTR(path);
        st->dirfd = fd;
        *ret = st;
        return 0;
}

/**
 * image_store_free() - close a store
 * @st: the store (may be NULL)
 *
 * Return: NULL.
 */
ImageStore *image_store_free(ImageStore *st) {
        if (!st)
                return NULL;
        safe_close(st->dirfd);
        free(st->path);
        free(st);
        return NULL;
}

/** image_store_path() - the store's directory, <state>/imagesets */
const char *image_store_path(const ImageStore *st) {
        return st->path;
}

static int read_link(ImageStore *st, const char *name, char **ret_id) {
        char buf[64];
        ssize_t k = readlinkat(st->dirfd, name, buf, sizeof buf - 1);
        if (k < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        buf[k] = 0;
        if (!image_set_id_is_valid(buf))
                return -ENOENT; /* a foreign link: treat as unset */
        char *id = strdup(buf);
        if (!id)
                return -ENOMEM;
        *ret_id = id;
        return 0;
}

/* Point name at id, atomically (id NULL removes the link). */
static int write_link(ImageStore *st, const char *name, const char *id) {
        if (!id) {
                if (unlinkat(st->dirfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        char tmp[64];
        for (unsigned i = 0;; i++) {
                snprintf(tmp, sizeof tmp, ".%s.tmp-%d-%u", name, (int) getpid(), i);
                if (symlinkat(id, st->dirfd, tmp) == 0)
                        break;
                if (errno != EEXIST || i > 100)
                        return -errno;
        }
        if (renameat(st->dirfd, tmp, st->dirfd, name) < 0) {
                int r = -errno;
                (void) unlinkat(st->dirfd, tmp, 0);
                return r;
        }
        (void) fsync(st->dirfd);
        return 0;
}

/** image_store_get_current() - id of the current set (-ENOENT none) */
int image_store_get_current(ImageStore *st, char **ret_id) {
        return read_link(st, "current", ret_id);
}

/** image_store_get_previous() - id of the previous set (-ENOENT none) */
int image_store_get_previous(ImageStore *st, char **ret_id) {
        return read_link(st, "previous", ret_id);
}

static bool installed(ImageStore *st, const char *id) {
        struct stat s;
        return fstatat(st->dirfd, id, &s, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(s.st_mode);
}

/**
 * image_store_set_current() - make an installed set current
 * @st: the store
 * @id: installed set id
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * The old current (if different) becomes previous.
 *
 * Return: 0, -EINVAL bad id, -ENOENT not installed, other -errno.
 */
int image_store_set_current(ImageStore *st, const char *id, char **ret_error) {
        if (!image_set_id_is_valid(id))
                return store_error(ret_error, -EINVAL, "'%s': not a set id (16 hex digits)", id ? id : "");
        if (!installed(st, id))
                return store_error(ret_error, -ENOENT, "set %s: not installed", id);
        _cleanup_free_ char *cur = NULL;
        int r = image_store_get_current(st, &cur);
        if (r < 0 && r != -ENOENT)
                return store_error(ret_error, r, "current: %s", strerror(-r));
        if (cur && strcmp(cur, id) == 0)
                return 0;
        if (cur && (r = write_link(st, "previous", cur)) < 0)
                return store_error(ret_error, r, "previous: cannot update: %s", strerror(-r));
        if ((r = write_link(st, "current", id)) < 0)
                return store_error(ret_error, r, "current: cannot update: %s", strerror(-r));
        return 0;
}

/**
 * image_store_rollback() - swap current and previous
 * @st: the store
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0, -ENOENT when no previous set is recorded or installed.
 */
int image_store_rollback(ImageStore *st, char **ret_error) {
        _cleanup_free_ char *prev = NULL;
        int r = image_store_get_previous(st, &prev);
        if (r < 0)
                return store_error(ret_error, r, "no previous set to roll back to");
        return image_store_set_current(st, prev, ret_error);
}

/**
 * image_store_strv_free() - free a list from image_store_list()
 * @v: the list (may be NULL)
 */
void image_store_strv_free(char **v) {
        strv_free(v);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/**
 * image_store_list() - installed set ids
 * @st: the store
 * @ret_ids: on success, a sorted NULL-terminated array (free with
 *           image_store_strv_free())
 *
 * Return: 0 or -errno.
 */
int image_store_list(ImageStore *st, char ***ret_ids) {
        DIR *d = image_opendir_at(st->dirfd, ".", 0);
        if (!d)
                return -errno;
        char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *de;
        int r = v ? 0 : -ENOMEM;
        while (r == 0 && (de = readdir(d))) {
                if (!image_set_id_is_valid(de->d_name) || !installed(st, de->d_name))
                        continue;
                char **nv = reallocarray(v, n + 2, sizeof(char *));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n] = strdup(de->d_name);
                if (!v[n]) {
                        r = -ENOMEM;
                        break;
                }
                v[++n] = NULL;
        }
        closedir(d);
        if (r < 0) {
                image_store_strv_free(v);
                return r;
        }
        qsort(v, n, sizeof(char *), cmp_str);
        *ret_ids = v;
        return 0;
}

/**
 * image_store_get() - open an installed set
 * @st: the store
 * @id: set id
 * @ret: on success, the set (free with image_set_free())
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * The set is opened, not re-verified; call image_set_verify() before use.
 *
 * Return: 0, -EINVAL bad id, -ENOENT not installed, other -errno.
 */
int image_store_get(ImageStore *st, const char *id, ImageSet **ret, char **ret_error) {
        if (!image_set_id_is_valid(id))
                return store_error(ret_error, -EINVAL, "'%s': not a set id (16 hex digits)", id ? id : "");
        if (!installed(st, id))
                return store_error(ret_error, -ENOENT, "set %s: not installed", id);
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", st->path, id) < 0)
                return -ENOMEM;
        return image_set_open_path(path, ret, ret_error);
}

/**
 * image_store_remove() - remove an installed set
 * @st: the store
 * @id: set id
 * @force: also remove the current set
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0, -EBUSY (current, without force), -ENOENT, -EINVAL, -errno.
 */
int image_store_remove(ImageStore *st, const char *id, bool force, char **ret_error) {
        if (!image_set_id_is_valid(id))
                return store_error(ret_error, -EINVAL, "'%s': not a set id (16 hex digits)", id ? id : "");
        if (!installed(st, id))
                return store_error(ret_error, -ENOENT, "set %s: not installed", id);
        _cleanup_free_ char *cur = NULL, *prev = NULL;
        (void) image_store_get_current(st, &cur);
        (void) image_store_get_previous(st, &prev);
        if (cur && strcmp(cur, id) == 0) {
                if (!force)
                        return store_error(ret_error, -EBUSY, "set %s: is the current set", id);
                (void) write_link(st, "current", NULL);
        }
        if (prev && strcmp(prev, id) == 0)
                (void) write_link(st, "previous", NULL);

        /* Rename first so a crash mid-removal never leaves a half set under
         * a valid id. */
        char tmp[64];
        snprintf(tmp, sizeof tmp, ".%s.rm-%d", id, (int) getpid());
        if (renameat(st->dirfd, id, st->dirfd, tmp) < 0)
                return store_error(ret_error, -errno, "set %s: cannot remove: %m", id);
        int r = image_rm_rf(st->dirfd, tmp);
        if (r < 0)
                return store_error(ret_error, r, "set %s: removal incomplete: %s", id, strerror(-r));
        return 0;
}

typedef struct Installed {
        char *id;
        struct timespec mtime;
} Installed;

static int cmp_newest_first(const void *a, const void *b) {
        const Installed *x = a, *y = b;
        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec > y->mtime.tv_sec ? -1 : 1;
        if (x->mtime.tv_nsec != y->mtime.tv_nsec)
                return x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : 1;
        return strcmp(x->id, y->id);
}

static bool in_strv(const char *const *v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static int removed_add(char ***v, size_t *n, const char *id) {
        char **nv = realloc(*v, (*n + 2) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(id);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

static int prune(ImageStore *st, const char *keep_id, unsigned keep, const char *const *protect, char ***ret_removed) {
        char **ids = NULL;
        int r = image_store_list(st, &ids);
        if (r < 0)
                return r;
        _cleanup_free_ char *cur = NULL, *prev = NULL;
        (void) image_store_get_current(st, &cur);
        (void) image_store_get_previous(st, &prev);

        size_t n = 0;
        while (ids[n])
                n++;
        Installed *v = calloc(n ? n : 1, sizeof *v);
        if (!v) {
                image_store_strv_free(ids);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct stat s = {};
                (void) fstatat(st->dirfd, ids[i], &s, AT_SYMLINK_NOFOLLOW);
                v[i] = (Installed){ .id = ids[i], .mtime = s.st_mtim };
        }
        qsort(v, n, sizeof *v, cmp_newest_first);

        /* The protected ones (current, previous, this one, those a caller
         * names: sets of running jobs) count against keep first; of the
         * others the newest stay, the oldest go. */
        size_t kept = 0, n_removed = 0;
        char **removed = NULL;
        for (size_t i = 0; i < n; i++)
                if ((cur && strcmp(v[i].id, cur) == 0) || (prev && strcmp(v[i].id, prev) == 0) ||
                    strcmp(v[i].id, keep_id) == 0 || in_strv(protect, v[i].id))
                        kept++;
        for (size_t i = 0; i < n; i++) {
                const char *id = v[i].id;
                if ((cur && strcmp(id, cur) == 0) || (prev && strcmp(id, prev) == 0) || strcmp(id, keep_id) == 0 ||
                    in_strv(protect, id))
                        continue;
                if (kept < keep) {
                        kept++;
                        continue;
                }
                int k = image_store_remove(st, id, false, NULL);
                if (k >= 0 && ret_removed)
                        k = removed_add(&removed, &n_removed, id);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (ret_removed)
                *ret_removed = removed;
        else
                image_store_strv_free(removed);
        free(v);
        image_store_strv_free(ids);
        return r;
}

/**
 * image_store_install() - install a set
 * @st: the store
 * @set: the set (verified here against @trust)
 * @trust: accepted keys / "require signed"; NULL for none
 * @make_current: mark it current (the old current becomes previous)
 * @keep: sets to keep in all (< 2: IMAGE_STORE_KEEP_DEFAULT); current,
 *        previous and this set are never pruned
 * @protect: NULL-terminated ids never pruned either (sets of running jobs); may be NULL
 * @ret_id: optional, the installed id (caller frees)
 * @ret_removed: optional, NULL or a NULL-terminated list of the pruned ids
 *        (free with image_store_strv_free())
 * @ret_error: on failure, a message (caller frees); may be NULL
 *
 * Return: 0 when newly installed, 1 when that id was already installed
 * (files untouched), or -errno.
 */
int image_store_install(ImageStore *st, ImageSet *set, const ImageTrust *trust, bool make_current, unsigned keep,
                        const char *const *protect, char **ret_id, char ***ret_removed, char **ret_error) {
        const char *id = image_set_id(set);
        bool existed;
        if (ret_removed)
                *ret_removed = NULL;
        int r = image_set_verify(set, trust, ret_error);
        if (r < 0)
                return r;

        existed = installed(st, id);
        if (!existed) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", st->path, id) < 0)
                        return -ENOMEM;
                r = image_set_write_dir(set, path, ret_error);
                if (r < 0)
                        return r;
                /* Pruning goes by mtime: stamp it with the precise clock (the
                 * file system's is coarse) so quick installs keep their order. */
                struct timespec ts[2];
                if (clock_gettime(CLOCK_REALTIME, &ts[0]) == 0) {
                        ts[1] = ts[0];
                        (void) utimensat(st->dirfd, id, ts, AT_SYMLINK_NOFOLLOW);
                }
        }
        if (make_current) {
                r = image_store_set_current(st, id, ret_error);
                if (r < 0)
                        return r;
        }
        r = prune(st, id, keep < 2 ? IMAGE_STORE_KEEP_DEFAULT : keep, protect, ret_removed);
        if (r < 0)
                return store_error(ret_error, r, "pruning old sets failed: %s", strerror(-r));
        if (ret_id) {
                *ret_id = strdup(id);
                if (!*ret_id)
                        return -ENOMEM;
        }
        return existed ? 1 : 0;
}
