/* Job files, history and the JSON codecs of the update modules (see
 * update-store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "update/update-migrate.h"
#include "update/update-store.h"
#include "hex.h"
#include "macro.h"

#define SNAPSHOT_FORMAT 1
#define JOB_FILE_FORMAT 1

static const char *strempty(const char *s) {
        return s ? s : "";
}

/* ---------------------------------------------------------------- files */

/**
 * update_store_write_atomic() - replace a file so that a power cut leaves
 * the old or the new text, never a mix
 * @path: the file
 * @text: its new content
 *
 * Return: 0 or -errno.
 */
int update_store_write_atomic(const char *path, const char *text) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(text), done = 0;

        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (done < n) {
                ssize_t k = write(fd, text + done, n - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        (void) unlink(tmp);
                        return r;
                }
                done += (size_t) k;
        }
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        /* the rename itself must survive a power cut too */
        char *slash = strrchr(tmp, '/');
        if (slash) {
                *slash = 0;
                _cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                        (void) fsync(dfd);
        }
        return 0;
}

/**
 * update_store_mkdir_p() - create a directory and its parents (0755)
 * @dir: the path
 *
 * Return: 0 (also if it exists) or -errno.
 */
int update_store_mkdir_p(const char *dir) {
        _cleanup_free_ char *p = strdup(dir);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* ---------------------------------------------------------------- codecs */

static json_t *hex_json(const uint8_t *p, size_t n) {
        static const char hex[] = "0123456789abcdef";
        _cleanup_free_ char *s = NULL;

        if (!p)
                return json_null();
        s = malloc(2 * n + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                s[2 * i] = hex[p[i] >> 4];
                s[2 * i + 1] = hex[p[i] & 15];
        }
        s[2 * n] = 0;
        return json_string(s);
}

/* Lower-case hex of at most @max bytes; null → NULL. */
static int hex_parse(const json_t *j, size_t max, uint8_t **ret, size_t *ret_len) {
        const char *s = json_string_value(j);
        size_t n;
        uint8_t *p;

        if (!j || json_is_null(j)) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        if (!s || strlen(s) % 2 || strlen(s) == 0 || strlen(s) > 2 * max)
                return -EINVAL;
        n = strlen(s) / 2;
        p = malloc(n);
        if (!p)
                return -ENOMEM;
        if (hex_decode(s, n, /* lower_only= */ true, p) < 0) {
                free(p);
                return -EINVAL;
        }
        *ret = p;
        *ret_len = n;
        return 0;
}

/* Image-set ids are IMAGE_SET_ID_LEN lower-case hex digits. */
static bool set_id_valid(const char *id) {
        if (!id || strlen(id) != IMAGE_SET_ID_LEN)
                return false;
        for (size_t i = 0; i < IMAGE_SET_ID_LEN; i++)
                if (hex_digit_lower(id[i]) < 0)
                        return false;
        return true;
}

static bool uuid_parse(const char *s, uint8_t out[static VESC_UUID_LEN]) {
        if (!s || strlen(s) != 2 * VESC_UUID_LEN)
                return false;
        return hex_decode(s, VESC_UUID_LEN, /* lower_only= */ true, out) == 0;
}

/**
 * update_store_identity_json() - a controller identity as JSON
 * @id: the identity
 *
 * Return: a new object, NULL on ENOMEM.
 */
json_t *update_store_identity_json(const FwIdentity *id) {
        char uuid[2 * VESC_UUID_LEN + 1], v[96];

        fw_uuid_format(id->uuid, uuid);
        fw_version_describe(id->major, id->minor, id->test_build, id->fw_name, v);
        return json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:i}", "uuid", uuid, "version", v, "major", id->major,
                         "minor", id->minor, "test_build", id->test_build, "fw_name", id->fw_name, "hw_name",
                         id->hw_name, "can_id", id->can_id);
}

/**
 * update_store_identity_parse() - the one reader of persisted identities
 * @o: the object
 * @id: filled in
 * @need_uuid: the object must carry "uuid"
 *
 * Return: 0, -EBADMSG (missing field, value out of range, bad UUID, names
 * too long).
 */
int update_store_identity_parse(json_t *o, FwIdentity *id, bool need_uuid) {
        const char *uuid = NULL, *hw = NULL, *fw = NULL;
        int can_id, major, minor, tb;
        FwIdentity n = *id;

        if (json_unpack(o, "{s?s, s:i, s:i, s:i, s:i, s:s, s:s}", "uuid", &uuid, "can_id", &can_id, "major", &major,
                        "minor", &minor, "test_build", &tb, "hw_name", &hw, "fw_name", &fw) < 0)
                return -EBADMSG;
        if ((need_uuid && !uuid) || (uuid && !uuid_parse(uuid, n.uuid)))
                return -EBADMSG;
        if (can_id < 0 || can_id > 254 || major < 0 || major > 255 || minor < 0 || minor > 255 || tb < 0 || tb > 255 ||
            strlen(hw) >= sizeof n.hw_name || strlen(fw) >= sizeof n.fw_name)
                return -EBADMSG;
        n.can_id = (uint8_t) can_id;
        n.major = (uint8_t) major;
        n.minor = (uint8_t) minor;
        n.test_build = (uint8_t) tb;
        snprintf(n.hw_name, sizeof n.hw_name, "%s", hw);
        snprintf(n.fw_name, sizeof n.fw_name, "%s", fw);
        *id = n;
        return 0;
}

static json_t *side_json(const FwSideSnapshot *s) {
        char uuid[2 * VESC_UUID_LEN + 1];

        fw_uuid_format(s->uuid, uuid);
        return json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:i, s:b, s:b, s:b, s:i, s:i, s:o, s:o, s:s, s:s, s:s, s:b, "
                         "s:{s:b, s:b, s:b, s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:s}}",
                         "uuid", uuid, "phase", strempty(fw_phase_to_string(s->phase)), "before",
                         update_store_identity_json(&s->before), "running", update_store_identity_json(&s->running),
                         "target", s->target, "stream_len", (json_int_t) s->stream_len, "stream_crc", s->stream_crc,
                         "bootloader_started", s->bootloader_started, "bootloader_done", s->bootloader_done,
                         "app_erased", s->app_erased, "commits", s->commits, "restages", s->restages, "mcconf",
                         hex_json(s->mcconf, s->mcconf_len), "appconf", hex_json(s->appconf, s->appconf_len), "error",
                         strempty(fw_error_to_string(s->error)), "text", s->text, "redo", s->redo,
                         "can_id_not_restored", s->can_id_not_restored, "gates", "have_telemetry", s->have_telemetry, "motor_stopped", s->motor_stopped, "voltage_ok",
                         s->voltage_ok, "erpm", s->tel.erpm, "current_motor", s->tel.current_motor, "current_in",
                         s->tel.current_in, "v_in", s->tel.v_in, "v_in_min", s->v_in_min, "v_in_max", s->v_in_max,
                         "fault_ok", s->fault_ok, "fault", vesc_fault_to_string(s->tel.fault));
}

/**
 * update_store_snapshot_json() - an engine snapshot as persisted
 * @s: the snapshot
 *
 * Return: a new object, NULL on ENOMEM.
 */
json_t *update_store_snapshot_json(const FwSnapshot *s) {
        json_t *sides = json_array();

        if (!sides)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                if (json_array_append_new(sides, side_json(&s->sides[i])) < 0) {
                        json_decref(sides);
                        return NULL;
                }
        return json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:{s:I, s:I, s:I, s:I, s:i}, s:o}", "format", SNAPSHOT_FORMAT,
                         "state", strempty(fw_job_state_to_string(s->state)), "phase",
                         strempty(fw_phase_to_string(s->phase)), "error", strempty(fw_error_to_string(s->error)),
                         "text", s->text, "resumes", s->resumes, "progress", "units_total",
                         (json_int_t) s->units_total, "units_done", (json_int_t) s->units_done, "bytes_total",
                         (json_int_t) s->bytes_total, "bytes_done", (json_int_t) s->bytes_done, "percent", s->percent,
                         "sides", sides);
}

static int side_parse(json_t *j, FwSideSnapshot *s) {
        json_t *before, *running, *mc, *app;
        const char *uuid, *phase, *error, *text, *redo, *target;
        json_int_t stream_len;
        int stream_crc, bl_started, bl_done, erased, commits, restages, r;

        if (json_unpack(j, "{s:s, s:s, s:o, s:o, s:I, s:i, s:b, s:b, s:b, s:i, s:i, s:o, s:o, s:s, s:s, s:s}", "uuid",
                        &uuid, "phase", &phase, "before", &before, "running", &running, "stream_len", &stream_len,
                        "stream_crc", &stream_crc, "bootloader_started", &bl_started, "bootloader_done", &bl_done,
                        "app_erased", &erased, "commits", &commits, "restages", &restages, "mcconf", &mc, "appconf",
                        &app, "error", &error, "text", &text, "redo", &redo) < 0)
                return -EINVAL;
        if (!uuid_parse(uuid, s->uuid) || (s->phase = fw_phase_from_string(phase)) < 0 || stream_len < 0 ||
            stream_crc < 0 || stream_crc > UINT16_MAX || commits < 0 || restages < 0)
                return -EINVAL;
        memcpy(s->before.uuid, s->uuid, VESC_UUID_LEN);
        memcpy(s->running.uuid, s->uuid, VESC_UUID_LEN);
        if (update_store_identity_parse(before, &s->before, false) < 0 ||
            update_store_identity_parse(running, &s->running, false) < 0)
                return -EINVAL;
        s->stream_len = (uint64_t) stream_len;
        s->stream_crc = (uint16_t) stream_crc;
        s->bootloader_started = bl_started;
        s->bootloader_done = bl_done;
        s->app_erased = erased;
        s->commits = (unsigned) commits;
        s->restages = (unsigned) restages;
        r = hex_parse(mc, 512, &s->mcconf, &s->mcconf_len);
        if (r < 0)
                return r;
        r = hex_parse(app, 512, &s->appconf, &s->appconf_len);
        if (r < 0)
                return r;
        s->error = MAX(fw_error_from_string(error), FW_ERROR_NONE);
        (void) snprintf(s->text, sizeof s->text, "%s", text);
        (void) snprintf(s->redo, sizeof s->redo, "%s", redo);
        /* absent in snapshots of older vescd */
        s->can_id_not_restored = json_is_true(json_object_get(j, "can_id_not_restored"));
        target = json_string_value(json_object_get(j, "target"));
        if (target && strlen(target) >= sizeof s->target)
                return -EINVAL;
        (void) snprintf(s->target, sizeof s->target, "%s", strempty(target));
        return 0;
}

/**
 * update_store_snapshot_parse() - read a persisted engine snapshot
 * @o: the JSON
 * @ret: filled in (update_store_snapshot_done() frees its blobs, also
 *       after a failure)
 *
 * Return: 0, -EINVAL (not a snapshot of this format), -ENOMEM.
 */
int update_store_snapshot_parse(json_t *o, FwSnapshot *ret) {
        json_t *sides, *prog;
        const char *state, *phase, *error, *text;
        json_int_t ut, ud, bt, bd;
        int format, resumes, percent, r;

        *ret = (FwSnapshot) {};
        if (!o ||
            json_unpack(o, "{s:i, s:s, s:s, s:s, s:s, s:i, s:o, s:o}", "format", &format, "state", &state, "phase",
                        &phase, "error", &error, "text", &text, "resumes", &resumes, "progress", &prog, "sides",
                        &sides) < 0 ||
            format != SNAPSHOT_FORMAT || !json_is_array(sides) || json_array_size(sides) < 1 ||
            json_array_size(sides) > FW_SIDES_MAX ||
            json_unpack(prog, "{s:I, s:I, s:I, s:I, s:i}", "units_total", &ut, "units_done", &ud, "bytes_total", &bt,
                        "bytes_done", &bd, "percent", &percent) < 0 ||
            ut < 0 || ud < 0 || bt < 0 || bd < 0 || resumes < 0 || (ret->state = fw_job_state_from_string(state)) < 0)
                return -EINVAL;
        ret->phase = MAX(fw_phase_from_string(phase), FW_PHASE_CHECKING);
        ret->error = MAX(fw_error_from_string(error), FW_ERROR_NONE);
        (void) snprintf(ret->text, sizeof ret->text, "%s", text);
        ret->resumes = (unsigned) resumes;
        ret->units_total = (uint64_t) ut;
        ret->units_done = (uint64_t) ud;
        ret->bytes_total = (uint64_t) bt;
        ret->bytes_done = (uint64_t) bd;
        ret->percent = (unsigned) CLAMP(percent, 0, 100);
        ret->n = json_array_size(sides);
        for (size_t i = 0; i < ret->n; i++) {
                r = side_parse(json_array_get(sides, i), &ret->sides[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/**
 * update_store_snapshot_done() - free the blobs of a parsed snapshot
 * @s: the snapshot
 */
void update_store_snapshot_done(FwSnapshot *s) {
        for (size_t i = 0; i < FW_SIDES_MAX; i++) {
                free(s->sides[i].mcconf);
                free(s->sides[i].appconf);
                s->sides[i].mcconf = s->sides[i].appconf = NULL;
        }
}

static json_t *names_json(const char *const *names, size_t n) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                (void) json_array_append_new(a, json_string(names[i]));
        return a;
}

/* {"mcconf": {"from", "to", "carried", "dropped", "defaulted"}, "appconf": …}
 * of the parts carried across layouts; {} when none was. */
static json_t *migration_json(const FwSideReport *s) {
        static const char *const parts[2] = { "mcconf", "appconf" };
        json_t *o = json_object();

        for (unsigned w = 0; o && w < 2; w++) {
                const FwMigration *m = s->migration[w];
                if (!m)
                        continue;
                (void) json_object_set_new(
                        o, parts[w],
                        json_pack("{s:s, s:s, s:o, s:o, s:o}", "from", m->from, "to", m->to, "carried",
                                  names_json(m->names.carried, m->names.n_carried), "dropped",
                                  names_json(m->names.dropped, m->names.n_dropped), "defaulted",
                                  names_json(m->names.defaulted, m->names.n_defaulted)));
        }
        return o;
}

static json_t *side_report_json(const FwSideReport *s) {
        json_t *erased = json_array();

        if (!erased)
                return NULL;
        for (size_t i = 0; i < s->n_erased; i++)
                (void) json_array_append_new(erased, json_string(s->erased[i]));
        return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:o, s:s, s:b, s:o}", "uuid", s->uuid,
                         "can_id", s->can_id, "phase", strempty(fw_phase_to_string(s->phase)), "before", s->before,
                         "runs", s->runs, "target", s->target, "updated", s->updated, "restages", s->restages, "error",
                         strempty(fw_error_to_string(s->error)), "text", s->text, "erased", erased, "redo", s->redo,
                         "can_id_not_restored", s->can_id_not_restored, "migration", migration_json(s));
}

/**
 * update_store_report_json() - a job's report as both adapters show it
 * @r: the report
 *
 * Return: a new object, NULL on ENOMEM.
 */
json_t *update_store_report_json(const FwReport *r) {
        json_t *sides = json_array();

        if (!sides)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                if (json_array_append_new(sides, side_report_json(&r->sides[i])) < 0) {
                        json_decref(sides);
                        return NULL;
                }
        return json_pack("{s:s, s:s, s:s, s:o}", "state", strempty(fw_job_state_to_string(r->state)), "error",
                         strempty(fw_error_to_string(r->error)), "text", r->text, "sides", sides);
}

/* ------------------------------------------------------------ job files */

static char *job_path(const char *state_dir, unsigned id) {
        char *p = NULL;

        if (asprintf(&p, "%s/firmware/jobs/job-%u.json", state_dir, id) < 0)
                return NULL;
        return p;
}

/**
 * update_store_job_write() - persist a running job (atomically)
 * @state_dir: the state directory
 * @f: the job; its engine snapshot is borrowed
 *
 * Return: 0 or -errno.
 */
int update_store_job_write(const char *state_dir, const FwJobFile *f) {
        _cleanup_free_ char *path = job_path(state_dir, f->id), *dir = NULL, *text = NULL;
        json_t *o, *ctls;
        int r;

        if (!path || asprintf(&dir, "%s/firmware/jobs", state_dir) < 0)
                return -ENOMEM;
        r = update_store_mkdir_p(dir);
        if (r < 0)
                return r;
        ctls = json_array();
        for (size_t i = 0; ctls && i < f->n; i++)
                json_array_append_new(ctls, update_store_identity_json(&f->controllers[i]));
        o = json_pack("{s:i, s:I, s:s, s:s, s:o, s:{s:b, s:b, s:b, s:b}, s:I, s:o}", "format", JOB_FILE_FORMAT, "id",
                      (json_int_t) f->id, "kind", f->kind, "set_id", f->set_id, "controllers", ctls, "options",
                      "override_gates", f->opts.override_gates, "skip_can_id_restore", f->opts.skip_can_id_restore,
                      "abandon_on_resume", f->opts.abandon_on_resume, "skip_config_migration", f->opts.skip_config_migration,
                      "started_usec",
                      (json_int_t) f->started_realtime_usec, "engine", update_store_snapshot_json(&f->engine));
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        return update_store_write_atomic(path, text);
}

/**
 * update_store_job_read() - read a persisted job
 * @path: the job file
 * @ret: filled in (call update_store_job_done(), also after a failure)
 *
 * Return: 0, -EBADMSG (malformed; ret->id is set if the file named a
 * valid one), -ENOMEM.
 */
int update_store_job_read(const char *path, FwJobFile *ret) {
        json_error_t err;
        json_t *o, *ctls, *engine, *opts = NULL;
        const char *kind, *set_id;
        json_int_t id, started = 0;
        int format, r;

        *ret = (FwJobFile) {};
        o = json_load_file(path, 0, &err);
        if (!o)
                return -EBADMSG;
        if (json_unpack(o, "{s:i, s:I, s:s, s:s, s:o, s:o, s?o, s?I}", "format", &format, "id", &id, "kind", &kind,
                        "set_id", &set_id, "controllers", &ctls, "engine", &engine, "options", &opts, "started_usec",
                        &started) < 0 ||
            format != JOB_FILE_FORMAT || id <= 0 || id >= UINT32_MAX || !json_is_array(ctls) ||
            json_array_size(ctls) < 1 || json_array_size(ctls) > FW_SIDES_MAX || !set_id_valid(set_id) ||
            strlen(kind) >= sizeof ret->kind) {
                json_decref(o);
                return -EBADMSG;
        }
        ret->id = (unsigned) id;
        snprintf(ret->kind, sizeof ret->kind, "%s", kind);
        snprintf(ret->set_id, sizeof ret->set_id, "%s", set_id);
        ret->n = json_array_size(ctls);
        for (size_t i = 0; i < ret->n; i++) {
                r = update_store_identity_parse(json_array_get(ctls, i), &ret->controllers[i], true);
                if (r < 0) {
                        json_decref(o);
                        return r;
                }
        }
        if (opts) {
                int og = 0, sk = 0, ab = 0, nm = 0;
                (void) json_unpack(opts, "{s?b, s?b, s?b, s?b}", "override_gates", &og, "skip_can_id_restore", &sk,
                                   "abandon_on_resume", &ab, "skip_config_migration", &nm);
                ret->opts = (FwJobOptions) { .override_gates = og, .skip_can_id_restore = sk, .abandon_on_resume = ab,
                                             .skip_config_migration = nm };
        }
        ret->started_realtime_usec = started > 0 ? (uint64_t) started : 0;
        r = update_store_snapshot_parse(engine, &ret->engine);
        json_decref(o);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (ret->engine.n != ret->n)
                return -EBADMSG;
        return 0;
}

void update_store_job_done(FwJobFile *f) {
        update_store_snapshot_done(&f->engine);
}

/**
 * update_store_job_remove() - an ended job's file goes (it is in the history)
 *
 * Return: 0 (also when there was none) or -errno.
 */
int update_store_job_remove(const char *state_dir, unsigned id) {
        _cleanup_free_ char *path = job_path(state_dir, id);

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* ------------------------------------------------------------- history */

json_t *update_store_history_load(const char *state_dir) {
        _cleanup_free_ char *path = NULL;
        json_t *h;

        if (asprintf(&path, "%s/firmware/history.json", state_dir) < 0)
                return NULL;
        h = json_load_file(path, 0, NULL);
        if (!json_is_array(h)) {
                json_decref(h);
                h = json_array();
        }
        return h;
}

int update_store_history_append(const char *state_dir, json_t *entry) {
        _cleanup_free_ char *path = NULL, *dir = NULL, *text = NULL;
        json_t *h;

        if (!entry)
                return -ENOMEM;
        if (asprintf(&dir, "%s/firmware", state_dir) < 0 || asprintf(&path, "%s/history.json", dir) < 0) {
                json_decref(entry);
                return -ENOMEM;
        }
        (void) update_store_mkdir_p(dir);
        h = update_store_history_load(state_dir);
        if (!h) {
                json_decref(entry);
                return -ENOMEM;
        }
        json_array_append_new(h, entry);
        while (json_array_size(h) > UPDATE_HISTORY_MAX)
                json_array_remove(h, 0);
        text = json_dumps(h, JSON_INDENT(1));
        json_decref(h);
        if (!text)
                return -ENOMEM;
        return update_store_write_atomic(path, text);
}
