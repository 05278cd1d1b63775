/* Unit tests of the configuration parser (daemon/core/config.c): defaults,
 * file syntax, ranges, reload compatibility. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* daemon/core/config.h, not the build's autoconf config.h */
#include "core/config.h"
#include "core/log.h"

static char *write_tmp(const char *text) {
        const char *dir = getenv("TMPDIR");
        char *path;
        FILE *f;
        int fd;

        assert_true(asprintf(&path, "%s/vescd-test-config.XXXXXX", dir ? dir : "/tmp") > 0);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return path;
}

static void test_defaults(void **state) {
        Config c;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(c.can_id, 253);
        assert_string_equal(c.admin_group, "vescd");
        assert_string_equal(c.transport, "socketcan:can0");
        assert_null(c.bus_address);
        assert_true(c.telemetry_rate_hz == 10.0);
        assert_true(c.poll_rate_hz == 5.0);
        assert_true(c.scan_on_start);
        config_done(&c);
        config_done(&c);
}

static void test_set(void **state) {
        Config c;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_set(&c, "can-id", "200"), 0);
        assert_int_equal(c.can_id, 200);
        assert_int_equal(config_set(&c, "can-id", "255"), -EINVAL); /* broadcast */
        assert_int_equal(config_set(&c, "can-id", "-1"), -EINVAL);
        assert_int_equal(config_set(&c, "can-id", "12x"), -EINVAL);
        assert_int_equal(c.can_id, 200);
        assert_int_equal(config_set(&c, "transport", "vbus:/run/x"), 0);
        assert_int_equal(config_set(&c, "transport", "tcp:1.2.3.4"), -EINVAL);
        assert_int_equal(config_set(&c, "transport", "socketcan:"), -EINVAL);
        assert_int_equal(config_set(&c, "time-scale", "0"), -EINVAL);
        assert_int_equal(config_set(&c, "time-scale", "2.5"), 0);
        assert_int_equal(config_set(&c, "log-level", "debug"), 0);
        assert_int_equal(c.log_level, LOG_DEBUG);
        assert_int_equal(config_set(&c, "log-level", "chatty"), -EINVAL);
        assert_int_equal(config_set(&c, "scan-on-start", "no"), 0);
        assert_false(c.scan_on_start);
        assert_int_equal(config_set(&c, "nope", "1"), -ENOENT);
        config_done(&c);
}

static void test_file(void **state) {
        Config c;
        unsigned line = 0;
        char *p = write_tmp("# comment\n[can]\ntransport = vbus:/tmp/bus\n  can-id=201  \n\n[dbus]\n; other\n"
                            "admin-group = wheel\ntelemetry-rate-hz = 20\n");

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_load_file(&c, p, false, &line), 0);
        assert_string_equal(c.transport, "vbus:/tmp/bus");
        assert_int_equal(c.can_id, 201);
        assert_string_equal(c.admin_group, "wheel");
        assert_true(c.telemetry_rate_hz == 20.0);
        unlink(p);
        free(p);

        p = write_tmp("can-id = 1\nbogus line\n");
        assert_int_equal(config_load_file(&c, p, false, &line), -EINVAL);
        assert_int_equal(line, 2);
        unlink(p);
        free(p);

        p = write_tmp("\n\nunknown-key = 1\n");
        assert_int_equal(config_load_file(&c, p, false, &line), -ENOENT);
        assert_int_equal(line, 3);
        unlink(p);
        assert_int_equal(config_load_file(&c, p, true, NULL), 0);
        assert_int_equal(config_load_file(&c, p, false, NULL), -ENOENT);
        free(p);
        config_done(&c);
}

static void test_reload(void **state) {
        Config a, b;

        assert_int_equal(config_init_defaults(&a), 0);
        assert_int_equal(config_init_defaults(&b), 0);
        assert_null(config_reload_incompatible(&a, &b));
        assert_int_equal(config_set(&b, "telemetry-rate-hz", "2"), 0);
        assert_int_equal(config_set(&b, "admin-group", "other"), 0);
        assert_null(config_reload_incompatible(&a, &b));
        assert_int_equal(config_set(&b, "can-id", "9"), 0);
        assert_string_equal(config_reload_incompatible(&a, &b), "can-id");
        config_done(&a);
        config_done(&b);
}

static void test_keys_are_options(void **state) {
        Config c;
        const ConfigKey *k;

        /* every documented key is accepted by config_set() */
        assert_int_equal(config_init_defaults(&c), 0);
        for (k = config_keys(); k->name; k++)
                assert_int_not_equal(config_set(&c, k->name, "x"), -ENOENT);
        config_done(&c);
}


/* mode-NAME keys: limits by value or as a fraction of the configured one;
 * every refusal says why (config_error()). */
static void test_ride_modes(void **state) {
        const RideMode *m;
        Config c;
        char *path;
        unsigned line = 0;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_set(&c, "mode-eco", " current_max_scale=0.5 , max_erpm_scale=0.6,watt_max=800"), 0);
        assert_null(config_error());
        assert_int_equal(config_set(&c, "mode-full", ""), 0);
        assert_int_equal(c.n_modes, 2);
        m = config_find_ride_mode(&c, "eco");
        assert_non_null(m);
        assert_string_equal(m->name, "eco");
        assert_int_equal(m->set, (1u << LIMIT_CURRENT_MAX_SCALE) | (1u << LIMIT_WATT_MAX));
        assert_int_equal(m->scaled, 1u << LIMIT_MAX_ERPM);
        assert_true(m->value[LIMIT_CURRENT_MAX_SCALE] == 0.5);
        assert_true(m->value[LIMIT_MAX_ERPM] == 0.6);
        assert_true(m->value[LIMIT_WATT_MAX] == 800);
        m = config_find_ride_mode(&c, "full");
        assert_non_null(m);
        assert_int_equal(m->set | m->scaled, 0);
        assert_null(config_find_ride_mode(&c, "sport"));
        assert_null(config_find_ride_mode(&c, NULL));

        static const struct {
                const char *key, *value, *error;
        } bad[] = {
                { "mode-eco", "current_max_scale=0.4", "mode-eco is defined twice" },
                { "mode-x", "max_rpm=3", "unknown limit 'max_rpm'" },
                { "mode-x", "current_max_scale_scale=0.5", "unknown limit 'current_max_scale_scale'" },
                { "mode-x", "max_erpm_scale=1.5", "max_erpm_scale=1.5 is out of range (0..1" },
                { "mode-x", "current_max_scale=2", "current_max_scale=2 is out of range (0..1)" },
                { "mode-x", "max_erpm=-5", "max_erpm=-5 is out of range" },
                { "mode-x", "max_erpm=fast", "'fast' is not a number" },
                { "mode-x", "max_erpm", "'max_erpm' is not KEY=VALUE" },
                { "mode-x", "max_erpm=1,,min_duty=0", "empty item" },
                { "mode-x", "max_erpm=1,max_erpm_scale=0.5", "max_erpm is given twice" },
                { "mode-Eco", "max_erpm=1", "a mode name is" },
                { "mode-", "max_erpm=1", "a mode name is" },
                /* a relative path said only "Invalid --state-dir 'run'" */
                { "state-dir", "run", "state-dir must be an absolute path" },
                { "json-socket", "vescd.sock", "json-socket must be an absolute path" },
                { "http-root", "www", "http-root must be an absolute path" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                assert_int_equal(config_set(&c, bad[i].key, bad[i].value), -EINVAL);
                assert_non_null(config_error());
                if (!strstr(config_error(), bad[i].error))
                        fail_msg("%s = %s: '%s' does not say '%s'", bad[i].key, bad[i].value, config_error(),
                                 bad[i].error);
        }
        assert_int_equal(c.n_modes, 2);
        /* a good key clears the text */
        assert_int_equal(config_set(&c, "can-id", "7"), 0);
        assert_null(config_error());
        config_done(&c);
        assert_int_equal(c.n_modes, 0);

        /* in a file: the line of the refusal and its text */
        path = write_tmp("[modes]\nmode-eco = current_max_scale=0.5\nmode-bad = max_erpm_scale=2\n");
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_load_file(&c, path, false, &line), -EINVAL);
        assert_int_equal(line, 3);
        assert_non_null(strstr(config_error(), "mode-bad: max_erpm_scale=2 is out of range"));
        config_done(&c);
        unlink(path);
        free(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),    cmocka_unit_test(test_set),
                cmocka_unit_test(test_file),        cmocka_unit_test(test_reload),
                cmocka_unit_test(test_keys_are_options),
                cmocka_unit_test(test_ride_modes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
