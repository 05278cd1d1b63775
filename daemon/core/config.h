/* vescd's configuration: defaults < /etc/vescd/vescd.conf < command line.
 *
 * The file is "key = value" lines; "[section]" headers may group keys for
 * readability and are otherwise ignored (key names are unique); '#' and ';'
 * start comments.  Every key is also a command-line option --KEY VALUE.
 * A Config is built whole and then treated as immutable; SIGHUP builds a
 * new one and swaps it in (config_reload_compatible() says what can change
 * at run time).  Documented in docs/vescd.conf.md. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"
#include "macro.h"

/* A ride mode: "mode-NAME = current_max_scale=0.5,max_erpm_scale=0.6" in
 * the file (docs/vescd.conf.md).  Each limit is either set to a value
 * (KEY=VALUE, a key of core/limits.h in its range) or to a fraction of
 * the controller's configured value (KEY_scale=F, 0..1; not for the two
 * current scales, which are fractions already); limits the mode does not
 * name keep the configured value. */
#define RIDE_MODE_NAME_MAX 32
typedef struct RideMode {
        char *name;                 /* "eco" */
        uint32_t set;               /* bit per LimitField: value[] is the limit */
        uint32_t scaled;            /* bit per LimitField: value[] scales the configured limit */
        double value[_LIMIT_MAX];
} RideMode;

typedef struct Config {
        char *transport;            /* "vbus:PATH" or "socketcan:IFACE" */
        char *bus_address;          /* NULL: the system bus */
        char *state_dir;
        char *json_socket;
        char *tcp_listen;           /* JSON over TCP, read-only; NULL: off */
        char *http_listen;          /* HTTP dashboard listener, read-only; NULL: off */
        char *http_root;            /* the dashboard's files */
        unsigned max_clients;       /* JSON socket clients */
        char *admin_group;
        unsigned can_id;            /* vescd's own CAN id, 0..254 */
        double time_scale;          /* multiplies every protocol timeout */
        int log_level;
        double telemetry_rate_hz;   /* Telemetry signal rate */
        double poll_rate_hz;        /* GET_VALUES polling of silent controllers */
        double max_poll_rate_hz;    /* cap when telemetry watches ask for more */
        unsigned offline_timeout_ms;
        bool scan_on_start;
        unsigned rescan_interval_s; /* background PING rescan; 0: off */
        unsigned forget_after_s;    /* unidentified/offline non-members go (×time_scale) */
        unsigned member_after_s;    /* identified+online this long: a board member (×time_scale) */
        unsigned client_line_timeout_s; /* JSON: a partial line older than this closes */
        unsigned max_clients_per_uid;   /* JSON: per non-root uid */
        bool manage_link;           /* socketcan: set bitrate/restart through libsocketcan */
        unsigned bitrate;
        unsigned restart_ms;
        /* firmware updates */
        char *trusted_keys;         /* trust file (docs/image-sets.md); NULL: none */
        bool require_signed;        /* accept only signed image sets */
        unsigned image_set_keep;    /* installed image sets kept (>= 2) */
        double update_min_voltage;  /* input voltage gate; 0: the engine's default (10 V) */
        double update_max_voltage;  /* 0: the engine's default (60 V) */
        /* ride modes (mode-NAME keys), in file order */
        RideMode *modes;
        size_t n_modes;
} Config;

#define VESCD_DEFAULT_CONFIG_FILE SYSCONFDIR "/vescd/vescd.conf"

typedef struct ConfigKey {
        const char *name;
        const char *help;
} ConfigKey;

/* The table of keys, NULL-terminated (for --help and getopt). */
const ConfigKey *config_keys(void);

int config_init_defaults(Config *c);      /* -ENOMEM */
void config_done(Config *c);
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free)

/* Set one key from text.  -ENOENT unknown key, -EINVAL bad value/range
 * (config_error() then may say why). */
int config_set(Config *c, const char *key, const char *value);
/* Why the last config_set() or config_load_file() refused a value, for
 * people ("mode-eco: unknown limit 'max_rpm' (...)"), or NULL.  Static;
 * valid until the next call. */
const char *config_error(void);

/* Parse the value of a mode-NAME key.  -EINVAL with config_error() set. */
int config_parse_ride_mode(const char *name, const char *value, RideMode *ret);
void ride_mode_done(RideMode *m);
/* The mode of that name, or NULL. */
const RideMode *config_find_ride_mode(const Config *c, const char *name);
/* Parse a file.  Missing file with missing_ok: 0.  On a bad line: -EINVAL and
 * *ret_line (if not NULL) = line number. */
int config_load_file(Config *c, const char *path, bool missing_ok, unsigned *ret_line);
/* Returns the name of the first key that differs and cannot change at run
 * time, or NULL if new can replace old in a running daemon. */
const char *config_reload_incompatible(const Config *old, const Config *new);
