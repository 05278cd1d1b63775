/* A bound on the connections a set of listeners takes per loop iteration,
 * shared by the JSON socket and the HTTP listener (see accept-limit.c). */
#pragma once

#include <stddef.h>

struct event_base;
struct event;
struct evconnlistener;

#define ACCEPTS_PER_WAKEUP 16
#define ACCEPT_LIMIT_LISTENERS_MAX 8

typedef struct AcceptLimit {
        struct evconnlistener *listeners[ACCEPT_LIMIT_LISTENERS_MAX];
        size_t n_listeners;
        unsigned accepts;            /* taken since the resume event was queued */
        struct event *resume;        /* ends the count, enables paused listeners */
} AcceptLimit;

/* 0 or -ENOMEM. */
int accept_limit_init(AcceptLimit *a, struct event_base *base);
/* Counts @l's connections in the limit: 0, or -ENOBUFS when the set is full. */
int accept_limit_add(AcceptLimit *a, struct evconnlistener *l);
/* One connection taken; at the limit disables @l, or (NULL) every listener. */
void accept_limit_count(AcceptLimit *a, struct evconnlistener *l);
/* Frees the resume event (the listeners are their owner's). */
void accept_limit_done(AcceptLimit *a);
