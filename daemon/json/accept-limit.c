/* libevent's listener accepts until accept() says EAGAIN.  A peer that
 * connects as fast as we accept (a connect/close loop) kept it there for up
 * to a second, every other client's request (and the bus) waiting behind
 * it.  After ACCEPTS_PER_WAKEUP connections in one wake-up, the listeners
 * pause until the events already pending have run: the first connection of
 * a wake-up queues the resume event behind them, and libevent leaves its
 * accept loop when the callback disabled the listener.
 *
 * The JSON socket counts in its accept callback; the HTTP listener, whose
 * evhttp has no accept hook, in the bufferevent factory evhttp calls for
 * each new connection (it does not say which listener: all pause). */
#include <errno.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "json/accept-limit.h"

static void on_resume(evutil_socket_t fd, short what, void *userdata) {
        AcceptLimit *a = userdata;

        if (a->accepts >= ACCEPTS_PER_WAKEUP)
                for (size_t i = 0; i < a->n_listeners; i++)
                        (void) evconnlistener_enable(a->listeners[i]);
        a->accepts = 0;
}

/**
 * accept_limit_init() - an empty set of listeners, nothing counted
 * @a: the limit (embedded in its server)
 * @base: the loop the listeners run in
 *
 * Returns: 0 or -ENOMEM.
 */
int accept_limit_init(AcceptLimit *a, struct event_base *base) {
        *a = (AcceptLimit) {};
        a->resume = event_new(base, -1, 0, on_resume, a);
        return a->resume ? 0 : -ENOMEM;
}

/**
 * accept_limit_add() - count a listener's connections in the limit
 * @a: the limit
 * @l: the listener (its owner frees it, after accept_limit_done() or never
 *     while the loop runs)
 *
 * Returns: 0, or -ENOBUFS when ACCEPT_LIMIT_LISTENERS_MAX are counted.
 */
int accept_limit_add(AcceptLimit *a, struct evconnlistener *l) {
        if (a->n_listeners >= ACCEPT_LIMIT_LISTENERS_MAX)
                return -ENOBUFS;
        a->listeners[a->n_listeners++] = l;
        return 0;
}

/**
 * accept_limit_count() - one connection taken in this loop iteration
 * @a: the limit
 * @l: the listener that took it, disabled at the limit; NULL: disable all
 */
void accept_limit_count(AcceptLimit *a, struct evconnlistener *l) {
        if (a->accepts++ == 0)
                event_active(a->resume, EV_TIMEOUT, 0);
        if (a->accepts < ACCEPTS_PER_WAKEUP)
                return;
        if (l)
                (void) evconnlistener_disable(l);
        else
                for (size_t i = 0; i < a->n_listeners; i++)
                        (void) evconnlistener_disable(a->listeners[i]);
}

/**
 * accept_limit_done() - free the resume event
 * @a: the limit (initialised or zeroed)
 */
void accept_limit_done(AcceptLimit *a) {
        if (a->resume)
                event_free(a->resume);
        a->resume = NULL;
}
