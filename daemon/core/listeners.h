/* Subscriptions to an object's events: (callbacks, userdata) pairs in the
 * order they were added.  The daemon's DaemonListener list and the
 * firmware manager's FwManagerListener list are both one of these. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct Listener {
        const void *callbacks;  /* the owner's listener struct (borrowed) */
        void *userdata;
} Listener;

typedef struct ListenerList {
        Listener *v;
        size_t n;
} ListenerList;

/* Returns: 0 or -ENOMEM. */
static inline int listener_list_add(ListenerList *list, const void *callbacks, void *userdata) {
        Listener *a = realloc(list->v, (list->n + 1) * sizeof *a);

        if (!a)
                return -ENOMEM;
        list->v = a;
        list->v[list->n++] = (Listener) { callbacks, userdata };
        return 0;
}

/* Removes the first entry of exactly this pair, if any. */
static inline void listener_list_remove(ListenerList *list, const void *callbacks, void *userdata) {
        for (size_t i = 0; i < list->n; i++)
                if (list->v[i].callbacks == callbacks && list->v[i].userdata == userdata) {
                        memmove(list->v + i, list->v + i + 1, (list->n - i - 1) * sizeof *list->v);
                        list->n--;
                        return;
                }
}

static inline void listener_list_done(ListenerList *list) {
        free(list->v);
        list->v = NULL;
        list->n = 0;
}

/* Calls member(userdata, ...) of every listener whose callbacks (of
 * struct type @type) have it, in order. */
#define LISTENER_LIST_EMIT(list, type, member, ...)                                     \
        do {                                                                            \
                for (size_t _i = 0; _i < (list)->n; _i++) {                             \
                        const type *_cb = (list)->v[_i].callbacks;                      \
                        if (_cb->member)                                                \
                                _cb->member((list)->v[_i].userdata, ##__VA_ARGS__);     \
                }                                                                       \
        } while (0)
