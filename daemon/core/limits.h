/* The runtime limits of COMM_SET_MCCONF_TEMP (spec §12.4), listed once:
 * X(FIELD, "key", min, max).  The keys are SetLimits' a{sv} keys (in
 * snake_case; D-Bus callers may write them in CamelCase) and limits.set's
 * parameters; the ranges are checked by limit_check() for D-Bus and by the
 * JSON parameter table (json-proto.c), both expanded from this list.
 *
 * Pure: macros and an enum only. */
#pragma once

#define LIMIT_FIELDS(X)                                                    \
        X(LIMIT_CURRENT_MIN_SCALE, "current_min_scale", 0.0, 1.0)          \
        X(LIMIT_CURRENT_MAX_SCALE, "current_max_scale", 0.0, 1.0)          \
        X(LIMIT_MIN_ERPM, "min_erpm", -1e7, 0.0)                           \
        X(LIMIT_MAX_ERPM, "max_erpm", 0.0, 1e7)                            \
        X(LIMIT_MIN_DUTY, "min_duty", 0.0, 1.0)                            \
        X(LIMIT_MAX_DUTY, "max_duty", 0.0, 1.0)                            \
        X(LIMIT_WATT_MIN, "watt_min", -1e7, 0.0)                           \
        X(LIMIT_WATT_MAX, "watt_max", 0.0, 1e7)                            \
        X(LIMIT_IN_CURRENT_MIN, "in_current_min", -1e7, 0.0)               \
        X(LIMIT_IN_CURRENT_MAX, "in_current_max", 0.0, 1e7)

#define LIMIT_ENUM_ROW(f, key, lo, hi) f,
typedef enum LimitField {
        LIMIT_FIELDS(LIMIT_ENUM_ROW)
        _LIMIT_MAX,
} LimitField;
#undef LIMIT_ENUM_ROW
