/* Configuration parsing and validation.  See config.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "macro.h"

static const ConfigKey keys[] = {
        { "transport", "vbus:PATH or socketcan:IFACE (default socketcan:can0)" },
        { "bus-address", "D-Bus address to use instead of the system bus" },
        { "state-dir", "state directory (default " LOCALSTATEDIR "/lib/vescd)" },
        { "json-socket", "JSON socket path (default " RUNSTATEDIR "/vescd/vescd.sock)" },
        { "tcp-listen", "read-only JSON listener ADDR:PORT on loopback, empty = off (default off)" },
        { "max-clients", "JSON socket clients at once, 1..1024 (default 32); also the HTTP listener's cap" },
        { "http-listen", "read-only HTTP dashboard listener ADDR:PORT, empty = off (default off)" },
        { "http-root", "directory of the dashboard's files (default " PKGDATADIR "/www)" },
        { "admin-group", "group allowed to change controllers (default vescd)" },
        { "can-id", "vescd's own CAN id, 0..254 (default 253)" },
        { "time-scale", "multiply every protocol timeout (default 1; tests)" },
        { "log-level", "err, warning, notice, info or debug (default info)" },
        { "telemetry-rate-hz", "Telemetry signal rate, 0.1..1000 (default 10)" },
        { "poll-rate-hz", "GET_VALUES poll rate for silent controllers, 0..100 (default 5)" },
        { "max-poll-rate-hz", "cap of the poll rate that telemetry watches raise, 1..100 (default 50)" },
        { "offline-timeout-ms", "silence after which a controller is offline (default 1000)" },
        { "scan-on-start", "PING-scan ids 0..254 at start (default yes)" },
        { "rescan-interval-s", "background PING rescan every N s, 0 = off (default 30)" },
        { "forget-after-s", "unidentified or offline non-member records are removed after N s (default 600)" },
        { "member-after-s", "a motor controller becomes a remembered board member after N s identified, confirmed and online (default 30)" },
        { "client-line-timeout", "JSON: close a client whose partial line is older than N s (default 10)" },
        { "max-clients-per-uid", "JSON socket clients per uid, root unlimited, 1..1024 (default 8)" },
        { "manage-link", "socketcan: set bitrate and restart-ms through netlink (default no)" },
        { "bitrate", "socketcan bitrate with manage-link (default 500000)" },
        { "restart-ms", "socketcan bus-off auto restart with manage-link (default 100)" },
        { "trusted-keys", "trust file of Ed25519 keys for image sets (default none)" },
        { "require-signed", "accept only image sets signed by a trusted key (default no)" },
        { "image-set-keep", "image sets kept in the store, 2..1000 (default 4); the oldest unused go" },
        { "min-voltage", "lowest input voltage at which an update may start, V (default 10)" },
        { "max-voltage", "highest input voltage at which an update may start, V (default 60)" },
        {}
};

/* The ranges of core/limits.h, listed once there. */
#define LIMIT_ROW(f, key, lo, hi) [f] = { key, lo, hi },
static const struct {
        const char *key;
        double min, max;
} limit_table[_LIMIT_MAX] = { LIMIT_FIELDS(LIMIT_ROW) };
#undef LIMIT_ROW

static char error_text[256];

_printf_(1, 2)
static int set_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(error_text, sizeof error_text, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/**
 * config_error() - why the last value was refused
 *
 * Returns: a static text or NULL when there is none.
 */
const char *config_error(void) {
        return error_text[0] ? error_text : NULL;
}

/**
 * config_keys() - the table of configuration keys
 *
 * Returns: a static array terminated by an entry with name NULL.
 */
const ConfigKey *config_keys(void) {
        return keys;
}

static int set_str(char **p, const char *v) {
        char *s = strdup(v);
        if (!s)
                return -ENOMEM;
        free(*p);
        *p = s;
        return 0;
}

/**
 * config_init_defaults() - fill a Config with the built-in defaults
 * @c: storage to initialise
 *
 * Returns: 0, or -ENOMEM (then @c is empty but safe to config_done()).
 */
int config_init_defaults(Config *c) {
        *c = (Config) {
                .can_id = 253,
                .time_scale = 1.0,
                .log_level = LOG_INFO,
                .telemetry_rate_hz = 10.0,
                .max_clients = 32,
                .poll_rate_hz = 5.0,
                .max_poll_rate_hz = 50.0,
                .offline_timeout_ms = 1000,
                .scan_on_start = true,
                .rescan_interval_s = 30,
                .forget_after_s = 600,
                .member_after_s = 30,
                .client_line_timeout_s = 10,
                .max_clients_per_uid = 8,
                .bitrate = 500000,
                .restart_ms = 100,
                .image_set_keep = 4,
        };
        if (set_str(&c->transport, "socketcan:can0") < 0 ||
            set_str(&c->state_dir, LOCALSTATEDIR "/lib/vescd") < 0 ||
            set_str(&c->json_socket, RUNSTATEDIR "/vescd/vescd.sock") < 0 ||
            set_str(&c->http_root, PKGDATADIR "/www") < 0 ||
            set_str(&c->admin_group, "vescd") < 0) {
                config_done(c);
                return -ENOMEM;
        }
        return 0;
}

/**
 * config_done() - free the contents of a Config (idempotent)
 * @c: the config
 */
void config_done(Config *c) {
        free(c->transport);
        free(c->bus_address);
        free(c->state_dir);
        free(c->json_socket);
        free(c->tcp_listen);
        free(c->http_listen);
        free(c->http_root);
        free(c->admin_group);
        free(c->trusted_keys);
        c->trusted_keys = NULL;
        for (size_t i = 0; i < c->n_modes; i++)
                ride_mode_done(&c->modes[i]);
        free(c->modes);
        c->modes = NULL;
        c->n_modes = 0;
        c->transport = c->bus_address = c->state_dir = c->json_socket = c->tcp_listen = c->admin_group = NULL;
        c->http_listen = c->http_root = NULL;
}

/**
 * config_free() - free a heap-allocated Config
 * @c: the config or NULL
 *
 * Returns: NULL.
 */
Config *config_free(Config *c) {
        if (c) {
                config_done(c);
                free(c);
        }
        return NULL;
}

static int parse_double(const char *v, double min, double max, double *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(d) || d < min || d > max)
                return -EINVAL;
        *ret = d;
        return 0;
}

static int parse_unsigned(const char *v, unsigned long min, unsigned long max, unsigned *ret) {
        char *end;
        unsigned long u;

        if (!isdigit((unsigned char) v[0]))
                return -EINVAL;
        errno = 0;
        u = strtoul(v, &end, 10);
        if (errno || *end || u < min || u > max)
                return -EINVAL;
        *ret = (unsigned) u;
        return 0;
}

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static bool transport_valid(const char *v) {
        if (strncmp(v, "vbus:", 5) == 0)
                return v[5] != 0;
        if (strncmp(v, "socketcan:", 10) == 0)
                return v[10] != 0 && strlen(v + 10) < 16 && !strchr(v + 10, '/');
        return false;
}

void ride_mode_done(RideMode *m) {
        free(m->name);
        m->name = NULL;
}

static bool ride_mode_name_valid(const char *n) {
        size_t len = strlen(n);

        if (len == 0 || len > RIDE_MODE_NAME_MAX)
                return false;
        for (const char *p = n; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

/* "max_erpm" -> its field; "max_erpm_scale" -> its field with *scaled */
static int ride_mode_key(const char *key, size_t len, bool *scaled) {
        for (unsigned i = 0; i < _LIMIT_MAX; i++) {
                size_t n = strlen(limit_table[i].key);
                if (len == n && strncmp(key, limit_table[i].key, n) == 0) {
                        *scaled = false;
                        return (int) i;
                }
                /* the current scales are fractions already */
                if (i != LIMIT_CURRENT_MIN_SCALE && i != LIMIT_CURRENT_MAX_SCALE && len == n + 6 &&
                    strncmp(key, limit_table[i].key, n) == 0 && strncmp(key + n, "_scale", 6) == 0) {
                        *scaled = true;
                        return (int) i;
                }
        }
        return -ENOENT;
}

/**
 * config_parse_ride_mode() - parse the value of a mode-NAME key
 * @name: the mode's name (after "mode-")
 * @value: "current_max_scale=0.5, max_erpm_scale=0.6" (empty: the configured limits)
 * @ret: receives the mode (ride_mode_done() it)
 *
 * Returns: 0, -EINVAL (config_error() says why), -ENOMEM.
 */
int config_parse_ride_mode(const char *name, const char *value, RideMode *ret) {
        RideMode m = {};
        const char *p = value;

        error_text[0] = 0;
        if (!ride_mode_name_valid(name))
                return set_error("mode-%s: a mode name is 1..%d characters of a-z, 0-9, '_' and '-'", name,
                                 RIDE_MODE_NAME_MAX);
        while (isspace((unsigned char) *p))
                p++;
        while (*p) {
                const char *item = p, *end = strchr(p, ','), *eq, *k, *ke;
                char num[64], *nend;
                bool scaled;
                double v;
                int f;

                if (!end)
                        end = p + strlen(p);
                p = *end ? end + 1 : end;
                while (item < end && isspace((unsigned char) *item))
                        item++;
                if (item == end)
                        return set_error("mode-%s: empty item (two commas, or a comma at an end)", name);
                eq = memchr(item, '=', (size_t) (end - item));
                if (!eq)
                        return set_error("mode-%s: '%.*s' is not KEY=VALUE", name, (int) (end - item), item);
                k = item;
                ke = eq;
                while (ke > k && isspace((unsigned char) ke[-1]))
                        ke--;
                f = ride_mode_key(k, (size_t) (ke - k), &scaled);
                if (f < 0)
                        return set_error("mode-%s: unknown limit '%.*s' (current_min_scale, current_max_scale, min_erpm, "
                                         "max_erpm, min_duty, max_duty, watt_min, watt_max, in_current_min, "
                                         "in_current_max, or one of the last eight with _scale)",
                                         name, (int) (ke - k), k);
                if ((m.set | m.scaled) & (UINT32_C(1) << f))
                        return set_error("mode-%s: %s is given twice", name, limit_table[f].key);
                (void) snprintf(num, sizeof num, "%.*s", (int) (end - eq - 1), eq + 1);
                errno = 0;
                v = strtod(num, &nend);
                while (isspace((unsigned char) *nend))
                        nend++;
                if (errno || nend == num || *nend || !isfinite(v))
                        return set_error("mode-%s: %.*s: '%s' is not a number", name, (int) (ke - k), k, num);
                if (scaled && (v < 0.0 || v > 1.0))
                        return set_error("mode-%s: %s_scale=%g is out of range (0..1: a fraction of the configured "
                                         "value)", name, limit_table[f].key, v);
                if (!scaled && (v < limit_table[f].min || v > limit_table[f].max))
                        return set_error("mode-%s: %s=%g is out of range (%g..%g)", name, limit_table[f].key, v,
                                         limit_table[f].min, limit_table[f].max);
                if (scaled)
                        m.scaled |= UINT32_C(1) << f;
                else
                        m.set |= UINT32_C(1) << f;
                m.value[f] = v;
        }
        m.name = strdup(name);
        if (!m.name)
                return -ENOMEM;
        *ret = m;
        return 0;
}

/**
 * config_find_ride_mode() - a ride mode by name
 * @c: the config
 * @name: the name (without "mode-")
 *
 * Returns: the mode or NULL.
 */
const RideMode *config_find_ride_mode(const Config *c, const char *name) {
        for (size_t i = 0; name && i < c->n_modes; i++)
                if (strcmp(c->modes[i].name, name) == 0)
                        return &c->modes[i];
        return NULL;
}

static int add_ride_mode(Config *c, const char *name, const char *value) {
        RideMode m, *n;
        int r;

        r = config_parse_ride_mode(name, value, &m);
        if (r < 0)
                return r;
        if (config_find_ride_mode(c, name)) {
                ride_mode_done(&m);
                return set_error("mode-%s is defined twice", name);
        }
        n = realloc(c->modes, (c->n_modes + 1) * sizeof *n);
        if (!n) {
                ride_mode_done(&m);
                return -ENOMEM;
        }
        c->modes = n;
        c->modes[c->n_modes++] = m;
        return 0;
}

/**
 * config_set() - set one key from its text value
 * @c: the config
 * @key: key name as in the file ("can-id")
 * @value: the value text
 *
 * Returns: 0, -ENOENT for an unknown key, -EINVAL for a bad value or
 * range, -ENOMEM.
 */
/* The keys that are one number or yes/no: the range and where in Config
 * (the field's type checked against the kind at compile time). */
typedef enum ValueKind {
        VALUE_DOUBLE,
        VALUE_UNSIGNED,
        VALUE_BOOL,
} ValueKind;

typedef struct ValueKey {
        const char *key;
        ValueKind kind;
        double min, max;
        size_t offset;
} ValueKey;

#define VALUE_FIELD(field, type)                                                                \
        (offsetof(Config, field) +                                                              \
         0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((Config *) 0)->field), type) ? 1 : -1]))
#define DOUBLE_KEY(k, lo, hi, field) { k, VALUE_DOUBLE, lo, hi, VALUE_FIELD(field, double) }
#define UNSIGNED_KEY(k, lo, hi, field) { k, VALUE_UNSIGNED, lo, hi, VALUE_FIELD(field, unsigned) }
#define BOOL_KEY(k, field) { k, VALUE_BOOL, 0, 0, VALUE_FIELD(field, bool) }

static const ValueKey value_keys[] = {
        UNSIGNED_KEY("max-clients", 1, 1024, max_clients),
        /* 255 is broadcast (spec §8.4) */
        UNSIGNED_KEY("can-id", 0, 254, can_id),
        DOUBLE_KEY("time-scale", 0.01, 100.0, time_scale),
        DOUBLE_KEY("telemetry-rate-hz", 0.1, 1000.0, telemetry_rate_hz),
        DOUBLE_KEY("poll-rate-hz", 0.0, 100.0, poll_rate_hz),
        DOUBLE_KEY("max-poll-rate-hz", 1.0, 100.0, max_poll_rate_hz),
        UNSIGNED_KEY("offline-timeout-ms", 50, 600000, offline_timeout_ms),
        BOOL_KEY("scan-on-start", scan_on_start),
        UNSIGNED_KEY("rescan-interval-s", 0, 86400, rescan_interval_s),
        UNSIGNED_KEY("forget-after-s", 1, 86400 * 7, forget_after_s),
        UNSIGNED_KEY("member-after-s", 0, 86400, member_after_s),
        UNSIGNED_KEY("client-line-timeout", 1, 3600, client_line_timeout_s),
        UNSIGNED_KEY("max-clients-per-uid", 1, 1024, max_clients_per_uid),
        BOOL_KEY("manage-link", manage_link),
        UNSIGNED_KEY("bitrate", 10000, 1000000, bitrate),
        UNSIGNED_KEY("restart-ms", 0, 60000, restart_ms),
        BOOL_KEY("require-signed", require_signed),
        UNSIGNED_KEY("image-set-keep", 2, 1000, image_set_keep),
        DOUBLE_KEY("min-voltage", 0.0, 200.0, update_min_voltage),
        DOUBLE_KEY("max-voltage", 0.0, 200.0, update_max_voltage),
};

static int set_value(Config *c, const ValueKey *k, const char *value) {
        void *p = (char *) c + k->offset;

        switch (k->kind) {
        case VALUE_DOUBLE:
                return parse_double(value, k->min, k->max, p);
        case VALUE_UNSIGNED:
                return parse_unsigned(value, (unsigned long) k->min, (unsigned long) k->max, p);
        case VALUE_BOOL:
                return parse_bool(value, p);
        }
        return -EINVAL;
}

int config_set(Config *c, const char *key, const char *value) {
        error_text[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(value_keys); i++)
                if (strcmp(key, value_keys[i].key) == 0)
                        return set_value(c, &value_keys[i], value);
        if (strncmp(key, "mode-", 5) == 0)
                return add_ride_mode(c, key + 5, value);
        if (strcmp(key, "transport") == 0) {
                if (!transport_valid(value))
                        return -EINVAL;
                return set_str(&c->transport, value);
        }
        if (strcmp(key, "bus-address") == 0) {
                if (!*value) {
                        free(c->bus_address);
                        c->bus_address = NULL;
                        return 0;
                }
                return set_str(&c->bus_address, value);
        }
        if (strcmp(key, "state-dir") == 0)
                return *value == '/' ? set_str(&c->state_dir, value) : set_error("%s must be an absolute path", key);
        if (strcmp(key, "json-socket") == 0)
                return *value == '/' ? set_str(&c->json_socket, value) : set_error("%s must be an absolute path", key);
        if (strcmp(key, "tcp-listen") == 0) {
                free(c->tcp_listen);
                c->tcp_listen = NULL;
                return *value ? set_str(&c->tcp_listen, value) : 0;
        }
        if (strcmp(key, "http-listen") == 0) {
                free(c->http_listen);
                c->http_listen = NULL;
                return *value ? set_str(&c->http_listen, value) : 0;
        }
        if (strcmp(key, "http-root") == 0)
                return *value == '/' ? set_str(&c->http_root, value) : set_error("%s must be an absolute path", key);
        if (strcmp(key, "admin-group") == 0)
                return *value ? set_str(&c->admin_group, value) : -EINVAL;
        if (strcmp(key, "log-level") == 0) {
                int l = log_level_from_string(value);
                if (l < 0)
                        return l;
                c->log_level = l;
                return 0;
        }
        if (strcmp(key, "trusted-keys") == 0) {
                if (!*value) {
                        free(c->trusted_keys);
                        c->trusted_keys = NULL;
                        return 0;
                }
                return *value == '/' ? set_str(&c->trusted_keys, value) : -EINVAL;
        }
        return -ENOENT;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

/**
 * config_load_file() - apply a configuration file
 * @c: the config to modify
 * @path: file name
 * @missing_ok: a missing file is not an error
 * @ret_line: on -EINVAL/-ENOENT receives the offending line number (may be NULL)
 *
 * Returns: 0, -errno from fopen(), -EINVAL (syntax or value), -ENOENT
 * (unknown key, with *ret_line set), -ENOMEM.
 */
int config_load_file(Config *c, const char *path, bool missing_ok, unsigned *ret_line) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        FILE *f;
        int r = 0;

        error_text[0] = 0;
        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                return -errno;
        }
        while (getline(&line, &cap, f) >= 0) {
                char *s = strip(line), *eq;

                lineno++;
                if (!*s || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        if (s[strlen(s) - 1] != ']') {
                                r = -EINVAL;
                                break;
                        }
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq) {
                        r = -EINVAL;
                        break;
                }
                *eq = 0;
                r = config_set(c, strip(s), strip(eq + 1));
                if (r < 0)
                        break;
        }
        fclose(f);
        if (r < 0 && ret_line)
                *ret_line = lineno;
        return r;
}

static bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/**
 * config_reload_incompatible() - what a reload cannot change
 * @old: running config
 * @new: freshly built config
 *
 * Returns: the first key whose change needs a restart, or NULL.
 */
const char *config_reload_incompatible(const Config *old, const Config *new) {
        if (!streq_ptr(old->transport, new->transport))
                return "transport";
        if (!streq_ptr(old->bus_address, new->bus_address))
                return "bus-address";
        if (!streq_ptr(old->json_socket, new->json_socket))
                return "json-socket";
        if (!streq_ptr(old->tcp_listen, new->tcp_listen))
                return "tcp-listen";
        if (!streq_ptr(old->http_listen, new->http_listen))
                return "http-listen";
        if (!streq_ptr(old->http_root, new->http_root))
                return "http-root";
        if (old->max_clients_per_uid != new->max_clients_per_uid)
                return "max-clients-per-uid";
        if (old->client_line_timeout_s != new->client_line_timeout_s)
                return "client-line-timeout";
        if (old->max_clients != new->max_clients)
                return "max-clients";
        if (!streq_ptr(old->state_dir, new->state_dir))
                return "state-dir";
        if (old->can_id != new->can_id)
                return "can-id";
        if (old->time_scale != new->time_scale)
                return "time-scale";
        if (old->manage_link != new->manage_link || old->bitrate != new->bitrate || old->restart_ms != new->restart_ms)
                return "manage-link/bitrate/restart-ms";
        /* the trust is loaded once, with the image store */
        if (!streq_ptr(old->trusted_keys, new->trusted_keys) || old->require_signed != new->require_signed)
                return "trusted-keys/require-signed";
        return NULL;
}
