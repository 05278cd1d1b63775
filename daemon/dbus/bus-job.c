/* org.vescd1.Job at /org/vescd1/job/<n> (a fallback vtable with a node
 * enumerator, like the controllers), and the firmware members of
 * org.vescd1.Manager (image sets, starting jobs, history, Jobs).  Pure
 * translation: the work is in update-manager.c and update-driver.c. */
#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus/bus.h"
#include "core/daemon.h"
#include "update/update-manager.h"
#include "core/log.h"
#include "macro.h"
#include "core/render.h"

#define BUS_JOB_PREFIX "/org/vescd1/job"
#define BUS_JOB_INTERFACE "org.vescd1.Job"

static FwManager *manager_of(Bus *b) {
        return bus_firmware(b);
}

static FwJob *job_from_path(Bus *b, const char *path) {
        FwManager *m = manager_of(b);
        const char *p;
        char *end;
        unsigned long n;

        if (!m || strncmp(path, BUS_JOB_PREFIX "/", strlen(BUS_JOB_PREFIX) + 1) != 0)
                return NULL;
        p = path + strlen(BUS_JOB_PREFIX) + 1;
        if (*p < '1' || *p > '9')
                return NULL;
        errno = 0;
        n = strtoul(p, &end, 10);
        if (errno || *end || n > UINT32_MAX)
                return NULL;
        return fw_manager_find_job(m, (unsigned) n);
}

/* ------------------------------------------------------------ Job object */

static int job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                    sd_bus_error *error) {
        FwJob *j = job_from_path(userdata, path);

        if (!j)
                return 0;
        *found = j;
        return 1;
}

_Static_assert(FW_JOB_PATH_MAX <= BUS_OBJECT_PATH_MAX, "job paths fit bus path buffers");

static void job_path(const void *items, size_t i, char *buf) {
        FwJob *const *jobs = items;
        fw_job_path(jobs[i], buf);
}

/* The i-th side's controller object of a job. */
static void side_path(const void *items, size_t i, char *buf) {
        snprintf(buf, BUS_OBJECT_PATH_MAX, BUS_CONTROLLER_PREFIX "/%s", fw_job_side_uuid(items, i));
}

static int job_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        FwManager *m = manager_of(userdata);
        FwJob *const *jobs;
        size_t n = m ? fw_manager_jobs(m, &jobs) : 0;
        int r;

        r = bus_path_strv(n ? jobs : NULL, n, job_path, nodes);
        return r < 0 ? r : 1;
}

static int job_get_id(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                      void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", fw_job_id(userdata));
}

static int job_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FwJob *j = userdata;
        const char *v = "";

        if (strcmp(property, "Kind") == 0)
                v = fw_job_kind(j);
        else if (strcmp(property, "ImageSet") == 0)
                v = fw_job_set_id(j);
        else if (strcmp(property, "State") == 0)
                v = fw_job_state_to_string(fw_job_state(j));
        else if (strcmp(property, "Phase") == 0)
                v = fw_phase_to_string(fw_job_phase(j));
        return sd_bus_message_append(reply, "s", v ? v : "");
}

static int job_get_phases(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FwJob *j = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < fw_job_n_sides(j); i++) {
                const char *ph = fw_phase_to_string(fw_job_side_phase(j, i));
                r = sd_bus_message_append(reply, "{ss}", fw_job_side_uuid(j, i), ph ? ph : "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int job_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FwProgressInfo p = fw_job_progress(userdata);

        if (strcmp(property, "Progress") == 0)
                return sd_bus_message_append(reply, "u", p.percent);
        if (strcmp(property, "BytesDone") == 0)
                return sd_bus_message_append(reply, "t", p.bytes_done);
        if (strcmp(property, "BytesTotal") == 0)
                return sd_bus_message_append(reply, "t", p.bytes_total);
        if (strcmp(property, "EtaSeconds") == 0)
                return sd_bus_message_append(reply, "x",
                                             p.eta_usec == UINT64_MAX ? (int64_t) -1 : (int64_t) (p.eta_usec / USEC_PER_SEC));
        return sd_bus_message_append(reply, "b", p.do_not_power_off);
}

static int job_get_error(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "(ss)", fw_job_error_code(userdata), fw_job_error_text(userdata));
}

static int job_get_report(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *s = NULL;
        json_t *rep = fw_job_report(userdata);

        if (rep) {
                s = json_dumps(rep, JSON_COMPACT);
                if (!s)
                        return -ENOMEM;
        }
        return sd_bus_message_append(reply, "s", s ? s : "");
}

static int job_get_controllers(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FwJob *j = userdata;

        return bus_append_paths(reply, j, fw_job_n_sides(j), side_path);
}

static int job_method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FwJob *j = userdata;
        Bus *b = sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(m)));
        _cleanup_free_ char *text = NULL;
        int r;

        r = fw_manager_cancel_job(bus_firmware(b), j, &text);
        if (r < 0)
                return text ? bus_reply_errno(m, r, "%s", text) : bus_reply_errno(m, r, NULL);
        return sd_bus_reply_method_return(m, NULL);
}

/* The handlers of the Job's methods; their signatures and privileges are
 * the rows of core/methods.c. */
static const BusMethod job_methods[] = {
        { "Cancel", job_method_cancel },
        {}
};

static int job_dispatch(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_method_run("Job", job_methods, m, userdata, error);
}

/* The Job's properties (its methods come from the method table). */
static const sd_bus_vtable job_members[] = {
        SD_BUS_PROPERTY("Id", "u", job_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", job_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ImageSet", "s", job_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Controllers", "ao", job_get_controllers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", job_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Phase", "s", job_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Phases", "a{ss}", job_get_phases, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "u", job_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesDone", "t", job_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesTotal", "t", job_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EtaSeconds", "x", job_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DoNotPowerOff", "b", job_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "(ss)", job_get_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Report", "s", job_get_report, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

/* ------------------------------------------------------ change listener */

static int emit_jobs_changed(Bus *b) {
        return sd_bus_emit_properties_changed(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, "Jobs", NULL);
}

/* A job object came or went: the ObjectManager signal and the Manager's
 * Jobs property. */
static void job_announce(Bus *b, FwJob *j, bool added) {
        char p[FW_JOB_PATH_MAX];

        fw_job_path(j, p);
        if (added)
                (void) sd_bus_emit_object_added(bus_get(b), p);
        else
                (void) sd_bus_emit_object_removed(bus_get(b), p);
        (void) emit_jobs_changed(b);
        bus_schedule_rearm(b);
}

static void on_job_added(void *userdata, FwJob *j) {
        job_announce(userdata, j, true);
}

static void on_job_removed(void *userdata, FwJob *j) {
        job_announce(userdata, j, false);
}

static void on_job_changed(void *userdata, FwJob *j, uint64_t mask) {
        Bus *b = userdata;
        char p[FW_JOB_PATH_MAX];
        const char *names[16];
        size_t n = 0;

        if (mask & FW_JOB_CHANGED_STATE) {
                names[n++] = "State";
                names[n++] = "Error";
                names[n++] = "Report";
        }
        if (mask & (FW_JOB_CHANGED_PHASE | FW_JOB_CHANGED_STATE)) {
                names[n++] = "Phase";
                names[n++] = "Phases";
                names[n++] = "DoNotPowerOff";
        }
        if (mask & (FW_JOB_CHANGED_PROGRESS | FW_JOB_CHANGED_STATE)) {
                names[n++] = "Progress";
                names[n++] = "BytesDone";
                names[n++] = "BytesTotal";
                names[n++] = "EtaSeconds";
        }
        if (n == 0)
                return;
        names[n] = NULL;
        fw_job_path(j, p);
        (void) sd_bus_emit_properties_changed_strv(bus_get(b), p, BUS_JOB_INTERFACE, (char **) names);
        bus_schedule_rearm(b);
}

static void on_set_removed(void *userdata, const char *id, const char *reason) {
        Bus *b = userdata;

        (void) sd_bus_emit_signal(bus_get(b), BUS_PATH, BUS_MANAGER_INTERFACE, "ImageSetRemoved", "ss", id, reason);
        bus_schedule_rearm(b);
}

static const FwManagerListener job_listener = {
        .job_added = on_job_added,
        .job_changed = on_job_changed,
        .job_removed = on_job_removed,
        .set_removed = on_set_removed,
};

/**
 * bus_job_register() - publish the job objects and follow the jobs
 * @b: the adapter
 *
 * Returns: 0 or -errno.
 */
int bus_job_register(Bus *b) {
        sd_bus_vtable *vtable;
        int r;

        if (!manager_of(b))
                return 0;
        r = bus_vtable_new(b, NULL, NULL, job_members, "Job", job_methods, job_dispatch, &vtable);
        if (r < 0)
                return r;
        r = bus_add_fallback(b, BUS_JOB_PREFIX, BUS_JOB_INTERFACE, vtable, job_find, job_enumerate);
        if (r < 0)
                return r;
        return fw_manager_add_listener(manager_of(b), &job_listener, b);
}

/**
 * bus_job_unregister() - stop following the jobs
 * @b: the adapter
 */
void bus_job_unregister(Bus *b) {
        fw_manager_remove_listener(manager_of(b), &job_listener, b);
}

/* ------------------------------------------------------ Manager members */

/**
 * bus_firmware_property_jobs() - Manager.Jobs: the job objects
 *
 * The bus_firmware_method_*() functions below are the Manager's firmware
 * methods (dbus/org.vescd1.Manager.xml, docs/firmware-update-api.md); their
 * rows are in core/methods.c and bus-manager.c lists them as handlers.
 *
 * Returns: 0 or -errno.
 */
int bus_firmware_property_jobs(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FwManager *m = manager_of(userdata);
        FwJob *const *jobs;
        size_t n = m ? fw_manager_jobs(m, &jobs) : 0;

        return bus_append_paths(reply, n ? jobs : NULL, n, job_path);
}

static int reply_json_string(sd_bus_message *m, json_t *o) {
        _cleanup_free_ char *s = NULL;

        if (!o)
                return -ENOMEM;
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!s)
                return -ENOMEM;
        return sd_bus_reply_method_return(m, "s", s);
}

static int reply_refused(sd_bus_message *m, int r, char *text) {
        _cleanup_free_ char *t = text;

        if (!t)
                return bus_reply_errno(m, r, NULL);
        return bus_reply_errno(m, r, "%s", t);
}

static int reply_no_manager(sd_bus_message *m) {
        return bus_reply_errno(m, -EOPNOTSUPP, "%s", fw_manager_unavailable_text());
}

/* The step every privileged firmware method takes once its arguments are
 * read (bus_method_run() checked the caller's rights before): whether
 * firmware management exists.  Returns the manager, or NULL with *ret what
 * the method returns. */
static FwManager *admin_manager(Bus *b, sd_bus_message *m, sd_bus_error *error, int *ret) {
        (void) error;
        *ret = 0;
        if (!manager_of(b)) {
                *ret = reply_no_manager(m);
                return NULL;
        }
        return manager_of(b);
}

/* The reply of the image-set methods: the set id (none when NULL), or the
 * refusal with its text.  Takes err. */
static int reply_set_result(sd_bus_message *m, int r, const char *id, char *err) {
        if (r < 0)
                return reply_refused(m, r, err);
        free(err);
        return id ? sd_bus_reply_method_return(m, "s", id) : sd_bus_reply_method_return(m, NULL);
}

int bus_firmware_method_list_image_sets(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FwManager *fm = manager_of(userdata);

        return fm ? reply_json_string(m, fw_manager_list_sets(fm)) : reply_no_manager(m);
}

int bus_firmware_method_get_history(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FwManager *fm = manager_of(userdata);

        return fm ? reply_json_string(m, fw_manager_history(fm)) : reply_no_manager(m);
}

int bus_firmware_method_install_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        char *err = NULL;
        FwManager *fm;
        int fd, r;

        r = sd_bus_message_read(m, "h", &fd);
        if (r < 0)
                return r;
        fm = admin_manager(userdata, m, error, &r);
        if (!fm)
                return r;
        r = fw_manager_install_fd(fm, fd, &id, &err);
        return reply_set_result(m, r, id, err);
}

int bus_firmware_method_install_image_set_from_path(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        const char *path;
        char *err = NULL;
        FwManager *fm;
        int r;

        r = sd_bus_message_read(m, "s", &path);
        if (r < 0)
                return r;
        if (path[0] != '/')
                return bus_reply_errno(m, -EINVAL, "'%s' is not an absolute path", path);
        fm = admin_manager(userdata, m, error, &r);
        if (!fm)
                return r;
        r = fw_manager_install_path(fm, path, &id, &err);
        return reply_set_result(m, r, id, err);
}

int bus_firmware_method_remove_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *id;
        char *err = NULL;
        FwManager *fm;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        fm = admin_manager(userdata, m, error, &r);
        if (!fm)
                return r;
        r = fw_manager_remove_set(fm, id, &err);
        return reply_set_result(m, r, NULL, err);
}

int bus_firmware_method_rollback_image_set(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        char *err = NULL;
        FwManager *fm;
        int r;

        fm = admin_manager(userdata, m, error, &r);
        if (!fm)
                return r;
        r = fw_manager_rollback(fm, &id, &err);
        return reply_set_result(m, r, id, err);
}

/* a{sv} options of the update methods.  OverrideGates and AllowMismatch
 * are for root only. */
static int read_options(sd_bus_message *m, FwJobOptions *o) {
        static const BusBoolOption options[] = {
                { "OverrideGates", offsetof(FwJobOptions, override_gates) },
                { "SkipCanIdRestore", offsetof(FwJobOptions, skip_can_id_restore) },
                { "AllowMismatch", offsetof(FwJobOptions, allow_mismatch) },
                { "MigrateConfig", offsetof(FwJobOptions, skip_config_migration), .invert = true },
        };

        *o = (FwJobOptions) {};
        return bus_read_bool_options(m, options, ELEMENTSOF(options), o, NULL);
}

/* After admin_manager() allowed the call, so the bus told us the uid. */
static int caller_is_root(Bus *b, sd_bus_message *m) {
        uid_t uid;
        int r = bus_caller_uid(b, m, &uid);

        if (r < 0)
                return r;
        return uid == 0;
}

static int reply_job(sd_bus_message *m, FwJob *j) {
        char p[FW_JOB_PATH_MAX];

        fw_job_path(j, p);
        return sd_bus_reply_method_return(m, "o", p);
}

typedef enum StartKind {
        START_UPDATE,
        START_PAIR,
        START_REPAIR,
        START_BOARD,
} StartKind;

static int method_start(sd_bus_message *m, Bus *b, sd_bus_error *error, StartKind kind) {
        FwManager *fm;
        const char *uuid = NULL, *set_id;
        Controller *c = NULL;
        FwJobOptions o;
        FwJob *j = NULL;
        char *err = NULL;
        int r;

        if (kind == START_UPDATE) {
                r = sd_bus_message_read(m, "ss", &uuid, &set_id);
        } else
                r = sd_bus_message_read(m, "s", &set_id);
        if (r < 0)
                return r;
        r = read_options(m, &o);
        if (r == -ENOKEY)
                return bus_reply_errno(m, -EINVAL,
                                       "unknown option (known: OverrideGates, SkipCanIdRestore, AllowMismatch, MigrateConfig)");
        if (r < 0)
                return bus_reply_errno(m, -EINVAL, "options must be a{sv} of booleans");
        fm = admin_manager(b, m, error, &r);
        if (!fm)
                return r;
        if (o.override_gates || o.allow_mismatch) {
                r = caller_is_root(b, m);
                if (r < 0)
                        return r;
                if (r == 0)
                        return bus_reply_errno(m, -EPERM, "%s is allowed for root only",
                                               o.override_gates ? "OverrideGates" : "AllowMismatch");
        }

        switch (kind) {
        case START_UPDATE:
                r = daemon_find_controller(bus_daemon(b), uuid, &c);
                if (r < 0)
                        return bus_reply_errno(m, r, "no controller '%s'", uuid);
                r = fw_manager_update(fm, c, set_id, &o, &j, &err);
                break;
        case START_PAIR:
                r = fw_manager_update_pair(fm, set_id, &o, &j, &err);
                break;
        case START_REPAIR:
                r = fw_manager_repair(fm, set_id, &o, &j, &err);
                break;
        case START_BOARD:
                r = fw_manager_update_board(fm, set_id, &o, &j, &err);
                break;
        }
        if (r < 0)
                return reply_refused(m, r, err);
        free(err);
        return reply_job(m, j);
}

int bus_firmware_method_update_controller(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_start(m, userdata, error, START_UPDATE);
}

int bus_firmware_method_update_pair(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_start(m, userdata, error, START_PAIR);
}

int bus_firmware_method_repair(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_start(m, userdata, error, START_REPAIR);
}

int bus_firmware_method_update_board(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_start(m, userdata, error, START_BOARD);
}

/* PlanUpdate(s kind, s set_id, as controllers) → s plan_json: anyone. */
int bus_firmware_method_plan_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        char **controllers = NULL;
        _cleanup_free_ char *json = NULL;
        const char *kind, *set_id;
        char *err = NULL;
        FwManager *fm;
        int r;

        r = sd_bus_message_read(m, "ss", &kind, &set_id);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &controllers);
        if (r < 0)
                return r;
        fm = manager_of(userdata);
        if (!fm) {
                for (char **p = controllers; p && *p; p++)
                        free(*p);
                free(controllers);
                return reply_no_manager(m);
        }
        r = fw_manager_plan(fm, kind, set_id, controllers, &json, &err);
        for (char **p = controllers; p && *p; p++)
                free(*p);
        free(controllers);
        if (r < 0)
                return reply_refused(m, r, err);
        free(err);
        return sd_bus_reply_method_return(m, "s", json);
}

/* SetInhibit(b inhibit, s reason): root or admin. */
int bus_firmware_method_set_inhibit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *reason;
        char *err = NULL;
        FwManager *fm;
        int inhibit, r;

        r = sd_bus_message_read(m, "bs", &inhibit, &reason);
        if (r < 0)
                return r;
        fm = admin_manager(userdata, m, error, &r);
        if (!fm)
                return r;
        r = fw_manager_set_inhibit(fm, inhibit, reason, &err);
        return reply_set_result(m, r, NULL, err);
}
