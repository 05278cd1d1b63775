/* JSON socket protocol, the pure half: bound, parse and validate one request line;
 * build responses, notifications and errors; encode them as one line each.
 *
 * Every method is one row of the core's method table (core/methods.c): its name, who
 * may call it (privileged: not METHOD_ANYONE), and its named parameters with types
 * and bounds, shared with the D-Bus adapter.  Validation is table-driven so that adding
 * a method is one row there, its name here and one handler in json-server.c or
 * json-daemon.c; handlers receive a params object that already passed the table and
 * can read it without further checks.  Unknown parameters are refused rather than
 * ignored so that a dashboard's typo ("rate" for "rate_hz") is an error, not a silent
 * default. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/methods.h"
#include "json/json-proto.h"
#include "macro.h"

static bool streq_ptr(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

/* The wire names of the methods the JSON adapter dispatches (json-server.c,
 * json-daemon.c switch on JsonMethod).  Everything else about a method, its
 * privilege and its parameters with their types and ranges, is its row of
 * the core's method table (core/methods.c), found by this name. */
static const char *const json_method_names[_JSON_METHOD_MAX] = {
        [JSON_METHOD_MANAGER_GET] = "manager.get",
        [JSON_METHOD_CONTROLLERS_LIST] = "controllers.list",
        [JSON_METHOD_CONTROLLERS_SCAN] = "controllers.scan",
        [JSON_METHOD_CONTROLLER_GET] = "controller.get",
        [JSON_METHOD_CONTROLLER_GET_VALUES] = "controller.get_values",
        [JSON_METHOD_CONTROLLER_REBOOT] = "controller.reboot",
        [JSON_METHOD_BOARD_GET] = "board.get",
        [JSON_METHOD_TELEMETRY_WATCH] = "telemetry.watch",
        [JSON_METHOD_TELEMETRY_UNWATCH] = "telemetry.unwatch",
        [JSON_METHOD_TELEMETRY_POLL] = "telemetry.poll",
        [JSON_METHOD_FIRMWARE_SETS] = "firmware.sets",
        [JSON_METHOD_FIRMWARE_UPDATE] = "firmware.update",
        [JSON_METHOD_FIRMWARE_INSTALL] = "firmware.install",
        [JSON_METHOD_FIRMWARE_REMOVE] = "firmware.remove",
        [JSON_METHOD_FIRMWARE_PAIR] = "firmware.pair",
        [JSON_METHOD_FIRMWARE_REPAIR] = "firmware.repair",
        [JSON_METHOD_FIRMWARE_ROLLBACK] = "firmware.rollback",
        [JSON_METHOD_FIRMWARE_BOARD] = "firmware.board",
        [JSON_METHOD_FIRMWARE_PLAN] = "firmware.plan",
        [JSON_METHOD_FIRMWARE_INHIBIT] = "firmware.inhibit",
        [JSON_METHOD_BOARD_FORGET] = "board.forget",
        [JSON_METHOD_JOB_LIST] = "job.list",
        [JSON_METHOD_JOB_HISTORY] = "job.history",
        [JSON_METHOD_JOB_GET] = "job.get",
        [JSON_METHOD_JOB_CANCEL] = "job.cancel",
        [JSON_METHOD_CONFIG_BACKUP] = "config.backup",
        [JSON_METHOD_CONFIG_RESTORE] = "config.restore",
        [JSON_METHOD_CONFIG_GET] = "config.get",
        [JSON_METHOD_CONFIG_SET] = "config.set",
        [JSON_METHOD_CONFIG_DIFF] = "config.diff",
        [JSON_METHOD_CONFIG_COMPARE] = "config.compare",
        [JSON_METHOD_CONFIG_COPY] = "config.copy",
        [JSON_METHOD_LIMITS_SET] = "limits.set",
        [JSON_METHOD_LIMITS_GET] = "limits.get",
        [JSON_METHOD_LIMITS_MODE] = "limits.mode",
};

/**
 * json_method_spec() - the core's row of a method
 * @m: a valid method
 *
 * Every JsonMethod has its row (tests/unit/docs/test-docs-sync.py checks it).
 *
 * Return: the row.
 */
const Method *json_method_spec(JsonMethod m) {
        const Method *spec;

        assert(m >= 0 && m < _JSON_METHOD_MAX);
        spec = method_find_json(json_method_names[m]);
        assert(spec);
        return spec;
}

/**
 * json_method_to_string() - the wire name of a method
 * @m: method
 *
 * Return: a static string, or NULL when @m is out of range.
 */
const char *json_method_to_string(JsonMethod m) {
        if (m < 0 || m >= _JSON_METHOD_MAX)
                return NULL;
        return json_method_names[m];
}

/**
 * json_method_from_string() - look a method up by its wire name
 * @s: name, may be NULL
 *
 * Return: the method, or _JSON_METHOD_INVALID.
 */
JsonMethod json_method_from_string(const char *s) {
        if (!s)
                return _JSON_METHOD_INVALID;
        for (JsonMethod m = 0; m < _JSON_METHOD_MAX; m++)
                if (streq_ptr(json_method_names[m], s))
                        return m;
        return _JSON_METHOD_INVALID;
}

/**
 * json_method_is_privileged() - whether a method needs root or the admin group
 * @m: a valid method
 *
 * Privileged methods change a controller or the daemon's state; they are refused on
 * the read-only TCP listener and to callers without admin rights.
 *
 * Return: true if privileged.
 */
bool json_method_is_privileged(JsonMethod m) {
        return json_method_spec(m)->privilege != METHOD_ANYONE;
}

/**
 * json_rpc_code_message() - the stable message for a JSON-RPC reserved code
 * @code: a JsonRpcCode
 *
 * Return: a static string ("Parse error", ...); "Error" for codes not reserved by
 * JSON-RPC (the daemon's own codes take their message from daemon/errors.h).
 */
const char *json_rpc_code_message(int code) {
        switch (code) {
        case JSON_RPC_PARSE_ERROR:
                return "Parse error";
        case JSON_RPC_INVALID_REQUEST:
                return "Invalid request";
        case JSON_RPC_METHOD_NOT_FOUND:
                return "Method not found";
        case JSON_RPC_INVALID_PARAMS:
                return "Invalid params";
        case JSON_RPC_INTERNAL_ERROR:
                return "Internal error";
        default:
                return "Error";
        }
}

/**
 * json_request_done() - release what a JsonRequest holds
 * @r: request, may be half-filled; left as JSON_REQUEST_NULL
 */
void json_request_done(JsonRequest *r) {
        if (!r)
                return;
        json_decref(r->id);
        json_decref(r->params);
        *r = JSON_REQUEST_NULL;
}

/**
 * json_proto_error_done() - release what a JsonProtoError holds
 * @e: error; left as JSON_PROTO_ERROR_NULL
 */
void json_proto_error_done(JsonProtoError *e) {
        if (!e)
                return;
        json_decref(e->id);
        *e = JSON_PROTO_ERROR_NULL;
}

_printf_(3, 4)
static int fail(JsonProtoError *e, int code, const char *fmt, ...) {
        va_list ap;

        e->code = code;
        va_start(ap, fmt);
        (void) vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/**
 * json_proto_check_depth() - refuse deeply nested input before parsing it
 * @line: bytes of one request, not NUL-terminated
 * @size: number of bytes
 * @max_depth: largest accepted nesting of arrays and objects
 *
 * jansson's own limit (2048) is far above anything a request needs; counting brackets
 * outside strings first keeps the parser's work and stack bounded.  The scan does not
 * validate JSON; the parser does that afterwards.
 *
 * Return: 0 if the nesting is within @max_depth, -E2BIG otherwise.
 */
int json_proto_check_depth(const char *line, size_t size, unsigned max_depth) {
        unsigned depth = 0;
        bool in_string = false, escaped = false;

        for (size_t i = 0; i < size; i++) {
                char c = line[i];

                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '[' || c == '{') {
                        if (++depth > max_depth)
                                return -E2BIG;
                } else if ((c == ']' || c == '}') && depth > 0)
                        depth--;
        }
        return 0;
}

static bool hex_string_valid(const char *s, size_t len) {
        if (!s || strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/**
 * json_proto_uuid_valid() - whether a string names a controller
 * @s: string, may be NULL
 *
 * Return: true for exactly 24 hexadecimal digits (either case).
 */
bool json_proto_uuid_valid(const char *s) {
        return hex_string_valid(s, 24);
}

static json_t *lower_string(const char *s) {
        char buf[JSON_PROTO_NAME_MAX + 1];
        size_t n = strlen(s);

        assert(n < sizeof(buf));
        for (size_t i = 0; i <= n; i++)
                buf[i] = (char) tolower((unsigned char) s[i]);
        return json_string(buf);
}

static bool name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > JSON_PROTO_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '_'))
                        return false;
        return true;
}

static int validate_list(const MethodParam *p, json_t *v, json_t **ret, JsonProtoError *e) {
        json_auto_t *out = NULL;
        size_t i;
        json_t *item;

        if (!json_is_array(v))
                return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be an array", p->name);
        if (json_array_size(v) < (size_t) p->min || json_array_size(v) > (size_t) p->max)
                return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must have %g to %g entries",
                            p->name, p->min, p->max);

        out = json_array();
        if (!out)
                return -ENOMEM;
        json_array_foreach(v, i, item) {
                const char *s = json_string_value(item);
                bool ok = p->type == METHOD_PARAM_UUID_LIST ? json_proto_uuid_valid(s) : s && name_valid(s);

                if (!ok)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s'[%zu] is not a valid %s",
                                    p->name, i, p->type == METHOD_PARAM_UUID_LIST ? "controller uuid" : "field name");
                if (json_array_append_new(out, lower_string(s)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int validate_param(const MethodParam *p, json_t *v, json_t **ret, JsonProtoError *e) {
        const char *s;

        switch (p->type) {
        case METHOD_PARAM_UUID:
        case METHOD_PARAM_SET_ID:
                s = json_string_value(v);
                if (!hex_string_valid(s, p->type == METHOD_PARAM_UUID ? 24 : 16))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be a string of %d hex digits",
                                    p->name, p->type == METHOD_PARAM_UUID ? 24 : 16);
                *ret = lower_string(s);
                break;

        case METHOD_PARAM_UUID_LIST:
        case METHOD_PARAM_NAME_LIST:
                return validate_list(p, v, ret, e);

        case METHOD_PARAM_NUMBER: {
                double d;

                if (!json_is_number(v))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be a number", p->name);
                d = json_number_value(v);
                if (!isfinite(d) || d < p->min || d > p->max)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be within %g and %g",
                                    p->name, p->min, p->max);
                *ret = json_real(d);
                break;
        }

        case METHOD_PARAM_INTEGER: {
                json_int_t n;

                if (!json_is_integer(v))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be an integer", p->name);
                n = json_integer_value(v);
                if ((double) n < p->min || (double) n > p->max)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be within %.0f and %.0f",
                                    p->name, p->min, p->max);
                *ret = json_integer(n);
                break;
        }

        case METHOD_PARAM_BOOL:
                if (!json_is_boolean(v))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be true or false", p->name);
                *ret = json_incref(v);
                break;

        case METHOD_PARAM_STRING: {
                size_t n;

                s = json_string_value(v);
                if (!s)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be a string", p->name);
                n = json_string_length(v);
                if (n < (size_t) p->min || n > (size_t) p->max)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be %g to %g characters",
                                    p->name, p->min, p->max);
                for (size_t i = 0; i < n; i++)
                        if (s[i] < 0x20 || s[i] > 0x7e)
                                return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be printable ASCII", p->name);
                *ret = json_incref(v);
                break;
        }

        case METHOD_PARAM_BASE64:
                s = json_string_value(v);
                if (!s || json_string_length(v) > (size_t) p->max || json_proto_base64_decode(s, NULL, NULL) < 0)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be base64 of at most %g characters",
                                    p->name, p->max);
                *ret = json_incref(v);
                break;

        case METHOD_PARAM_OBJECT:
                if (!json_is_object(v) || json_object_size(v) < (size_t) p->min || json_object_size(v) > (size_t) p->max)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be an object of %g to %g members",
                                    p->name, p->min, p->max);
                *ret = json_incref(v);
                break;

        case METHOD_PARAM_WHICH:
                s = json_string_value(v);
                if (!streq_ptr(s, "mcconf") && !streq_ptr(s, "appconf"))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "'%s' must be \"mcconf\" or \"appconf\"", p->name);
                *ret = json_incref(v);
                break;

        default:
                assert(false);
                return -EINVAL;
        }

        return *ret ? 0 : -ENOMEM;
}

static int validate_params(const Method *m, json_t *params, json_t **ret, JsonProtoError *e) {
        json_auto_t *out = NULL;
        const char *key;
        json_t *v;
        int r;

        out = json_object();
        if (!out)
                return -ENOMEM;

        json_object_foreach(params, key, v) {
                const MethodParam *p = method_param(m, key);
                json_t *n = NULL;

                if (!p)
                        return fail(e, JSON_RPC_INVALID_PARAMS, "unknown parameter '%.64s'", key);
                r = validate_param(p, v, &n, e);
                if (r < 0)
                        return r;
                if (json_object_set_new(out, key, n) < 0)
                        return -ENOMEM;
        }

        for (const MethodParam *p = m->params; p < m->params + METHOD_PARAMS_MAX && p->name; p++)
                if (p->required && !json_object_get(out, p->name))
                        return fail(e, JSON_RPC_INVALID_PARAMS, "missing parameter '%s'", p->name);

        *ret = TAKE_PTR(out);
        return 0;
}

/* JSON-RPC allows string, number or null ids; we also bound string length and refuse
 * fractional numbers, which the specification advises against. */
static bool id_valid(const json_t *id) {
        if (json_is_null(id) || json_is_integer(id))
                return true;
        if (json_is_string(id))
                return json_string_length(id) <= JSON_PROTO_ID_STRING_MAX;
        return false;
}

static bool envelope_member(const char *key) {
        static const char *const known[] = { "jsonrpc", "id", "method", "params" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq_ptr(key, known[i]))
                        return true;
        return false;
}

/**
 * json_proto_parse_request() - parse and validate one request line
 * @line: the line without its newline, not NUL-terminated, untrusted
 * @size: its length in bytes
 * @ret: filled on success; release with json_request_done()
 * @ret_error: filled when the request is refused; release with json_proto_error_done()
 *
 * Checks, in order: length, nesting, JSON syntax (jansson; invalid UTF-8, NUL bytes and
 * duplicate keys are syntax errors), the JSON-RPC 2.0 envelope, the method name and the
 * method's parameter table.  A request whose id could be read carries it into the error
 * so the response can name it.
 *
 * Return: 0 on success, -EINVAL when refused (see @ret_error), -ENOMEM.
 */
int json_proto_parse_request(const char *line, size_t size, JsonRequest *ret, JsonProtoError *ret_error) {
        json_auto_t *root = NULL, *params = NULL;
        json_t *id, *method, *version, *p;
        const char *key;
        json_t *v;
        json_error_t jerr;
        JsonMethod m;
        int r;

        assert(line || size == 0);
        assert(ret);
        assert(ret_error);

        *ret_error = JSON_PROTO_ERROR_NULL;

        if (size > JSON_PROTO_LINE_MAX)
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "request longer than %u bytes", JSON_PROTO_LINE_MAX);
        if (json_proto_check_depth(line, size, JSON_PROTO_DEPTH_MAX) < 0)
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "nesting deeper than %u", JSON_PROTO_DEPTH_MAX);

        root = json_loadb(line, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!root)
                return fail(ret_error, JSON_RPC_PARSE_ERROR, "%s at byte %d", jerr.text, jerr.position);

        if (json_is_array(root))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "batch requests are not supported");
        if (!json_is_object(root))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "a request must be an object");

        id = json_object_get(root, "id");
        if (id && !id_valid(id))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST,
                            "'id' must be a string of at most %u characters, an integer or null",
                            JSON_PROTO_ID_STRING_MAX);
        ret_error->id = json_incref(id);
        ret_error->notification = !id;

        version = json_object_get(root, "jsonrpc");
        if (!streq_ptr(json_string_value(version), "2.0"))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");

        json_object_foreach(root, key, v)
                if (!envelope_member(key))
                        return fail(ret_error, JSON_RPC_INVALID_REQUEST, "unknown member '%.64s'", key);

        method = json_object_get(root, "method");
        if (!json_is_string(method))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "'method' must be a string");
        m = json_method_from_string(json_string_value(method));
        if (m < 0)
                return fail(ret_error, JSON_RPC_METHOD_NOT_FOUND, "no method '%.64s'", json_string_value(method));

        p = json_object_get(root, "params");
        if (p && !json_is_object(p) && !json_is_array(p))
                return fail(ret_error, JSON_RPC_INVALID_REQUEST, "'params' must be an object or an array");
        if (json_is_array(p) && json_array_size(p) > 0)
                return fail(ret_error, JSON_RPC_INVALID_PARAMS, "parameters are passed by name, in an object");

        if (json_is_object(p))
                r = validate_params(json_method_spec(m), p, &params, ret_error);
        else {
                json_auto_t *empty = json_object();

                if (!empty)
                        return -ENOMEM;
                r = validate_params(json_method_spec(m), empty, &params, ret_error);
        }
        if (r < 0)
                return r;

        json_proto_error_done(ret_error);
        *ret = (JsonRequest) {
                .method = m,
                .id = json_incref(id),
                .params = TAKE_PTR(params),
        };
        return 0;
}

/**
 * json_proto_response() - a JSON-RPC success response
 * @id: the request's id (borrowed; NULL is sent as null)
 * @result: the result; reference stolen (NULL is sent as an empty object)
 *
 * Return: a new object, or NULL on allocation failure.
 */
json_t *json_proto_response(json_t *id, json_t *result) {
        return json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", id,
                         "result", result ?: json_object());
}

/**
 * json_proto_error_response() - a JSON-RPC error response
 * @id: the request's id (borrowed; NULL is sent as null)
 * @code: stable numeric code (JsonRpcCode or a daemon code from daemon/errors.h)
 * @message: stable message for @code; NULL takes json_rpc_code_message()
 * @name: stable error name (e.g. "PermissionDenied"), or NULL
 * @detail: what exactly was wrong, or NULL
 *
 * @name and @detail go into the error's "data" object; clients branch on @code.
 *
 * Return: a new object, or NULL on allocation failure.
 */
json_t *json_proto_error_response(json_t *id, int code, const char *message, const char *name, const char *detail) {
        json_auto_t *data = NULL;

        if ((name && *name) || (detail && *detail)) {
                data = json_object();
                if (!data)
                        return NULL;
                if (name && *name && json_object_set_new(data, "name", json_string(name)) < 0)
                        return NULL;
                /* detail may quote bytes of a request: keep it valid UTF-8 for jansson */
                if (detail && *detail && json_object_set_new(data, "detail", json_string(detail) ?: json_string("(not UTF-8)")) < 0)
                        return NULL;
        }

        return json_pack("{s:s, s:O?, s:{s:i, s:s, s:O*}}", "jsonrpc", "2.0", "id", id,
                         "error", "code", code, "message", message ?: json_rpc_code_message(code),
                         "data", data);
}

/**
 * json_proto_notification() - a JSON-RPC notification (no id)
 * @method: notification name, e.g. JSON_NOTIFY_TELEMETRY
 * @params: parameters; reference stolen (NULL is sent as an empty object)
 *
 * Return: a new object, or NULL on allocation failure.
 */
json_t *json_proto_notification(const char *method, json_t *params) {
        return json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method,
                         "params", params ?: json_object());
}

/**
 * json_proto_hello() - the greeting sent first on every connection
 * @daemon_version: vescd's version string
 * @admin: whether this connection may call privileged methods
 * @read_only: whether this is the read-only TCP listener
 *
 * Return: a new notification object, or NULL on allocation failure.
 */
json_t *json_proto_hello(const char *daemon_version, bool admin, bool read_only) {
        char proto[32];

        (void) snprintf(proto, sizeof(proto), "%d.%d", JSON_PROTO_VERSION_MAJOR, JSON_PROTO_VERSION_MINOR);
        return json_proto_notification(JSON_NOTIFY_HELLO,
                json_pack("{s:s, s:i, s:i, s:s, s:s, s:b, s:b}",
                          "protocol", proto,
                          "protocol_major", JSON_PROTO_VERSION_MAJOR,
                          "protocol_minor", JSON_PROTO_VERSION_MINOR,
                          "daemon", "vescd",
                          "version", daemon_version,
                          "admin", admin,
                          "read_only", read_only));
}

/**
 * json_proto_encode() - serialize a message as one protocol line
 * @msg: message
 * @ret: receives a malloc'ed buffer holding compact JSON and a final '\n' (also
 *       NUL-terminated); caller frees
 * @ret_size: receives its length including the newline, excluding the NUL
 *
 * Reals are printed with 12 significant digits, enough for every telemetry value and
 * short of the binary noise ("12.300000000000001") that 17 digits would show.  jansson
 * escapes control characters in strings, so the line holds no newline but the last.
 *
 * Return: 0, -EINVAL (@msg not encodable), -ENOMEM.
 */
int json_proto_encode(const json_t *msg, char **ret, size_t *ret_size) {
        size_t n;
        char *buf;

        assert(msg);
        assert(ret);

        n = json_dumpb(msg, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(12));
        if (n == 0)
                return -EINVAL;
        buf = malloc(n + 2);
        if (!buf)
                return -ENOMEM;
        if (json_dumpb(msg, buf, n, JSON_COMPACT | JSON_REAL_PRECISION(12)) != n) {
                free(buf);
                return -EINVAL;
        }
        buf[n] = '\n';
        buf[n + 1] = '\0';
        *ret = buf;
        if (ret_size)
                *ret_size = n + 1;
        return 0;
}

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/**
 * json_proto_base64_decode() - decode standard padded base64 (configuration blobs)
 * @s: NUL-terminated text
 * @ret: receives a malloc'ed buffer (caller frees), or NULL to only validate
 * @ret_size: receives the decoded length (may be NULL)
 *
 * Return: 0, -EINVAL (not canonical padded base64), -ENOMEM.
 */
int json_proto_base64_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        size_t len = strlen(s), n = 0;
        _cleanup_free_ uint8_t *out = NULL;

        if (len % 4 != 0)
                return -EINVAL;
        if (ret) {
                out = malloc(len / 4 * 3 + 1);
                if (!out)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                unsigned pad = 0;

                for (size_t k = 0; k < 4; k++) {
                        if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                                v[k] = 0;
                                pad++;
                                continue;
                        }
                        if (pad > 0)
                                return -EINVAL; /* data after padding */
                        v[k] = base64_value(s[i + k]);
                        if (v[k] < 0)
                                return -EINVAL;
                }
                uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
                uint8_t b[3] = { (uint8_t) (w >> 16), (uint8_t) (w >> 8), (uint8_t) w };

                for (unsigned k = 0; k < 3 - pad; k++) {
                        if (out)
                                out[n] = b[k];
                        n++;
                }
        }
        if (ret)
                *ret = TAKE_PTR(out);
        if (ret_size)
                *ret_size = n;
        return 0;
}

/**
 * json_proto_base64_encode() - encode bytes as standard padded base64
 * @data: bytes
 * @size: their number
 *
 * Return: a new JSON string, or NULL on allocation failure.
 */
json_t *json_proto_base64_encode(const uint8_t *data, size_t size) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *out = malloc((size + 2) / 3 * 4 + 1);
        size_t n = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t w = (uint32_t) data[i] << 16;

                if (i + 1 < size)
                        w |= (uint32_t) data[i + 1] << 8;
                if (i + 2 < size)
                        w |= data[i + 2];
                out[n++] = alphabet[(w >> 18) & 63];
                out[n++] = alphabet[(w >> 12) & 63];
                out[n++] = i + 1 < size ? alphabet[(w >> 6) & 63] : '=';
                out[n++] = i + 2 < size ? alphabet[w & 63] : '=';
        }
        out[n] = '\0';
        return json_string(out);
}

/**
 * json_proto_rate_to_period_usec() - the minimum spacing of samples for a watch rate
 * @rate_hz: validated rate (JSON_PROTO_RATE_MIN_HZ..JSON_PROTO_RATE_MAX_HZ)
 *
 * Rounded up, so that samples are never closer than the client asked for.
 *
 * Return: the period in microseconds.
 */
uint64_t json_proto_rate_to_period_usec(double rate_hz) {
        assert(rate_hz > 0);
        return (uint64_t) ceil((double) USEC_PER_SEC / rate_hz);
}

/**
 * json_proto_filter_fields() - keep only the requested telemetry fields
 * @values: an object of telemetry values (borrowed)
 * @fields: array of field names (borrowed), or NULL for all fields
 *
 * Names that @values does not hold are skipped: a field the firmware does not report
 * is absent, not an error.
 *
 * Return: a new reference (to @values itself when @fields is NULL), or NULL on
 * allocation failure.
 */
json_t *json_proto_filter_fields(json_t *values, const json_t *fields) {
        json_t *out, *f;
        size_t i;

        assert(values);
        if (!fields)
                return json_incref(values);

        out = json_object();
        if (!out)
                return NULL;
        json_array_foreach(fields, i, f) {
                json_t *v = json_object_get(values, json_string_value(f));

                if (v && json_object_set(out, json_string_value(f), v) < 0) {
                        json_decref(out);
                        return NULL;
                }
        }
        return out;
}
