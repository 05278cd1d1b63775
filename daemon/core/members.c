/* Remembered board members, persisted in the state directory.  See members.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/members.h"
#include "macro.h"

static int ensure_list(BoardMembers *m) {
        if (m->uuids)
                return 0;
        m->uuids = calloc(1, sizeof(char *));
        return m->uuids ? 0 : -ENOMEM;
}

static int append(BoardMembers *m, const char *uuid) {
        char **v = realloc(m->uuids, (m->n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        m->uuids = v;
        m->uuids[m->n] = strdup(uuid);
        if (!m->uuids[m->n])
                return -ENOMEM;
        m->uuids[++m->n] = NULL;
        return 0;
}

static int save(const BoardMembers *m) {
        _cleanup_free_ char *tmp = NULL;
        json_t *o, *a;
        int r;

        if (!m->path)
                return 0;
        a = json_array();
        for (size_t i = 0; a && i < m->n; i++)
                json_array_append_new(a, json_string(m->uuids[i]));
        o = a ? json_pack("{s:o}", "members", a) : NULL;
        if (!o)
                return -ENOMEM;
        if (asprintf(&tmp, "%s.tmp", m->path) < 0) {
                json_decref(o);
                return -ENOMEM;
        }
        r = json_dump_file(o, tmp, JSON_INDENT(2));
        json_decref(o);
        if (r < 0) {
                (void) unlink(tmp);
                return -EIO;
        }
        if (rename(tmp, m->path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/**
 * board_members_load() - read the remembered members
 * @m: zero-initialised list
 * @state_dir: the state directory
 *
 * Returns: 0, or -errno (file unreadable or malformed; the list is empty).
 */
int board_members_load(BoardMembers *m, const char *state_dir) {
        json_error_t err;
        json_t *o, *a, *v;
        size_t i;
        int r;

        r = ensure_list(m);
        if (r < 0)
                return r;
        if (!state_dir)
                return 0;
        if (asprintf(&m->path, "%s/board.json", state_dir) < 0) {
                m->path = NULL;
                return -ENOMEM;
        }
        if (access(m->path, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        o = json_load_file(m->path, JSON_REJECT_DUPLICATES, &err);
        if (!o)
                return log_warning_errno(-EBADMSG, "Cannot read %s: %s (line %d), starting with no remembered members",
                                         m->path, err.text, err.line);
        a = json_object_get(o, "members");
        json_array_foreach(a, i, v) {
                const char *u = json_string_value(v);
                if (u && strlen(u) == 24 && !board_members_contains(m, u) && append(m, u) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
        }
        json_decref(o);
        return 0;
}

void board_members_done(BoardMembers *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->uuids[i]);
        free(m->uuids);
        free(m->path);
        *m = (BoardMembers) {};
}

bool board_members_contains(const BoardMembers *m, const char *uuid) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->uuids[i], uuid) == 0)
                        return true;
        return false;
}

int board_members_add(BoardMembers *m, const char *uuid) {
        int r;

        if (board_members_contains(m, uuid))
                return 0;
        r = ensure_list(m);
        if (r < 0)
                return r;
        r = append(m, uuid);
        if (r < 0)
                return r;
        r = save(m);
        if (r < 0)
                log_warning_errno(r, "Cannot save the board's members to %s: %m", m->path);
        return 1;
}

int board_members_forget(BoardMembers *m, const char *uuid) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->uuids[i], uuid) == 0) {
                        free(m->uuids[i]);
                        memmove(m->uuids + i, m->uuids + i + 1, (m->n - i) * sizeof(char *));
                        m->n--;
                        int r = save(m);
                        if (r < 0)
                                log_warning_errno(r, "Cannot save the board's members to %s: %m", m->path);
                        return 1;
                }
        return 0;
}
