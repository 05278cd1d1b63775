/* The JSON socket on the real daemon: JsonServerOps served from the Daemon's model
 * (render.h, the same snapshots the D-Bus adapter serves) and operations
 * (operations.h), and the daemon's change listener turned into server events.
 *
 * Adding a method: a row in json-proto.c's table, then a case in glue_call(). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-json.h"
#include "core/daemon.h"
#include "update/update-manager.h"
#include "json/json-server.h"
#include "core/log.h"
#include "macro.h"
#include "core/operations.h"
#include "core/render.h"

typedef struct JsonGlue {
        Daemon *daemon;
        FwManager *fw;              /* NULL: firmware management unavailable */
        JsonServer *server;
        int slot;                   /* the server's JsonCtl in each controller's adapter slot */
} JsonGlue;

/* The server's state of a controller, kept with the core's record of it. */
static JsonCtl **glue_ctl(JsonGlue *g, Controller *c) {
        return (JsonCtl **) daemon_adapter_data(c, g->slot);
}

/* ---------------------------------------------------------------- shared with daemon/http */

/* The objects both JSON-speaking adapters serve (json-server.h): one
 * rendering each, so /api/... and the socket's answers cannot drift apart. */

/* [controller snapshot, ...] of the identified controllers, by CAN id. */
json_t *json_daemon_controllers(Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);
        json_auto_t *list = json_array();

        if (!list)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(list, render_controller(cs[i])) < 0)
                        return NULL;
        return TAKE_PTR(list);
}

json_t *json_daemon_board(Daemon *d) {
        Controller *const *cs;
        size_t n = daemon_controllers(d, &cs);

        return render_board(daemon_board(d), cs, n);
}

/* {"jobs": [job snapshot, ...]} (job.list) */
json_t *json_daemon_jobs(FwManager *fw) {
        FwJob *const *jobs;
        size_t n = fw_manager_jobs(fw, &jobs);
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, fw_job_to_json(jobs[i]));
        return a ? json_pack("{s:o}", "jobs", a) : NULL;
}

/* {"history": [...]} (job.history) */
json_t *json_daemon_history(FwManager *fw) {
        return json_pack("{s:o}", "history", fw_manager_history(fw));
}

/* {"sets": [...]} (firmware.sets) */
json_t *json_daemon_sets(FwManager *fw) {
        return json_pack("{s:o}", "sets", fw_manager_list_sets(fw));
}

/* ---------------------------------------------------------------- snapshots */

static int glue_list_controllers(void *userdata, json_t **ret) {
        JsonGlue *g = userdata;

        *ret = json_daemon_controllers(g->daemon);
        return *ret ? 0 : -ENOMEM;
}

static int glue_get_controller(void *userdata, const char *uuid, json_t **ret) {
        JsonGlue *g = userdata;
        Controller *c = daemon_find_uuid(g->daemon, uuid);

        if (!c)
                return -ENODEV;
        *ret = render_controller(c);
        return *ret ? 0 : -ENOMEM;
}

static int glue_get_board(void *userdata, json_t **ret) {
        JsonGlue *g = userdata;

        *ret = json_daemon_board(g->daemon);
        return *ret ? 0 : -ENOMEM;
}

static int glue_snapshot_controller(void *userdata, void *ctl, json_t **ret) {
        *ret = render_controller(ctl);
        return *ret ? 0 : -ENOMEM;
}

static JsonCtl *glue_find_controller(void *userdata, const char *uuid) {
        JsonGlue *g = userdata;
        Controller *c = daemon_find_uuid(g->daemon, uuid);

        return c ? *glue_ctl(g, c) : NULL;
}

/* A sample carries every telemetry field (rows of the field table). */
static int glue_get_telemetry(void *userdata, void *ctl, json_t **ret, int *ret_id) {
        Controller *c = ctl;

        *ret = render_telemetry(c, CONTROLLER_DIRTY_TELEMETRY_MASK);
        *ret_id = c->id;
        return *ret ? 0 : -ENOMEM;
}

static int glue_get_job(void *userdata, uint32_t job, json_t **ret) {
        JsonGlue *g = userdata;
        FwManager *m = g->fw;
        FwJob *j = m ? fw_manager_find_job(m, job) : NULL;

        if (!j)
                return -ENOENT;
        *ret = fw_job_to_json(j);
        return *ret ? 0 : -ENOMEM;
}

/* firmware.* and job.*: the same calls as the D-Bus Manager/Job methods
 * (bus-job.c), refusals with the same text (data.detail); the gate
 * override is offered on D-Bus only (root). */
static int glue_firmware(JsonGlue *g, JsonMethod method, json_t *params, JsonCall *call, json_t **ret) {
        FwManager *m = g->fw;
        FwJobOptions o = {
                .skip_can_id_restore = json_is_true(json_object_get(params, "skip_can_id_restore")),
                .allow_mismatch = json_is_true(json_object_get(params, "allow_mismatch")),
                .skip_config_migration = json_is_false(json_object_get(params, "migrate_config")),
        };
        const char *set = json_string_value(json_object_get(params, "set"));
        _cleanup_free_ char *err = NULL, *id = NULL;
        FwJob *j = NULL;
        int r;

        if (!m) {
                json_call_set_detail(call, fw_manager_unavailable_text());
                return -EOPNOTSUPP;
        }
        if (o.allow_mismatch && !json_call_is_root(call)) {
                json_call_set_detail(call, "allow_mismatch is allowed for root only");
                return -EPERM;
        }
        switch (method) {
        case JSON_METHOD_FIRMWARE_SETS:
                *ret = json_daemon_sets(m);
                return *ret ? 0 : -ENOMEM;
        case JSON_METHOD_FIRMWARE_INSTALL: {
                const char *path = json_string_value(json_object_get(params, "path"));
                if (!path || path[0] != '/')
                        return -EINVAL;
                r = fw_manager_install_path(m, path, &id, &err);
                if (r < 0)
                        break;
                *ret = json_pack("{s:s}", "set", id);
                return *ret ? 0 : -ENOMEM;
        }
        case JSON_METHOD_FIRMWARE_REMOVE:
                r = fw_manager_remove_set(m, set, &err);
                if (r < 0)
                        break;
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        case JSON_METHOD_FIRMWARE_ROLLBACK:
                r = fw_manager_rollback(m, &id, &err);
                if (r < 0)
                        break;
                *ret = json_pack("{s:s}", "set", id);
                return *ret ? 0 : -ENOMEM;
        case JSON_METHOD_FIRMWARE_UPDATE: {
                json_t *ctls = json_object_get(params, "controllers");
                Controller *c;
                if (json_array_size(ctls) == 2) {
                        /* both sides together is the pair transaction */
                        r = fw_manager_update_pair(m, set, &o, &j, &err);
                        break;
                }
                if (json_array_size(ctls) != 1)
                        return -EINVAL;
                c = daemon_find_uuid(g->daemon, json_string_value(json_array_get(ctls, 0)));
                if (!c)
                        return -ENODEV;
                r = fw_manager_update(m, c, set, &o, &j, &err);
                break;
        }
        case JSON_METHOD_FIRMWARE_PAIR:
                r = fw_manager_update_pair(m, set, &o, &j, &err);
                break;
        case JSON_METHOD_FIRMWARE_REPAIR:
                r = fw_manager_repair(m, set, &o, &j, &err);
                break;
        case JSON_METHOD_FIRMWARE_BOARD:
                r = fw_manager_update_board(m, set, &o, &j, &err);
                break;
        case JSON_METHOD_FIRMWARE_PLAN: {
                json_t *ctls = json_object_get(params, "controllers");
                _cleanup_free_ char **names = calloc(json_array_size(ctls) + 1, sizeof(char *));
                _cleanup_free_ char *text = NULL;
                if (!names)
                        return -ENOMEM;
                for (size_t i = 0; i < json_array_size(ctls); i++)
                        names[i] = (char *) json_string_value(json_array_get(ctls, i));
                r = fw_manager_plan(m, json_string_value(json_object_get(params, "kind")), set, names, &text, &err);
                if (r < 0)
                        break;
                *ret = json_loads(text, 0, NULL);
                return *ret ? 0 : -ENOMEM;
        }
        case JSON_METHOD_FIRMWARE_INHIBIT: {
                const char *reason = json_string_value(json_object_get(params, "reason"));
                r = fw_manager_set_inhibit(m, json_is_true(json_object_get(params, "inhibit")), reason ? reason : "",
                                           &err);
                if (r < 0)
                        break;
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        case JSON_METHOD_JOB_LIST:
                *ret = json_daemon_jobs(m);
                return *ret ? 0 : -ENOMEM;
        case JSON_METHOD_JOB_HISTORY:
                *ret = json_daemon_history(m);
                return *ret ? 0 : -ENOMEM;
        case JSON_METHOD_JOB_GET:
        case JSON_METHOD_JOB_CANCEL: {
                json_int_t n = json_integer_value(json_object_get(params, "job"));
                j = n > 0 && n <= UINT32_MAX ? fw_manager_find_job(m, (unsigned) n) : NULL;
                if (!j)
                        return -ENOENT;
                r = method == JSON_METHOD_JOB_CANCEL ? fw_manager_cancel_job(m, j, &err) : 0;
                if (r < 0)
                        break;
                *ret = fw_job_to_json(j);
                return *ret ? 0 : -ENOMEM;
        }
        default:
                return -EOPNOTSUPP;
        }
        if (r < 0) {
                if (err) {
                        log_rl_info("JSON %s refused: %s", json_method_to_string(method), err);
                        json_call_set_detail(call, err);
                }
                return r;
        }
        *ret = fw_job_to_json(j);
        return *ret ? 0 : -ENOMEM;
}

static int glue_check_admin(void *userdata, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        JsonGlue *g = userdata;

        return daemon_check_admin(g->daemon, uid, gid, groups, n_groups);
}

/* ---------------------------------------------------------------- operations */

static void done_empty(void *userdata, int error) {
        json_call_complete(userdata, error, NULL);
}

static void done_values(void *userdata, int error, const VescValues *v) {
        json_t *result = NULL;

        if (error >= 0) {
                result = render_values(v);
                if (!result)
                        error = -ENOMEM;
        }
        json_call_complete(userdata, error, result);
}

/* keep_can_id of config.restore / config.copy (default true) */
static OpConfigOptions config_options(json_t *params) {
        OpConfigOptions o = OP_CONFIG_OPTIONS_DEFAULT;
        json_t *v = json_object_get(params, "keep_can_id");

        if (v)
                o.keep_can_id = json_is_true(v);
        return o;
}

static void done_copy(void *userdata, int error, const char *message) {
        if (error < 0)
                json_call_fail(userdata, error, message);
        else
                json_call_complete(userdata, 0, NULL);
}

static void done_compare(void *userdata, int error, char **differences) {
        json_t *result = NULL, *list;

        if (error >= 0) {
                list = json_array();
                for (char **d = differences; list && d && *d; d++)
                        if (json_array_append_new(list, json_string(*d)) < 0) {
                                json_decref(list);
                                list = NULL;
                        }
                result = list ? json_pack("{s:b, s:o}", "equal", json_array_size(list) == 0, "differences", list) : NULL;
                if (!result)
                        error = -ENOMEM;
        }
        json_call_complete(userdata, error, result);
}

/* Configuration by name: the result object (borrowed) or the refusal's text. */
static void done_config(void *userdata, int error, const char *message, json_t *result) {
        if (error < 0)
                json_call_fail(userdata, error, message);
        else
                json_call_complete(userdata, 0, json_incref(result));
}

static void done_ride_mode(void *userdata, int error, const char *message) {
        JsonCall *call = userdata;

        if (error < 0)
                json_call_fail(call, error, message);
        else
                json_call_complete(call, 0, NULL);
}

static ConfigWhich which_param(json_t *params) {
        return config_which_from_string(json_string_value(json_object_get(params, "which")));
}

static int limits_from_params(json_t *params, Limits *ret) {
        const char *key;
        json_t *v;

        *ret = (Limits) {};
        json_object_foreach(params, key, v) {
                LimitField f;

                if (strcmp(key, "store") == 0) {
                        ret->store = json_is_true(v);
                        continue;
                }
                f = limit_field_from_string(key);
                if ((int) f < 0)
                        continue; /* "uuid" */
                if (limit_check(f, json_number_value(v)) < 0)
                        return -EINVAL;
                ret->set |= UINT32_C(1) << f;
                ret->value[f] = json_number_value(v);
        }
        return ret->set ? 0 : -EINVAL;
}

static int find(JsonGlue *g, json_t *params, const char *key, Controller **ret) {
        Controller *c = daemon_find_uuid(g->daemon, json_string_value(json_object_get(params, key)));

        if (!c)
                return -ENODEV;
        *ret = c;
        return 0;
}

/* The two controllers of a compare or a copy. */
static int find_two(JsonGlue *g, json_t *params, const char *key_a, const char *key_b, Controller **ret_a,
                    Controller **ret_b) {
        int r = find(g, params, key_a, ret_a);

        return r < 0 ? r : find(g, params, key_b, ret_b);
}

/* What glue_call() returns for an operation it started: 1 (the reply
 * comes through call), or the start's error; a Busy refusal names the
 * holder (data.detail, the text D-Bus sends too). */
static int started_call(JsonGlue *g, JsonCall *call, int r) {
        if (r == -EBUSY)
                json_call_set_detail(call, op_busy_text(g->daemon));
        return r < 0 ? r : 1;
}
#define started(r) started_call(g, call, (r))

static int glue_call(void *userdata, JsonMethod method, json_t *params, JsonCall *call, json_t **ret) {
        JsonGlue *g = userdata;
        Controller *c, *other;
        Limits limits;
        int r;

        switch (method) {
        case JSON_METHOD_MANAGER_GET:
                *ret = render_manager(g->daemon);
                return *ret ? 0 : -ENOMEM;

        case JSON_METHOD_CONTROLLER_REBOOT:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(op_reboot(g->daemon, c, done_empty, call));

        case JSON_METHOD_LIMITS_SET:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                r = limits_from_params(params, &limits);
                if (r < 0)
                        return r;
                return started(op_set_limits(g->daemon, c, &limits, done_empty, call));

        case JSON_METHOD_LIMITS_GET:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(daemon_get_limits(g->daemon, c, done_config, call));

        case JSON_METHOD_LIMITS_MODE: {
                _cleanup_free_ char *text = NULL;

                r = daemon_set_ride_mode(g->daemon, json_string_value(json_object_get(params, "mode")),
                                         done_ride_mode, call, &text);
                if (r < 0 && text)
                        json_call_set_detail(call, text);
                return r < 0 ? r : 1;
        }

        case JSON_METHOD_CONFIG_BACKUP:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(op_backup_config_file(g->daemon, c, done_config, call));

        case JSON_METHOD_CONFIG_GET:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(op_get_config(g->daemon, c, which_param(params), done_config, call));

        case JSON_METHOD_CONFIG_SET:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(op_set_config(g->daemon, c, which_param(params), json_object_get(params, "params"),
                                             done_config, call));

        case JSON_METHOD_CONFIG_DIFF:
                r = find_two(g, params, "uuid", "other", &c, &other);
                if (r < 0)
                        return r;
                if (c == other) {
                        json_call_set_detail(call, "compare with another controller");
                        return -EINVAL;
                }
                return started(op_diff_config(g->daemon, c, other, which_param(params), done_config, call));

        case JSON_METHOD_CONFIG_RESTORE: {
                _cleanup_free_ uint8_t *mc = NULL, *app = NULL;
                _cleanup_free_ char *text = NULL;
                OpConfigOptions o = config_options(params);
                size_t mc_len = 0, app_len = 0;
                json_t *v;

                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                v = json_object_get(params, "backup");
                if (v) {
                        _cleanup_free_ char *message = NULL;

                        if (json_object_get(params, "mcconf") || json_object_get(params, "appconf")) {
                                json_call_set_detail(call, "give either backup or mcconf/appconf");
                                return -EINVAL;
                        }
                        r = config_json_parse_backup(v, &mc, &mc_len, &app, &app_len, &message);
                        if (r < 0) {
                                json_call_set_detail(call, message);
                                return r;
                        }
                } else {
                        v = json_object_get(params, "mcconf");
                        if (v && json_proto_base64_decode(json_string_value(v), &mc, &mc_len) < 0)
                                return -EINVAL;
                        v = json_object_get(params, "appconf");
                        if (v && json_proto_base64_decode(json_string_value(v), &app, &app_len) < 0)
                                return -EINVAL;
                }
                if (mc_len == 0 && app_len == 0)
                        return -EINVAL;
                /* the operation copies what it keeps before returning */
                r = op_restore_config(g->daemon, c, mc, mc_len, app, app_len, &o, done_empty, call, &text);
                if (r < 0 && text)
                        json_call_set_detail(call, text);
                return started(r);
        }

        case JSON_METHOD_CONFIG_COMPARE:
                r = find_two(g, params, "uuid", "other", &c, &other);
                if (r < 0)
                        return r;
                return started(op_compare_config(g->daemon, c, other, done_compare, call));

        case JSON_METHOD_CONFIG_COPY: {
                _cleanup_free_ char *text = NULL;
                OpConfigOptions o = config_options(params);

                r = find_two(g, params, "from", "to", &c, &other);
                if (r < 0)
                        return r;
                r = op_copy_config(g->daemon, c, other, &o, done_copy, call, &text);
                if (r < 0 && text)
                        json_call_set_detail(call, text);
                return started(r);
        }

        case JSON_METHOD_CONTROLLER_GET_VALUES:
                r = find(g, params, "uuid", &c);
                if (r < 0)
                        return r;
                return started(op_get_values(g->daemon, c, done_values, call));

        case JSON_METHOD_BOARD_FORGET: {
                _cleanup_free_ char *err = NULL;
                r = daemon_forget_controller(g->daemon, json_string_value(json_object_get(params, "uuid")), &err);
                if (r < 0) {
                        if (err)
                                json_call_set_detail(call, err);
                        return r;
                }
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }

        case JSON_METHOD_CONTROLLERS_SCAN:
                r = daemon_scan(g->daemon);
                if (r < 0)
                        return r;
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;

        case JSON_METHOD_FIRMWARE_SETS:
        case JSON_METHOD_FIRMWARE_UPDATE:
        case JSON_METHOD_FIRMWARE_INSTALL:
        case JSON_METHOD_FIRMWARE_REMOVE:
        case JSON_METHOD_FIRMWARE_ROLLBACK:
        case JSON_METHOD_FIRMWARE_PAIR:
        case JSON_METHOD_FIRMWARE_REPAIR:
        case JSON_METHOD_FIRMWARE_BOARD:
        case JSON_METHOD_FIRMWARE_PLAN:
        case JSON_METHOD_FIRMWARE_INHIBIT:
        case JSON_METHOD_JOB_GET:
        case JSON_METHOD_JOB_CANCEL:
        case JSON_METHOD_JOB_LIST:
        case JSON_METHOD_JOB_HISTORY:
                return glue_firmware(g, method, params, call, ret);

        default:
                return -EOPNOTSUPP;
        }
}

/* ---------------------------------------------------------------- daemon events */

/* The core hands every event the controller itself; the server's state of it
 * lives in the controller's adapter slot, from added to removed. */
static void on_controller_added(void *userdata, Controller *c) {
        JsonGlue *g = userdata;
        JsonCtl **h = glue_ctl(g, c);

        if (c->has_identity && !*h)
                *h = json_server_controller_added(g->server, c->uuid_str, c);
}

static void on_controller_removed(void *userdata, Controller *c) {
        JsonGlue *g = userdata;
        JsonCtl **h = glue_ctl(g, c);

        json_server_controller_removed(g->server, *h);
        *h = NULL;
}

static void on_controller_changed(void *userdata, Controller *c, uint64_t mask) {
        JsonGlue *g = userdata;

        /* counters change with every frame; they are read on request only */
        if (mask & CONTROLLER_DIRTY_STATE_MASK)
                json_server_controller_changed(g->server, *glue_ctl(g, c));
}

static void on_telemetry(void *userdata, Controller *c, uint64_t mask, uint64_t time_usec) {
        JsonGlue *g = userdata;

        json_server_telemetry(g->server, *glue_ctl(g, c), time_usec, daemon_wall_usec(time_usec));
}

static double on_watch_rate(void *userdata, const Controller *c) {
        JsonGlue *g = userdata;
        JsonCtl *h = *glue_ctl(g, (Controller *) c);

        return h ? json_server_watch_rate_hz(g->server, h) : 0;
}

static void on_board_changed(void *userdata, const Board *b) {
        JsonGlue *g = userdata;

        json_server_board_changed(g->server);
}

static void on_job(void *userdata, FwJob *j) {
        JsonGlue *g = userdata;

        json_server_job_changed(g->server, fw_job_id(j));
}

static void on_job_changed(void *userdata, FwJob *j, uint64_t mask) {
        on_job(userdata, j);
}

static void on_set_removed(void *userdata, const char *id, const char *reason) {
        JsonGlue *g = userdata;

        json_server_set_removed(g->server, id, reason);
}

static const FwManagerListener json_job_listener = {
        .job_added = on_job,
        .job_changed = on_job_changed,
        .set_removed = on_set_removed,
};

static const DaemonListener json_listener = {
        .controller_added = on_controller_added,
        .controller_removed = on_controller_removed,
        .controller_changed = on_controller_changed,
        /* each watch has its own rate: telemetry-rate-hz is for the D-Bus signal */
        .telemetry_unthrottled = on_telemetry,
        .board_changed = on_board_changed,
        .watch_rate_hz = on_watch_rate,
};

static void glue_detach(void *userdata) {
        JsonGlue *g = userdata;
        Controller *const *cs;
        size_t n = daemon_controllers(g->daemon, &cs);

        /* the server's state of the controllers still there goes with it */
        for (size_t i = 0; i < n; i++) {
                JsonCtl **h = glue_ctl(g, cs[i]);
                *h = json_ctl_free(*h);
        }
        daemon_remove_listener(g->daemon, &json_listener, g);
        fw_manager_remove_listener(g->fw, &json_job_listener, g);
        free(g);
}

/**
 * json_server_new() - start the daemon's JSON socket
 * @d: the daemon (must outlive the server)
 * @cfg: listeners and limits; version and admin group are taken from the daemon
 * @ret: receives the server; json_server_free() also unhooks it from @d
 *
 * Controllers already known are announced to the server, so that watches of "all
 * controllers" include them.  The stall timeout is scaled by --time-scale like the
 * daemon's other timeouts.
 *
 * Return: 0 or -errno (logged by json_server_new_with_ops() where it binds).
 */
int json_server_new(Daemon *d, FwManager *fw, const JsonServerConfig *cfg, JsonServer **ret) {
        static const JsonServerOps ops = {
                .list_controllers = glue_list_controllers,
                .get_controller = glue_get_controller,
                .snapshot_controller = glue_snapshot_controller,
                .find_controller = glue_find_controller,
                .get_board = glue_get_board,
                .get_telemetry = glue_get_telemetry,
                .get_job = glue_get_job,
                .call = glue_call,
                .check_admin = glue_check_admin,
                .detach = glue_detach,
        };
        JsonServerConfig c = *cfg;
        Controller *const *cs;
        JsonGlue *g;
        JsonServer *s;
        size_t n;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->daemon = d;
        g->fw = fw;
        r = daemon_adapter_slot_new(d);
        if (r < 0) {
                free(g);
                return r;
        }
        g->slot = r;

        c.version = c.version ?: PACKAGE_VERSION;
        c.admin_group = c.admin_group ?: daemon_config(d)->admin_group;
        c.stall_timeout_usec = daemon_scaled(d, c.stall_timeout_usec ?: JSON_SERVER_STALL_TIMEOUT_DEFAULT_USEC);
        c.max_clients_per_uid = c.max_clients_per_uid ?: daemon_config(d)->max_clients_per_uid;
        c.line_timeout_usec = c.line_timeout_usec ?: (uint64_t) daemon_config(d)->client_line_timeout_s * USEC_PER_SEC;

        r = json_server_new_with_ops(daemon_event_base(d), &c, &ops, g, &s);
        if (r < 0) {
                free(g); /* ops.detach runs only for a server that was returned */
                return r;
        }
        g->server = s;
        r = daemon_add_listener(d, &json_listener, g);
        if (r >= 0 && fw)
                r = fw_manager_add_listener(fw, &json_job_listener, g);
        if (r < 0) {
                json_server_free(s); /* detach: removing an absent listener is a no-op */
                return r;
        }

        n = daemon_controllers(d, &cs);
        for (size_t i = 0; i < n; i++)
                on_controller_added(g, cs[i]);

        *ret = s;
        return 0;
}
