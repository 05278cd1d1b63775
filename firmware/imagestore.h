/* The store of installed image sets under vescd's state directory:
 * <state>/imagesets/<id>/ holds one verified set (as a directory), and the
 * symbolic links <state>/imagesets/current and .../previous name the set
 * the controllers run and the one to roll back to.  Plain file operations,
 * no D-Bus; errors as -errno plus an optional malloc'd message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "imageset.h"

typedef struct ImageStore ImageStore;

#define IMAGE_STORE_KEEP_DEFAULT 4u

/* Open (creating <state_dir>/imagesets if needed). */
int image_store_open(const char *state_dir, ImageStore **ret, char **ret_error);
ImageStore *image_store_free(ImageStore *st);
const char *image_store_path(const ImageStore *st);

/* Verify @set against @trust and install it as <id>/ (atomic; an already
 * installed id is kept as is).  With make_current the old current becomes
 * previous.  Then prunes: current, previous, this set and the ids in
 * @protect (NULL-terminated, may be NULL) always stay, plus the most
 * recently installed others up to @keep sets in all (keep < 2 means
 * IMAGE_STORE_KEEP_DEFAULT).  *ret_id (optional) gets the id, *ret_removed
 * (optional) NULL or the pruned ids (free with image_store_strv_free()). */
int image_store_install(ImageStore *st, ImageSet *set, const ImageTrust *trust, bool make_current, unsigned keep,
                        const char *const *protect, char **ret_id, char ***ret_removed, char **ret_error);
/* Sorted, NULL-terminated list of installed ids (free with strv-style loop
 * or image_store_strv_free()). */
int image_store_list(ImageStore *st, char ***ret_ids);
void image_store_strv_free(char **v);
/* Remove an installed set; -EBUSY for the current set unless force
 * (a removed previous/current link is dropped too); -ENOENT unknown. */
int image_store_remove(ImageStore *st, const char *id, bool force, char **ret_error);
/* Open an installed set by id (-ENOENT unknown, -EINVAL malformed id). */
int image_store_get(ImageStore *st, const char *id, ImageSet **ret, char **ret_error);
/* Ids of the current / previous set; -ENOENT when none. */
int image_store_get_current(ImageStore *st, char **ret_id);
int image_store_get_previous(ImageStore *st, char **ret_id);
/* Make an installed set current; the old current becomes previous. */
int image_store_set_current(ImageStore *st, const char *id, char **ret_error);
/* Swap current and previous (-ENOENT when there is no previous). */
int image_store_rollback(ImageStore *st, char **ret_error);

bool image_set_id_is_valid(const char *id);

static inline void image_store_freep(ImageStore **st) {
        if (*st)
                image_store_free(*st);
}
