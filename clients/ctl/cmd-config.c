/* vescctl: controller configuration and runtime limits — config get|set|
 * backup|restore|diff|copy, limits get|set|mode.
 *
 * Configuration is read and written by parameter name (GetConfig/
 * SetConfig/DiffConfig); backups are JSON files (format 1: the raw blobs
 * in base64 plus, where vescd can name them, the parameters).  Where this
 * vescd lacks a newer method the command says "not supported by this
 * vescd" (exit 5), or uses the older method that does the same job. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vescctl.h"

/* --------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *p, size_t n) {
        char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                             (i + 2 < n ? p[i + 2] : 0);
                *o++ = b64[v >> 18 & 63];
                *o++ = b64[v >> 12 & 63];
                *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
                *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o = 0;
        return out;
}

/* Returns the byte count, or -EBADMSG for text that is not base64. */
static ssize_t base64_decode(const char *s, uint8_t **ret) {
        size_t n = strlen(s), len = 0;
        uint32_t acc = 0;
        int bits = 0;
        uint8_t *out = malloc(n / 4 * 3 + 3);

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *c;
                if (s[i] == '=')
                        break;
                if (s[i] == '\n' || s[i] == '\r')
                        continue;
                c = strchr(b64, s[i]);
                if (!c || !s[i]) {
                        free(out);
                        return -EBADMSG;
                }
                acc = acc << 6 | (uint32_t) (c - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[len++] = (uint8_t) (acc >> bits);
                }
        }
        *ret = out;
        return (ssize_t) len;
}

/* --------------------------------------------------------------- helpers */

static void strv_freep(char ***p) {
        for (char **l = *p; l && *l; l++)
                free(*l);
        free(*p);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static bool which_valid(const char *s) {
        return strcmp(s, "mcconf") == 0 || strcmp(s, "appconf") == 0;
}

/* "name=value" -> JSON: a number, true/false/null, or else the text (an enum label). */
static int parse_assignment(const char *cmd, const char *arg, char **ret_name, json_t **ret_value) {
        const char *eq = strchr(arg, '=');
        json_t *v;

        if (!eq || eq == arg || !eq[1])
                return usage_error(cmd, "'%s' is not NAME=VALUE", arg);
        v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        if (!v || json_is_array(v) || json_is_object(v)) {
                json_decref(v);
                v = json_string(eq + 1);
        }
        *ret_name = strndup(arg, (size_t) (eq - arg));
        *ret_value = v;
        return *ret_name ? 0 : -ENOMEM;
}

static json_t *units_of(json_t *cfg) {
        /* vescd may name the units per parameter; nothing to show otherwise */
        json_t *u = json_object_get(cfg, "units");
        return json_is_object(u) ? u : NULL;
}

static void print_value_line(const char *name, json_t *v, json_t *units) {
        /* a real in plain digits (jansson writes 1500000.0 as 1.5e6) */
        char *s = json_is_real(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        const char *unit = json_string_value(json_object_get(units, name));

        if (json_is_real(v) && asprintf(&s, "%.10g", json_real_value(v)) < 0)
                s = NULL;

        printf("  %-36s %s%s%s\n", name, s ? s : "?", unit && unit[0] ? " " : "", unit ? unit : "");
        free(s);
}

/* ---------------------------------------------------------- config get/set */

static int config_target(sd_bus *bus, int *argc, char ***argv, char **ret_path, const char **ret_which) {
        int r = resolve_controller(bus, (*argv)[0], ret_path);
        if (r < 0)
                return r;
        (*argc)--, (*argv)++;
        *ret_which = "mcconf";
        if (*argc > 0 && which_valid((*argv)[0])) {
                *ret_which = (*argv)[0];
                (*argc)--, (*argv)++;
        }
        return 0;
}

static int cmd_config_get(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        const char *which, *k;
        json_t *cfg = NULL, *params, *v;
        int r;

        r = config_target(bus, &argc, &argv, &path, &which);
        if (r < 0)
                return r;
        r = bus_call_json(bus, "config get", path, CONTROLLER_IFACE, "GetConfig", &cfg, "s", which);
        if (r < 0)
                return r;
        params = json_object_get(cfg, "params");
        for (int i = 0; i < argc; i++)
                if (!json_object_get(params, argv[i])) {
                        fprintf(stderr, "vescctl: config get: %s has no parameter '%s' (layout %s)\n", which, argv[i],
                                json_string_value(json_object_get(cfg, "layout")) ?: "unknown");
                        json_decref(cfg);
                        return -ENOENT;
                }
        if (arg_json) {
                if (argc > 0) {
                        json_t *o = json_object();
                        for (int i = 0; i < argc; i++)
                                json_object_set(o, argv[i], json_object_get(params, argv[i]));
                        print_json(o);
                        json_decref(o);
                } else
                        print_json(cfg);
        } else {
                printf("%s of %s: layout %s, signature 0x%08llx\n", which, path_uuid(path),
                       json_string_value(json_object_get(cfg, "layout")) ?: "unknown (raw only)",
                       (unsigned long long) jint(cfg, "signature"));
                if (argc > 0)
                        for (int i = 0; i < argc; i++)
                                print_value_line(argv[i], json_object_get(params, argv[i]), units_of(cfg));
                else
                        json_object_foreach(params, k, v)
                                print_value_line(k, v, units_of(cfg));
        }
        json_decref(cfg);
        return 0;
}

static int cmd_config_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *which;
        json_t *params;
        int r;

        /* validate the assignments before talking to anyone */
        for (int i = 1; i < argc; i++)
                if (!strchr(argv[i], '=') && !which_valid(argv[i]))
                        return usage_error("config set", "'%s' is not NAME=VALUE", argv[i]);
        r = config_target(bus, &argc, &argv, &path, &which);
        if (r < 0)
                return r;
        if (argc == 0)
                return usage_error("config set", "give at least one NAME=VALUE");
        params = json_object();
        for (int i = 0; i < argc; i++) {
                _cleanup_free_ char *name = NULL;
                json_t *v = NULL;
                r = parse_assignment("config set", argv[i], &name, &v);
                if (r < 0) {
                        json_decref(params);
                        return r;
                }
                json_object_set_new(params, name, v);
        }
        text = json_dumps(params, JSON_COMPACT);
        r = text ? bus_call(bus, "config set", path, CONTROLLER_IFACE, "SetConfig", NULL, "ss", which, text) : -ENOMEM;
        if (r >= 0) {
                if (arg_json) {
                        json_t *o = json_pack("{s:s, s:s, s:O}", "uuid", path_uuid(path), "which", which, "params", params);
                        print_json(o);
                        json_decref(o);
                } else
                        printf("%s of %s: set %zu parameter%s\n", which, path_uuid(path), json_object_size(params),
                               json_object_size(params) == 1 ? "" : "s");
        }
        json_decref(params);
        return r;
}

/* ------------------------------------------------------- backup/restore */

static json_t *blob_config(const uint8_t *p, size_t n) {
        _cleanup_free_ char *raw = base64_encode(p, n);
        uint32_t sig = n >= 4 ? (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3] : 0;

        return json_pack("{s:I, s:s}", "signature", (json_int_t) sig, "raw", raw ? raw : "");
}

static int cmd_config_backup(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const void *mc, *app;
        size_t mc_n, app_n;
        json_t *ctl = NULL, *backup;
        const char *file = argv[1];
        int r;

        r = resolve_controller(bus, argv[0], &path);
        if (r < 0)
                return r;
        r = bus_get_all(bus, path, CONTROLLER_IFACE, &ctl);
        if (r < 0)
                return r;
        r = bus_call(bus, "config backup", path, CONTROLLER_IFACE, "BackupConfig", &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &mc, &mc_n);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &app, &app_n);
        if (r < 0) {
                json_decref(ctl);
                return r == -EBADMSG ? bus_report("config backup", NULL, r) : r;
        }
        backup = json_pack("{s:i, s:s, s:s, s:o, s:o}", "format", 1, "uuid", jstr(ctl, "uuid"), "firmware_version",
                           jstr(ctl, "firmware_version"), "mcconf", blob_config(mc, mc_n), "appconf",
                           blob_config(app, app_n));
        json_decref(ctl);
        /* the parameters by name, where this vescd knows the layout */
        for (int i = 0; i < 2; i++) {
                const char *which = i ? "appconf" : "mcconf";
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                const char *s;
                json_t *cfg;
                if (bus_try_call(bus, path, CONTROLLER_IFACE, "GetConfig", &m, &error, "s", which) < 0 ||
                    sd_bus_message_read(m, "s", &s) < 0)
                        continue;
                cfg = json_loads(s, 0, NULL);
                if (json_is_object(cfg)) {
                        json_t *dst = json_object_get(backup, which);
                        json_object_set(dst, "layout", json_object_get(cfg, "layout"));
                        json_object_set(dst, "params", json_object_get(cfg, "params"));
                }
                json_decref(cfg);
        }
        if (strcmp(file, "-") == 0)
                print_json(backup);
        else {
                errno = 0;
                FILE *f = fopen(file, "we");
                r = f ? json_dumpf(backup, f, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : -1;
                if (f && fputc('\n', f) == EOF)
                        r = -1;
                if (f && fclose(f) != 0)
                        r = -1;
                if (r < 0) {
                        fprintf(stderr, "vescctl: config backup: cannot write %s: %s\n", file,
                                errno ? strerror(errno) : "write error");
                        json_decref(backup);
                        return -EIO;
                }
                if (arg_json) {
                        json_t *o = json_pack("{s:s, s:s}", "uuid", path_uuid(path), "file", file);
                        print_json(o);
                        json_decref(o);
                } else
                        printf("Saved the configuration of %s (mcconf %zu bytes, appconf %zu bytes) to %s\n",
                               path_uuid(path), mc_n, app_n, file);
        }
        json_decref(backup);
        return 0;
}

static int backup_blob(json_t *backup, const char *which, const char *file, uint8_t **ret, size_t *ret_n) {
        json_t *c = json_object_get(backup, which);
        const char *raw = json_string_value(json_object_get(c, "raw"));
        ssize_t n;

        *ret = NULL;
        *ret_n = 0;
        if (!c)
                return 0;
        if (!raw) {
                fprintf(stderr, "vescctl: config restore: %s: %s has no \"raw\" blob\n", file, which);
                return -EINVAL;
        }
        n = base64_decode(raw, ret);
        if (n < 0) {
                fprintf(stderr, "vescctl: config restore: %s: %s.raw is not base64\n", file, which);
                return -EINVAL;
        }
        *ret_n = (size_t) n;
        return 0;
}

/* RestoreConfig with the options of the current contract, or without them
 * (an older vescd); a failure is left in *error. */
static int call_restore(sd_bus *bus, const char *path, const uint8_t *mc, size_t mc_n, const uint8_t *app,
                        size_t app_n, bool options, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, CONTROLLER_IFACE, "RestoreConfig");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', mc, mc_n);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', app, app_n);
        if (r >= 0 && options)
                r = sd_bus_message_append(m, "a{sv}", 1, "KeepCanId", "b", !arg_no_keep_can_id);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, 60 * USEC_PER_SEC, error, &reply);
}

static int cmd_config_restore(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *mc = NULL, *app = NULL;
        size_t mc_n, app_n;
        json_error_t jerr;
        json_t *backup;
        const char *file = argv[1];
        int r;

        backup = json_load_file(file, 0, &jerr);
        if (!backup) {
                fprintf(stderr, "vescctl: config restore: %s: %s\n", file, jerr.text);
                return -EINVAL;
        }
        if (!json_is_object(backup) || jint(backup, "format") != 1) {
                fprintf(stderr, "vescctl: config restore: %s is not a configuration backup (format 1)\n", file);
                json_decref(backup);
                return -EINVAL;
        }
        r = backup_blob(backup, "mcconf", file, &mc, &mc_n);
        if (r >= 0)
                r = backup_blob(backup, "appconf", file, &app, &app_n);
        if (r >= 0)
                r = resolve_controller(bus, argv[0], &path);
        if (r < 0) {
                json_decref(backup);
                return r;
        }
        if (strcasecmp(jstr(backup, "uuid"), path_uuid(path)) != 0)
                fprintf(stderr, "vescctl: config restore: note: the backup was taken from %s\n", jstr(backup, "uuid"));
        _cleanup_free_ char *backup_fw = strdup(jstr(backup, "firmware_version"));
        json_decref(backup);
        r = call_restore(bus, path, mc, mc_n, app, app_n, /* options= */ true, &error);
        if (r < 0 && bus_error_old_signature(&error)) {
                /* a vescd without the options argument keeps no CAN id of its own */
                sd_bus_error_free(&error);
                r = call_restore(bus, path, mc, mc_n, app, app_n, /* options= */ false, &error);
        }
        if (r < 0) {
                bool sig = sd_bus_error_has_name(&error, "org.vescd1.Error.SignatureMismatch");
                r = bus_report("config restore", &error, r);
                /* what to do: the blobs only fit the firmware they were read from */
                if (sig && backup_fw && backup_fw[0])
                        fprintf(stderr, "The backup is of firmware %s: restore it to a controller running %s, or "
                                        "set the parameters you need by name ('vescctl config get' / 'config set').\n",
                                backup_fw, backup_fw);
                return r;
        }
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:s, s:b}", "uuid", path_uuid(path), "file", file, "restored", 1);
                print_json(o);
                json_decref(o);
        } else
                printf("Restored %s%s%s on %s from %s\n", mc_n ? "mcconf" : "", mc_n && app_n ? " and " : "",
                       app_n ? "appconf" : "", path_uuid(path), file);
        return 0;
}

/* --------------------------------------------------------- diff and copy */

static void print_difference(json_t *d) {
        const char *k, *name = jstr(d, "name");
        json_t *v;

        printf("  %-36s", name);
        json_object_foreach(d, k, v) {
                char *s;
                if (strcmp(k, "name") == 0 || strcmp(k, "unit") == 0)
                        continue;
                s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
                printf(" %s=%s", k, s ? s : "?");
                free(s);
        }
        if (jstr(d, "unit")[0])
                printf(" (%s)", jstr(d, "unit"));
        printf("\n");
}

static int cmd_config_diff(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        const char *which = argc > 2 ? argv[2] : "mcconf", *s;
        json_t *diff, *list, *d;
        size_t i;
        int r;

        if (!which_valid(which))
                return usage_error("config diff", "'%s' is neither mcconf nor appconf", which);
        r = resolve_controller(bus, argv[0], &a);
        if (r >= 0)
                r = resolve_controller(bus, argv[1], &b);
        if (r < 0)
                return r;
        r = bus_try_call(bus, a, CONTROLLER_IFACE, "DiffConfig", &reply, &error, "so", which, b);
        if (r < 0 && bus_error_unknown_method(&error)) {
                /* an older vescd compares the blobs only: show that */
                _cleanup_strv_free_ char **lines = NULL;
                sd_bus_error_free(&error);
                reply = sd_bus_message_unref(reply);
                r = bus_call(bus, "config diff", a, CONTROLLER_IFACE, "CompareConfig", &reply, "o", b);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &lines);
                if (r < 0)
                        return r == -EBADMSG ? bus_report("config diff", NULL, r) : r;
                if (arg_json) {
                        json_t *o = json_pack("{s:[]}", "differences");
                        for (char **l = lines; l && *l; l++)
                                json_array_append_new(json_object_get(o, "differences"), json_string(*l));
                        print_json(o);
                        json_decref(o);
                } else {
                        printf("%s and %s (this vescd compares whole blobs, not parameters by name):\n", path_uuid(a),
                               path_uuid(b));
                        if (!lines || !*lines)
                                printf("  no differences\n");
                        for (char **l = lines; l && *l; l++)
                                printf("  %s\n", *l);
                }
                return 0;
        }
        if (r < 0)
                return bus_report("config diff", &error, r);
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return bus_report("config diff", NULL, r);
        diff = json_loads(s, JSON_DECODE_ANY, NULL);
        if (!diff) {
                fprintf(stderr, "vescctl: config diff: vescd answered invalid JSON\n");
                return -EIO;
        }
        if (arg_json)
                print_json(diff);
        else {
                list = json_is_array(diff) ? diff : json_object_get(diff, "differences");
                if (json_array_size(list) == 0)
                        printf("%s of %s and %s: no differences\n", which, path_uuid(a), path_uuid(b));
                else
                        printf("%s: %s differs from %s in %zu parameter%s\n", which, path_uuid(a), path_uuid(b),
                               json_array_size(list), json_array_size(list) == 1 ? "" : "s");
                json_array_foreach(list, i, d)
                        if (json_is_object(d))
                                print_difference(d);
                        else if (json_is_string(d))
                                printf("  %s\n", json_string_value(d));
        }
        json_decref(diff);
        return 0;
}

static int cmd_config_copy(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *from = NULL, *to = NULL;
        int r;

        r = resolve_controller(bus, argv[0], &from);
        if (r >= 0)
                r = resolve_controller(bus, argv[1], &to);
        if (r < 0)
                return r;
        if (strcmp(from, to) == 0)
                return usage_error("config copy", "FROM and TO are the same controller");
        r = bus_try_call(bus, to, CONTROLLER_IFACE, "CopyConfigFrom", NULL, &error, "oa{sv}", from, 1, "KeepCanId", "b",
                         !arg_no_keep_can_id);
        if (r < 0 && bus_error_old_signature(&error)) {
                /* an older vescd: CopyConfigFrom(o), which always keeps the target's CAN id */
                sd_bus_error_free(&error);
                if (arg_no_keep_can_id) {
                        fprintf(stderr, "vescctl: config copy: --no-keep-can-id is not supported by this vescd\n");
                        return -EOPNOTSUPP;
                }
                r = bus_try_call(bus, to, CONTROLLER_IFACE, "CopyConfigFrom", NULL, &error, "o", from);
        }
        if (r < 0)
                return bus_report("config copy", &error, r);
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:s, s:b}", "from", path_uuid(from), "to", path_uuid(to), "copied", 1);
                print_json(o);
                json_decref(o);
        } else
                printf("Copied the configuration of %s to %s%s\n", path_uuid(from), path_uuid(to),
                       arg_no_keep_can_id ? "" : " (keeping its CAN id)");
        return 0;
}

/* ---------------------------------------------------------------- limits */

static const char *const limit_keys[] = {
        "current_min_scale", "current_max_scale", "min_erpm", "max_erpm", "min_duty",
        "max_duty", "watt_min", "watt_max", "in_current_min", "in_current_max",
};

static int cmd_limits_get(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        json_t *o = NULL, *v;
        const char *k;
        int r;

        r = resolve_controller(bus, argv[0], &path);
        if (r < 0)
                return r;
        r = bus_call(bus, "limits get", path, CONTROLLER_IFACE, "GetLimits", &reply, NULL);
        if (r < 0)
                return r;
        r = message_read_dict(reply, &o);
        if (r < 0)
                return bus_report("limits get", NULL, r);
        if (arg_json)
                print_json(o);
        else {
                /* SetLimits' units (docs/dbus-api.md); the scales and duties are fractions */
                json_t *units = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "current_min_scale",
                                          "(of l_current_min)", "current_max_scale", "(of l_current_max)", "min_erpm",
                                          "ERPM", "max_erpm", "ERPM", "min_duty", "(fraction)", "max_duty",
                                          "(fraction)", "watt_min", "W", "watt_max", "W", "in_current_min", "A",
                                          "in_current_max", "A");
                printf("limits of %s:\n", path_uuid(path));
                json_object_foreach(o, k, v)
                        print_value_line(k, v, units);
                json_decref(units);
        }
        json_decref(o);
        return 0;
}

static int cmd_limits_set(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        double values[ELEMENTSOF(limit_keys)];
        const char *keys[ELEMENTSOF(limit_keys)];
        size_t n = 0;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                size_t k;
                char *end;
                if (!eq || eq == argv[i])
                        return usage_error("limits set", "'%s' is not KEY=VALUE", argv[i]);
                for (k = 0; k < ELEMENTSOF(limit_keys); k++)
                        if (strlen(limit_keys[k]) == (size_t) (eq - argv[i]) &&
                            strncmp(limit_keys[k], argv[i], (size_t) (eq - argv[i])) == 0)
                                break;
                if (k == ELEMENTSOF(limit_keys))
                        return usage_error("limits set",
                                           "unknown limit '%.*s' (current_min_scale, current_max_scale, min_erpm, "
                                           "max_erpm, min_duty, max_duty, watt_min, watt_max, in_current_min, "
                                           "in_current_max)",
                                           (int) (eq - argv[i]), argv[i]);
                errno = 0;
                values[n] = strtod(eq + 1, &end);
                if (!eq[1] || *end || errno)
                        return usage_error("limits set", "'%s': %s is not a number", argv[i], eq + 1);
                for (size_t j = 0; j < n; j++)
                        if (keys[j] == limit_keys[k])
                                return usage_error("limits set", "%s is given twice", limit_keys[k]);
                keys[n++] = limit_keys[k];
        }
        if (n == 0 && !arg_store)
                return usage_error("limits set", "give at least one KEY=VALUE");
        r = resolve_controller(bus, argv[0], &path);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, path, CONTROLLER_IFACE, "SetLimits");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "{sv}", keys[i], "d", values[i]);
        if (r >= 0 && arg_store)
                r = sd_bus_message_append(m, "{sv}", "store", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return bus_report("limits set", NULL, r);
        r = sd_bus_call(bus, m, 60 * USEC_PER_SEC, &error, &reply);
        if (r < 0)
                return bus_report("limits set", &error, r);
        if (arg_json) {
                json_t *o = json_pack("{s:s, s:{}, s:b}", "uuid", path_uuid(path), "limits", "store", arg_store);
                for (size_t i = 0; i < n; i++)
                        json_object_set_new(json_object_get(o, "limits"), keys[i], json_real(values[i]));
                print_json(o);
                json_decref(o);
        } else
                printf("Set %zu limit%s on %s%s\n", n, n == 1 ? "" : "s", path_uuid(path),
                       arg_store ? " (stored in flash)" : "");
        return 0;
}

static int cmd_limits_mode(sd_bus *bus, int argc, char **argv) {
        json_t *mgr = NULL;
        int r;

        if (argc > 0) {
                r = bus_call(bus, "limits mode", MANAGER_PATH, MANAGER_IFACE, "SetRideMode", NULL, "s", argv[0]);
                if (r == -ENOENT)
                        fprintf(stderr, "Define it as 'mode-%s = KEY=VALUE, ...' under [modes] in vescd.conf "
                                        "(docs/vescd.conf.md), then 'systemctl reload vescd'.\n", argv[0]);
                if (r < 0)
                        return r;
        }
        r = bus_get_all(bus, MANAGER_PATH, MANAGER_IFACE, &mgr);
        if (r < 0)
                return r;
        if (!json_object_get(mgr, "ride_mode")) {
                json_decref(mgr);
                fprintf(stderr, "vescctl: limits mode: not supported by this vescd (no RideMode property)\n");
                return -EOPNOTSUPP;
        }
        if (arg_json) {
                json_t *o = json_pack("{s:O}", "ride_mode", json_object_get(mgr, "ride_mode"));
                print_json(o);
                json_decref(o);
        } else
                printf("Ride mode: %s\n", jstr(mgr, "ride_mode")[0] ? jstr(mgr, "ride_mode") : "(none)");
        json_decref(mgr);
        return 0;
}

const Command commands_config[] = {
        { "config get", "CONTROLLER [mcconf|appconf] [NAME...]", "configuration by parameter name",
          "Read the motor (mcconf, the default) or app (appconf) configuration of a\n"
          "controller and print every parameter, or the NAMEs given, with its value and\n"
          "unit (GetConfig).  --json prints vescd's answer: signature, layout, params, raw.",
          1, -1, cmd_config_get },
        { "config set", "CONTROLLER [mcconf|appconf] NAME=VALUE...", "change parameters by name (admin)",
          "Change configuration parameters by name (SetConfig: read-modify-write, range-checked\n"
          "by vescd).  VALUE is a number, true/false, or an enum label.  Needs root or the\n"
          "admin group.",
          2, -1, cmd_config_set },
        { "config backup", "CONTROLLER FILE", "save both configurations to a file (- = stdout)",
          "Save the motor and app configuration to FILE (- for standard output) as JSON:\n"
          "{\"format\": 1, \"uuid\", \"firmware_version\", \"mcconf\": {...}, \"appconf\": {...}},\n"
          "each with its signature, the raw blob in base64 and, where vescd names them,\n"
          "the layout and the parameters.",
          2, 2, cmd_config_backup },
        { "config restore", "CONTROLLER FILE", "write a backup back (admin)",
          "Write the configurations of a backup FILE to a controller (RestoreConfig).  Its\n"
          "own CAN id is kept unless --no-keep-can-id.  The blobs' signatures must match the\n"
          "running firmware.  Needs root or the admin group.",
          2, 2, cmd_config_restore },
        { "config diff", "CONTROLLER OTHER [mcconf|appconf]", "the parameters that differ between two controllers",
          "List the parameters whose values differ between two controllers, with both values\n"
          "and the unit (DiffConfig).  A vescd without DiffConfig compares whole blobs.",
          2, 3, cmd_config_diff },
        { "config copy", "FROM TO", "copy one controller's configuration to another (admin)",
          "Make TO's configuration FROM's (CopyConfigFrom), keeping TO's CAN id unless\n"
          "--no-keep-can-id.  Needs root or the admin group.",
          2, 2, cmd_config_copy },
        { "limits get", "CONTROLLER", "the runtime limits in force",
          "The runtime limits in force on a controller (GetLimits): current scales, ERPM,\n"
          "duty, power and battery current limits.",
          1, 1, cmd_limits_get },
        { "limits set", "CONTROLLER KEY=VALUE...", "change runtime limits (admin)",
          "Change runtime limits (SetLimits).  KEYs: current_min_scale, current_max_scale,\n"
          "min_erpm, max_erpm, min_duty, max_duty, watt_min, watt_max, in_current_min,\n"
          "in_current_max.  --store also writes them to flash.  Needs root or the admin group.",
          1, -1, cmd_limits_set },
        { "limits mode", "[NAME]", "show or choose (admin) the ride mode: mode-NAME in vescd.conf",
          "Without NAME: the active ride mode.  With NAME: apply the ride mode mode-NAME of\n"
          "vescd.conf to every controller (SetRideMode); vescd re-applies it when a\n"
          "controller boots.  Choosing needs root or the admin group.",
          0, 1, cmd_limits_mode },
        {},
};
