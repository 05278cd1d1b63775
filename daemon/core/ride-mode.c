/* Ride modes (DESIGN.md "Decisions of 2026-12" item 10) and reading the
 * runtime limits back.
 *
 * A mode (mode-NAME in vescd.conf, config.h RideMode) sets all runtime
 * limits of COMM_SET_MCCONF_TEMP: the ones it names, by value or as a
 * fraction of the controller's configured value, and the configured value
 * for the others, so that switching modes never leaves a limit of the
 * previous one behind.  The configured values (the MCCONF's l_* by name)
 * are read when a mode is first applied after the controller started and
 * kept until it starts again: the firmware reports the runtime values in
 * its MCCONF once a mode changed them, so a second read would compound.
 *
 * The active mode's name is kept in STATE_DIRECTORY/ride-mode and applied
 * to a controller whenever it starts (NOTIFY_BOOT) or comes back online,
 * once it is identified and no exclusive hold (a firmware job, a write) is
 * on it. */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/daemon-private.h"
#include "core/log.h"
#include "core/operations.h"
#include "macro.h"

/* A failed application is tried again after this (nominal), up to
 * RIDE_MODE_ATTEMPTS times; a boot starts over. */
#define RIDE_MODE_RETRY_USEC (5 * USEC_PER_SEC)
#define RIDE_MODE_ATTEMPTS 3

/* The MCCONF parameter each runtime limit is the runtime copy of. */
static const char *const conf_names[_LIMIT_MAX] = {
        [LIMIT_CURRENT_MIN_SCALE] = "l_current_min_scale",
        [LIMIT_CURRENT_MAX_SCALE] = "l_current_max_scale",
        [LIMIT_MIN_ERPM] = "l_min_erpm",
        [LIMIT_MAX_ERPM] = "l_max_erpm",
        [LIMIT_MIN_DUTY] = "l_min_duty",
        [LIMIT_MAX_DUTY] = "l_max_duty",
        [LIMIT_WATT_MIN] = "l_watt_min",
        [LIMIT_WATT_MAX] = "l_watt_max",
        [LIMIT_IN_CURRENT_MIN] = "l_in_current_min",
        [LIMIT_IN_CURRENT_MAX] = "l_in_current_max",
};

/* ------------------------------------------------------------ state file */

static int mode_save(Daemon *d) {
        _cleanup_free_ char *tmp = NULL;
        FILE *f;
        int r = 0;

        if (!d->ride_mode_path)
                return 0;
        if (!d->ride_mode[0]) {
                if (unlink(d->ride_mode_path) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        if (asprintf(&tmp, "%s.tmp", d->ride_mode_path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        if (fprintf(f, "%s\n", d->ride_mode) < 0)
                r = -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, d->ride_mode_path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int mode_set_name(Daemon *d, const char *name) {
        char *n = strdup(name);

        if (!n)
                return -ENOMEM;
        free(d->ride_mode);
        d->ride_mode = n;
        d->manager_dirty |= DAEMON_CHANGED_RIDE_MODE;
        daemon_model_changed(d);
        return 0;
}

/**
 * ride_mode_load() - the persisted active mode
 * @d: the daemon, its configuration set
 *
 * A mode that the configuration no longer has is dropped with a warning.
 *
 * Returns: 0 or -ENOMEM.
 */
int ride_mode_load(Daemon *d) {
        char buf[RIDE_MODE_NAME_MAX + 4] = "";
        FILE *f;

        d->ride_mode = strdup("");
        if (!d->ride_mode)
                return -ENOMEM;
        if (!d->config->state_dir)
                return 0;
        if (asprintf(&d->ride_mode_path, "%s/ride-mode", d->config->state_dir) < 0) {
                d->ride_mode_path = NULL;
                return -ENOMEM;
        }
        f = fopen(d->ride_mode_path, "re");
        if (!f) {
                if (errno != ENOENT)
                        log_warning_errno(-errno, "Cannot read %s: %m; no ride mode", d->ride_mode_path);
                return 0;
        }
        if (!fgets(buf, sizeof buf, f))
                buf[0] = 0;
        fclose(f);
        buf[strcspn(buf, "\n")] = 0;
        if (!buf[0])
                return 0;
        if (!config_find_ride_mode(d->config, buf)) {
                log_warning("Ride mode '%s' (%s) is not defined in the configuration (mode-%s): no ride mode", buf,
                            d->ride_mode_path, buf);
                return 0;
        }
        log_info("Ride mode: %s", buf);
        /* nothing to announce yet: the daemon is being built */
        free(d->ride_mode);
        d->ride_mode = strdup(buf);
        return d->ride_mode ? 0 : -ENOMEM;
}

void ride_mode_free(Daemon *d) {
        free(d->ride_mode);
        free(d->ride_mode_path);
        d->ride_mode = d->ride_mode_path = NULL;
}

const char *daemon_ride_mode(const Daemon *d) {
        return d->ride_mode ? d->ride_mode : "";
}

/* ---------------------------------------------------------- application */

/* A SetRideMode call waiting for its controllers. */
typedef struct RideCall {
        Daemon *d;
        DaemonRideModeFn done;
        void *userdata;
        unsigned n_left;
        int error;
        char *message;
} RideCall;

/* One controller's application. */
typedef struct RideApply {
        Daemon *d;
        char uuid[CONTROLLER_UUID_STR_LEN + 1];
        RideCall *call;
} RideApply;

static void call_finish(evutil_socket_t fd, short what, void *userdata) {
        RideCall *call = userdata;

        call->done(call->userdata, call->error, call->message);
        free(call->message);
        free(call);
}

static void call_defer(RideCall *call) {
        static const struct timeval now = { 0, 0 };

        if (event_base_once(call->d->base, -1, EV_TIMEOUT, call_finish, call, &now) < 0)
                call_finish(-1, 0, call);
}

static void call_one_done(RideCall *call, int error, const char *message) {
        if (!call)
                return;
        if (error < 0 && call->error >= 0) {
                call->error = error;
                call->message = message ? strdup(message) : NULL;
        }
        if (--call->n_left == 0)
                call_finish(-1, 0, call);
}

static Ctl *apply_ctl(RideApply *a) {
        Controller *c = daemon_find_uuid(a->d, a->uuid);

        return c ? daemon_ctl(a->d, c) : NULL;
}

/* The end of one controller's application. */
static void apply_end(RideApply *a, int error, const char *what) {
        Ctl *ctl = apply_ctl(a);
        _cleanup_free_ char *message = NULL;

        if (ctl) {
                ctl->mode_running = false;
                if (error >= 0) {
                        ctl->mode_pending = false;
                        ctl->mode_failures = 0;
                        log_ctl_info(&ctl->c, "ride mode %s applied", a->d->ride_mode);
                } else if (error != -ECANCELED && error != -EBUSY) {
                        ctl->mode_failures++;
                        ctl->mode_next_usec = daemon_now() + daemon_scaled(a->d, RIDE_MODE_RETRY_USEC);
                        if (ctl->mode_failures >= RIDE_MODE_ATTEMPTS)
                                ctl->mode_pending = false;
                }
        }
        if (error < 0 && error != -ECANCELED) {
                if (asprintf(&message, "controller %s: ride mode %s not applied: %s%s%s", a->uuid, a->d->ride_mode,
                             what ? what : "", what ? ": " : "", strerror(-error)) < 0)
                        message = NULL;
                if (ctl)
                        log_ctl_warning(&ctl->c, "%s", message ? message : "ride mode not applied");
        }
        call_one_done(a->call, error, message);
        free(a);
}

static void apply_written(void *userdata, int error) {
        apply_end(userdata, error, error < 0 ? "writing the limits" : NULL);
}

/* The limits of the mode over the configured values of ctl. */
static void mode_limits(const RideMode *m, const Ctl *ctl, Limits *ret) {
        const Controller *c = &ctl->c;
        bool in_current = c->fw_major >= 5;

        *ret = (Limits) { .set = 0xFFu | (in_current ? 3u << LIMIT_IN_CURRENT_MIN : 0) };
        for (unsigned i = 0; i < _LIMIT_MAX; i++) {
                double v = ctl->mode_base[i];
                if (m->set & (1u << i))
                        v = m->value[i];
                else if (m->scaled & (1u << i))
                        v = v * m->value[i];
                ret->value[i] = v;
        }
}

static void apply_write(RideApply *a) {
        Ctl *ctl = apply_ctl(a);
        const RideMode *m = config_find_ride_mode(a->d->config, a->d->ride_mode);
        Limits l;
        int r;

        if (!ctl) {
                apply_end(a, -ENODEV, NULL);
                return;
        }
        if (!m) {
                /* the mode went away meanwhile (reload) */
                apply_end(a, 0, NULL);
                return;
        }
        mode_limits(m, ctl, &l);
        for (unsigned i = 0; i < _LIMIT_MAX; i++)
                if ((l.set & (1u << i)) && limit_check((LimitField) i, l.value[i]) < 0) {
                        _cleanup_free_ char *what = NULL;
                        if (asprintf(&what, "%s would be %g, outside its range", limit_field_to_string((LimitField) i),
                                     l.value[i]) < 0)
                                what = NULL;
                        apply_end(a, -EINVAL, what);
                        return;
                }
        r = op_set_limits(a->d, &ctl->c, &l, apply_written, a);
        if (r < 0)
                apply_end(a, r, r == -EBUSY ? op_busy_text(a->d) : "writing the limits");
}

static void on_apply_write(evutil_socket_t fd, short what, void *userdata) {
        apply_write(userdata);
}

static void apply_write_later(RideApply *a) {
        static const struct timeval now = { 0, 0 };

        if (event_base_once(a->d->base, -1, EV_TIMEOUT, on_apply_write, a, &now) < 0)
                apply_end(a, -ENOMEM, NULL);
}

/* The configured limits from the MCCONF by name. */
static int base_from_config(json_t *result, double base[static _LIMIT_MAX]) {
        json_t *params = json_object_get(result, "params");

        for (unsigned i = 0; i < _LIMIT_MAX; i++) {
                json_t *v = json_object_get(params, conf_names[i]);
                if (!json_is_number(v))
                        return -EOPNOTSUPP;
                base[i] = json_number_value(v);
        }
        return 0;
}

static void apply_config_read(void *userdata, int error, const char *message, json_t *result) {
        RideApply *a = userdata;
        Ctl *ctl = apply_ctl(a);

        if (error < 0) {
                apply_end(a, error, message ? message : "reading the configured limits");
                return;
        }
        if (!ctl) {
                apply_end(a, -ENODEV, NULL);
                return;
        }
        if (base_from_config(result, ctl->mode_base) < 0) {
                apply_end(a, -EOPNOTSUPP, "the configuration has no runtime limits by name");
                return;
        }
        ctl->has_mode_base = true;
        /* the read still holds the controller until it returns */
        apply_write_later(a);
}

/* Start applying the active mode to ctl.  -EBUSY etc. from the start. */
static int apply_start(Daemon *d, Ctl *ctl, RideCall *call) {
        RideApply *a = calloc(1, sizeof *a);
        int r;

        if (!a)
                return -ENOMEM;
        a->d = d;
        a->call = call;
        memcpy(a->uuid, ctl->c.uuid_str, sizeof a->uuid);
        ctl->mode_running = true;
        if (ctl->has_mode_base) {
                /* completes from the loop like any operation */
                r = 0;
                apply_write(a);
                return r;
        }
        r = op_get_config(d, &ctl->c, CONFIG_MCCONF, apply_config_read, a);
        if (r < 0) {
                ctl->mode_running = false;
                free(a);
        }
        return r;
}

static bool ctl_applicable(const Ctl *ctl) {
        return ctl->exported && ctl->c.has_identity && ctl->c.online && !ctl->id_stale;
}

/**
 * daemon_set_ride_mode() - choose the active ride mode
 * See daemon.h.
 */
int daemon_set_ride_mode(Daemon *d, const char *name, DaemonRideModeFn done, void *userdata, char **ret_error) {
        RideCall *call;
        int r;

        if (!name)
                return -EINVAL;
        if (name[0] && !config_find_ride_mode(d->config, name)) {
                _cleanup_free_ char *list = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&list, &len);

                if (f) {
                        for (size_t i = 0; i < d->config->n_modes; i++)
                                fprintf(f, "%s%s", i ? ", " : "", d->config->modes[i].name);
                        fclose(f);
                }
                if (ret_error && asprintf(ret_error, "no ride mode '%s' in the configuration (modes: %s)", name,
                                          list && list[0] ? list : "none defined") < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        if (!d->requests)
                return -ECANCELED;
        /* refused before anything changes while a controller is held */
        for (size_t i = 0; name[0] && i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];
                _cleanup_free_ char *text = NULL;

                if (!ctl_applicable(ctl))
                        continue;
                if (ctl->mode_running) {
                        if (ret_error && asprintf(ret_error, "%s is being written (ride mode)", ctl->c.uuid_str) < 0)
                                *ret_error = NULL;
                        return -EBUSY;
                }
                r = hold_check(d->holds, ctl->c.uuid, HOLD_EXCLUSIVE, false, &text);
                if (r < 0) {
                        if (ret_error) {
                                *ret_error = TAKE_PTR(text);
                        }
                        return r;
                }
        }

        call = calloc(1, sizeof *call);
        if (!call)
                return -ENOMEM;
        *call = (RideCall) { .d = d, .done = done, .userdata = userdata, .n_left = 1 };
        if (strcmp(name, d->ride_mode) != 0) {
                r = mode_set_name(d, name);
                if (r < 0) {
                        free(call);
                        return r;
                }
                r = mode_save(d);
                if (r < 0)
                        log_warning_errno(r, "Cannot save the ride mode to %s: %m", d->ride_mode_path);
        }
        log_notice("Ride mode: %s", name[0] ? name : "none");

        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];

                ctl->mode_failures = 0;
                ctl->mode_pending = name[0] != 0 && ctl->c.has_identity;
                if (!name[0] || !ctl_applicable(ctl))
                        continue;
                call->n_left++;
                r = apply_start(d, ctl, call);
                if (r < 0) {
                        _cleanup_free_ char *message = NULL;
                        if (asprintf(&message, "controller %s: ride mode %s not applied: %s", ctl->c.uuid_str, name,
                                     r == -EBUSY ? op_busy_text(d) : strerror(-r)) < 0)
                                message = NULL;
                        call_one_done(call, r, message);
                }
        }
        /* the call's own count: it completes from the loop */
        if (--call->n_left == 0)
                call_defer(call);
        return 0;
}

/**
 * ride_mode_tick() - apply the active mode where it is due
 * @d: the daemon
 * @now: daemon_now()
 *
 * A controller that came (back) online starts afresh: its configured
 * limits are read again and the mode applied; so after a NOTIFY_BOOT.
 */
void ride_mode_tick(Daemon *d, uint64_t now) {
        for (size_t i = 0; i < d->n_ctls; i++) {
                Ctl *ctl = d->ctls[i];

                if (!ctl->c.has_identity || ctl->id_stale)
                        continue;
                if (!ctl->c.online) {
                        ctl->mode_seen_online = false;
                        continue;
                }
                if (!ctl->mode_seen_online) {
                        ctl->mode_seen_online = true;
                        ride_mode_restarted(d, ctl, 0);
                }
                if (!d->ride_mode[0]) {
                        ctl->mode_pending = false;
                        continue;
                }
                if (!ctl->mode_pending || ctl->mode_running || !ctl->exported || ctl->identify_pending ||
                    now < ctl->mode_next_usec || hold_table_exclusive(d->holds, ctl->c.uuid))
                        continue;
                if (apply_start(d, ctl, NULL) < 0)
                        ctl->mode_next_usec = now + daemon_scaled(d, RIDE_MODE_RETRY_USEC);
        }
}

/**
 * ride_mode_restarted() - a controller starts afresh (boot, back online)
 * @d: the daemon
 * @ctl: the controller
 * @delay_usec: apply the mode no sooner than this (nominal) from now
 *
 * Its runtime limits are the configured ones again: forget what vescd set
 * and the configured values read, and apply the mode once it can.
 */
void ride_mode_restarted(Daemon *d, Ctl *ctl, uint64_t delay_usec) {
        ctl->has_mode_base = false;
        ctl->limits_mask = 0;
        ctl->mode_failures = 0;
        ctl->mode_next_usec = delay_usec ? daemon_now() + daemon_scaled(d, delay_usec) : 0;
        ctl->mode_pending = d->ride_mode && d->ride_mode[0];
}

/**
 * ride_mode_reloaded() - the configuration was swapped in
 * @d: the daemon
 *
 * A mode no longer defined is dropped; a defined one is applied again (its
 * limits may have changed).
 */
void ride_mode_reloaded(Daemon *d) {
        if (!d->ride_mode || !d->ride_mode[0])
                return;
        if (!config_find_ride_mode(d->config, d->ride_mode)) {
                log_warning("Ride mode '%s' is no longer defined in the configuration: no ride mode", d->ride_mode);
                if (mode_set_name(d, "") >= 0)
                        (void) mode_save(d);
                return;
        }
        for (size_t i = 0; i < d->n_ctls; i++) {
                d->ctls[i]->mode_pending = d->ctls[i]->c.has_identity;
                d->ctls[i]->mode_failures = 0;
        }
}

/* ---------------------------------------------------------------- limits */

typedef struct LimitsCall {
        Daemon *d;
        char uuid[CONTROLLER_UUID_STR_LEN + 1];
        DaemonLimitsFn done;
        void *userdata;
} LimitsCall;

static json_t *limits_json(const double v[static _LIMIT_MAX], uint32_t mask, const char *source) {
        json_t *o = json_object();

        for (unsigned i = 0; o && i < _LIMIT_MAX; i++)
                if (mask & (1u << i))
                        json_object_set_new(o, limit_field_to_string((LimitField) i), json_real(v[i]));
        if (o)
                json_object_set_new(o, "source", json_string(source));
        return o;
}

static void limits_finish(LimitsCall *lc, int error, const char *message, json_t *result) {
        lc->done(lc->userdata, error, message, result);
        json_decref(result);
        free(lc);
}

static void limits_read(void *userdata, int error, const Limits *l) {
        LimitsCall *lc = userdata;

        if (error < 0) {
                limits_finish(lc, error, NULL, NULL);
                return;
        }
        json_t *o = limits_json(l->value, l->set, "controller");
        limits_finish(lc, o ? 0 : -ENOMEM, NULL, o);
}

static void limits_config_read(void *userdata, int error, const char *message, json_t *result) {
        LimitsCall *lc = userdata;
        Controller *c = daemon_find_uuid(lc->d, lc->uuid);
        Ctl *ctl = c ? daemon_ctl(lc->d, c) : NULL;
        double v[_LIMIT_MAX];
        uint32_t mask = 0xFFu | (c && c->fw_major >= 5 ? 3u << LIMIT_IN_CURRENT_MIN : 0);
        bool ours = false;
        json_t *o;

        if (error < 0) {
                limits_finish(lc, error, message, NULL);
                return;
        }
        if (base_from_config(result, v) < 0) {
                limits_finish(lc, -EOPNOTSUPP, "the configuration has no runtime limits by name", NULL);
                return;
        }
        /* what vescd set since the controller started is in force */
        for (unsigned i = 0; ctl && i < _LIMIT_MAX; i++)
                if (ctl->limits_mask & (1u << i)) {
                        v[i] = ctl->limits[i];
                        ours = true;
                }
        o = limits_json(v, mask, ours ? "vescd" : "configuration");
        limits_finish(lc, o ? 0 : -ENOMEM, NULL, o);
}

/**
 * daemon_get_limits() - the runtime limits of a controller
 * See daemon.h.
 */
int daemon_get_limits(Daemon *d, Controller *c, DaemonLimitsFn done, void *userdata) {
        LimitsCall *lc = calloc(1, sizeof *lc);
        int r;

        if (!lc)
                return -ENOMEM;
        *lc = (LimitsCall) { .d = d, .done = done, .userdata = userdata };
        memcpy(lc->uuid, c->uuid_str, sizeof lc->uuid);
        r = op_get_limits(d, c, limits_read, lc);
        if (r == -EOPNOTSUPP)
                r = op_get_config(d, c, CONFIG_MCCONF, limits_config_read, lc);
        if (r < 0)
                free(lc);
        return r;
}
