/* Unit tests for daemon/json/json-proto.c: every method's parameter table, every JSON-RPC
 * error the parser can return, and the encoders.  Table-driven: one row per request
 * line and the outcome it must have. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json/json-proto.h"
#include "macro.h"

#define UUID_A "3c0029000d51393236353934"
#define UUID_B "2f002b001451363336333531"

typedef struct ParseCase {
        const char *line;
        int code;              /* 0 = accepted */
        JsonMethod method;     /* when accepted */
        bool notification;     /* request has no id */
        const char *detail;    /* substring expected in the detail, or NULL */
} ParseCase;

#define OK(l, m) { .line = l, .code = 0, .method = m }
#define BAD(l, c, d) { .line = l, .code = c, .detail = d }

static const ParseCase parse_cases[] = {
        /* every method, minimal valid params */
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"manager.get\"}", JSON_METHOD_MANAGER_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controllers.list\"}", JSON_METHOD_CONTROLLERS_LIST),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controllers.scan\"}", JSON_METHOD_CONTROLLERS_SCAN),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controller.get_values\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_METHOD_CONTROLLER_GET_VALUES),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controllers.list\",\"params\":[]}", JSON_METHOD_CONTROLLERS_LIST),
        OK("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"controller.get\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_METHOD_CONTROLLER_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"controller.reboot\",\"params\":{\"uuid\":\"" UUID_B "\"}}", JSON_METHOD_CONTROLLER_REBOOT),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"params\":{}}", JSON_METHOD_BOARD_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\"}", JSON_METHOD_TELEMETRY_WATCH),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"controllers\":[\"" UUID_A "\",\"" UUID_B "\"],\"fields\":[\"erpm\",\"v_in\"],\"rate_hz\":5}}", JSON_METHOD_TELEMETRY_WATCH),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate_hz\":0.1}}", JSON_METHOD_TELEMETRY_WATCH),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.unwatch\"}", JSON_METHOD_TELEMETRY_UNWATCH),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.poll\",\"params\":{\"fields\":[\"erpm\"]}}", JSON_METHOD_TELEMETRY_POLL),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"firmware.sets\"}", JSON_METHOD_FIRMWARE_SETS),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"firmware.update\",\"params\":{\"set\":\"0123456789ABCDEF\"}}", JSON_METHOD_FIRMWARE_UPDATE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.get\",\"params\":{\"job\":1}}", JSON_METHOD_JOB_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.cancel\",\"params\":{\"job\":2147483647}}", JSON_METHOD_JOB_CANCEL),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.backup\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_METHOD_CONFIG_BACKUP),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.restore\",\"params\":{\"uuid\":\"" UUID_A "\",\"mcconf\":\"AAECAw==\",\"appconf\":\"\"}}", JSON_METHOD_CONFIG_RESTORE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.get\",\"params\":{\"uuid\":\"" UUID_A "\",\"which\":\"appconf\"}}", JSON_METHOD_CONFIG_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"which\":\"mcconf\",\"params\":{\"l_current_max\":50}}}", JSON_METHOD_CONFIG_SET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.diff\",\"params\":{\"uuid\":\"" UUID_A "\",\"other\":\"" UUID_A "\",\"which\":\"mcconf\"}}", JSON_METHOD_CONFIG_DIFF),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.restore\",\"params\":{\"uuid\":\"" UUID_A "\",\"backup\":{\"format\":1}}}", JSON_METHOD_CONFIG_RESTORE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.compare\",\"params\":{\"uuid\":\"" UUID_A "\",\"other\":\"" UUID_B "\"}}", JSON_METHOD_CONFIG_COMPARE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.copy\",\"params\":{\"from\":\"" UUID_A "\",\"to\":\"" UUID_B "\"}}", JSON_METHOD_CONFIG_COPY),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.get\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_METHOD_LIMITS_GET),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.mode\",\"params\":{\"mode\":\"eco\"}}", JSON_METHOD_LIMITS_MODE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.mode\",\"params\":{\"mode\":\"\"}}", JSON_METHOD_LIMITS_MODE),
        OK("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"current_max_scale\":0.5,\"max_erpm\":20000,\"min_erpm\":-5000,\"store\":false}}", JSON_METHOD_LIMITS_SET),
        /* whitespace around the value is fine */
        OK("  {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\"}  ", JSON_METHOD_BOARD_GET),

        /* notifications parse; the caller sends nothing back */
        { .line = "{\"jsonrpc\":\"2.0\",\"method\":\"board.get\"}", .code = 0, .method = JSON_METHOD_BOARD_GET, .notification = true },

        /* -32700 parse error */
        BAD("", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\"} {}", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\"}", JSON_RPC_PARSE_ERROR, "duplicate"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.\xff\"}", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc3\x28\"}", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0000b\"}", JSON_RPC_PARSE_ERROR, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999999,\"method\":\"board.get\"}", JSON_RPC_PARSE_ERROR, NULL),
        BAD("\x01\x02\x03\x80\xfe", JSON_RPC_PARSE_ERROR, NULL),

        /* -32600 invalid request */
        BAD("[]", JSON_RPC_INVALID_REQUEST, "batch"),
        BAD("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\"}]", JSON_RPC_INVALID_REQUEST, "batch"),
        BAD("42", JSON_RPC_INVALID_REQUEST, NULL),
        BAD("\"board.get\"", JSON_RPC_INVALID_REQUEST, NULL),
        BAD("{\"id\":1,\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "jsonrpc"),
        BAD("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "jsonrpc"),
        BAD("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "jsonrpc"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1}", JSON_RPC_INVALID_REQUEST, "method"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", JSON_RPC_INVALID_REQUEST, "method"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "id"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "id"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"board.get\"}", JSON_RPC_INVALID_REQUEST, "id"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"param\":{}}", JSON_RPC_INVALID_REQUEST, "param"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"params\":3}", JSON_RPC_INVALID_REQUEST, "params"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"params\":null}", JSON_RPC_INVALID_REQUEST, "params"),
        BAD("{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", JSON_RPC_INVALID_REQUEST, "nesting"),

        /* -32601 method not found */
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.set\"}", JSON_RPC_METHOD_NOT_FOUND, "board.set"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", JSON_RPC_METHOD_NOT_FOUND, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.discover\"}", JSON_RPC_METHOD_NOT_FOUND, NULL),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\"}", JSON_RPC_METHOD_NOT_FOUND, NULL),

        /* -32602 invalid params */
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"params\":[1]}", JSON_RPC_INVALID_PARAMS, "by name"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"board.get\",\"params\":{\"x\":1}}", JSON_RPC_INVALID_PARAMS, "unknown parameter 'x'"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controller.get\"}", JSON_RPC_INVALID_PARAMS, "missing parameter 'uuid'"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controller.get\",\"params\":{\"uuid\":12}}", JSON_RPC_INVALID_PARAMS, "uuid"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controller.get\",\"params\":{\"uuid\":\"3c0029000d5139323635393\"}}", JSON_RPC_INVALID_PARAMS, "uuid"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"controller.get\",\"params\":{\"uuid\":\"3c0029000d513932363593zz\"}}", JSON_RPC_INVALID_PARAMS, "uuid"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate_hz\":0}}", JSON_RPC_INVALID_PARAMS, "rate_hz"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate_hz\":-5}}", JSON_RPC_INVALID_PARAMS, "rate_hz"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate_hz\":1e9}}", JSON_RPC_INVALID_PARAMS, "rate_hz"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate_hz\":\"5\"}}", JSON_RPC_INVALID_PARAMS, "rate_hz"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"controllers\":[]}}", JSON_RPC_INVALID_PARAMS, "controllers"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"controllers\":\"" UUID_A "\"}}", JSON_RPC_INVALID_PARAMS, "controllers"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"controllers\":[12]}}", JSON_RPC_INVALID_PARAMS, "controllers"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"fields\":[\"ERPM\"]}}", JSON_RPC_INVALID_PARAMS, "fields"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"fields\":[\"\"]}}", JSON_RPC_INVALID_PARAMS, "fields"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"telemetry.watch\",\"params\":{\"rate\":5}}", JSON_RPC_INVALID_PARAMS, "rate"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"firmware.update\",\"params\":{}}", JSON_RPC_INVALID_PARAMS, "set"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"firmware.update\",\"params\":{\"set\":\"xyz\"}}", JSON_RPC_INVALID_PARAMS, "set"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.get\",\"params\":{\"job\":0}}", JSON_RPC_INVALID_PARAMS, "job"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.get\",\"params\":{\"job\":1.5}}", JSON_RPC_INVALID_PARAMS, "job"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.cancel\",\"params\":{\"job\":4294967296}}", JSON_RPC_INVALID_PARAMS, "job"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.restore\",\"params\":{\"uuid\":\"" UUID_A "\",\"mcconf\":\"AAE\"}}", JSON_RPC_INVALID_PARAMS, "mcconf"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.get\",\"params\":{\"uuid\":\"" UUID_A "\",\"which\":\"motor\"}}", JSON_RPC_INVALID_PARAMS, "which"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.get\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_RPC_INVALID_PARAMS, "which"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"which\":\"mcconf\",\"params\":{}}}", JSON_RPC_INVALID_PARAMS, "params"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"which\":\"mcconf\",\"params\":[1]}}", JSON_RPC_INVALID_PARAMS, "params"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.restore\",\"params\":{\"uuid\":\"" UUID_A "\",\"appconf\":\"AA=A\"}}", JSON_RPC_INVALID_PARAMS, "appconf"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.restore\",\"params\":{\"uuid\":\"" UUID_A "\",\"appconf\":\"AA\\nA\"}}", JSON_RPC_INVALID_PARAMS, "appconf"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.compare\",\"params\":{\"uuid\":\"" UUID_A "\"}}", JSON_RPC_INVALID_PARAMS, "other"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"config.copy\",\"params\":{\"from\":\"" UUID_A "\"}}", JSON_RPC_INVALID_PARAMS, "to"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"current_max_scale\":1.5}}", JSON_RPC_INVALID_PARAMS, "current_max_scale"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"min_erpm\":100}}", JSON_RPC_INVALID_PARAMS, "min_erpm"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.set\",\"params\":{\"uuid\":\"" UUID_A "\",\"store\":1}}", JSON_RPC_INVALID_PARAMS, "store"),
        BAD("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"limits.set\",\"params\":{\"max_erpm\":100}}", JSON_RPC_INVALID_PARAMS, "uuid"),
};

static void test_parse_row(const ParseCase *c) {
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;
        int r;

        r = json_proto_parse_request(c->line, strlen(c->line), &req, &err);
        if (c->code == 0) {
                if (r < 0)
                        fail_msg("refused: %s: %d %s", c->line, err.code, err.detail);
                assert_int_equal(req.method, c->method);
                assert_non_null(req.params);
                assert_true(json_is_object(req.params));
                assert_true(c->notification == !req.id);
        } else {
                if (r != -EINVAL)
                        fail_msg("accepted: %s (r=%d)", c->line, r);
                if (err.code != c->code)
                        fail_msg("%s: code %d, expected %d (%s)", c->line, err.code, c->code, err.detail);
                assert_true(err.detail[0] != '\0');
                if (c->detail && !strstr(err.detail, c->detail))
                        fail_msg("%s: detail '%s' lacks '%s'", c->line, err.detail, c->detail);
        }
        json_request_done(&req);
        json_proto_error_done(&err);
}

static void test_parse_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++)
                test_parse_row(&parse_cases[i]);
}

static void test_error_keeps_id(void **state) {
        static const char line[] = "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"method\":\"nope\"}";
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;

        assert_int_equal(json_proto_parse_request(line, strlen(line), &req, &err), -EINVAL);
        assert_int_equal(err.code, JSON_RPC_METHOD_NOT_FOUND);
        assert_string_equal(json_string_value(err.id), "req-7");
        assert_false(err.notification);
        json_proto_error_done(&err);

        /* an unknown method in a notification: refused, but no response is due */
        static const char notif[] = "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}";
        assert_int_equal(json_proto_parse_request(notif, strlen(notif), &req, &err), -EINVAL);
        assert_true(err.notification);
        assert_null(err.id);
        json_proto_error_done(&err);

        /* unreadable id: the error goes to id null */
        static const char badid[] = "{\"jsonrpc\":\"2.0\",\"id\":[],\"method\":\"board.get\"}";
        assert_int_equal(json_proto_parse_request(badid, strlen(badid), &req, &err), -EINVAL);
        assert_null(err.id);
        assert_false(err.notification);
        json_proto_error_done(&err);
}

static void test_normalized_params(void **state) {
        static const char line[] =
                "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"telemetry.watch\",\"params\":"
                "{\"controllers\":[\"3C0029000D51393236353934\"],\"rate_hz\":5}}";
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;
        json_t *v;

        assert_int_equal(json_proto_parse_request(line, strlen(line), &req, &err), 0);
        v = json_array_get(json_object_get(req.params, "controllers"), 0);
        assert_string_equal(json_string_value(v), UUID_A);
        v = json_object_get(req.params, "rate_hz");
        assert_true(json_is_real(v));
        assert_true(json_real_value(v) == 5.0);
        assert_int_equal(json_integer_value(req.id), 3);
        json_request_done(&req);
}

static void test_long_line(void **state) {
        size_t n = JSON_PROTO_LINE_MAX + 1;
        _cleanup_free_ char *line = malloc(n);
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;

        assert_non_null(line);
        memset(line, ' ', n);
        assert_int_equal(json_proto_parse_request(line, n, &req, &err), -EINVAL);
        assert_int_equal(err.code, JSON_RPC_INVALID_REQUEST);
        json_proto_error_done(&err);
}

static void test_depth(void **state) {
        char buf[256];
        size_t n = 0;

        /* brackets inside strings do not count */
        static const char quoted[] = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[\"}";
        assert_int_equal(json_proto_check_depth(quoted, strlen(quoted), 2), 0);

        for (unsigned i = 0; i < JSON_PROTO_DEPTH_MAX; i++)
                buf[n++] = '[';
        for (unsigned i = 0; i < JSON_PROTO_DEPTH_MAX; i++)
                buf[n++] = ']';
        assert_int_equal(json_proto_check_depth(buf, n, JSON_PROTO_DEPTH_MAX), 0);
        assert_int_equal(json_proto_check_depth(buf, n, JSON_PROTO_DEPTH_MAX - 1), -E2BIG);
}

static void test_method_table(void **state) {
        static const char *const privileged[] = {
                "controller.reboot", "firmware.update", "job.cancel",
                "config.restore", "config.copy", "limits.set",
                "firmware.install", "firmware.remove", "firmware.pair", "firmware.repair",
                "firmware.rollback", "firmware.board", "board.forget", "config.set", "limits.mode",
                "firmware.inhibit",
        };

        for (JsonMethod m = 0; m < _JSON_METHOD_MAX; m++) {
                const char *name = json_method_to_string(m);
                bool expect = false;

                assert_non_null(name);
                assert_int_equal(json_method_from_string(name), m);
                for (size_t i = 0; i < ELEMENTSOF(privileged); i++)
                        if (strcmp(privileged[i], name) == 0)
                                expect = true;
                assert_true(json_method_is_privileged(m) == expect);
        }
        assert_null(json_method_to_string(_JSON_METHOD_MAX));
        assert_int_equal(json_method_from_string("nope"), _JSON_METHOD_INVALID);
        assert_int_equal(json_method_from_string(NULL), _JSON_METHOD_INVALID);
}

static void assert_encodes(json_t *msg, const char *expected) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        assert_non_null(msg);
        assert_int_equal(json_proto_encode(msg, &s, &n), 0);
        assert_string_equal(s, expected);
        assert_int_equal(n, strlen(expected));
        json_decref(msg);
}

static void test_encode(void **state) {
        json_auto_t *id = json_integer(7);
        json_auto_t *sid = json_string("a");

        assert_encodes(json_proto_response(id, json_pack("{s:f}", "x", 12.3)),
                       "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"x\":12.3}}\n");
        assert_encodes(json_proto_response(NULL, NULL),
                       "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n");
        assert_encodes(json_proto_error_response(sid, JSON_RPC_METHOD_NOT_FOUND, NULL, NULL, NULL),
                       "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n");
        assert_encodes(json_proto_error_response(NULL, 1001, "Permission denied", "PermissionDenied", "limits.set needs admin"),
                       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1001,\"message\":\"Permission denied\","
                       "\"data\":{\"name\":\"PermissionDenied\",\"detail\":\"limits.set needs admin\"}}}\n");
        /* invalid UTF-8 in a detail must not break the response */
        assert_encodes(json_proto_error_response(NULL, JSON_RPC_PARSE_ERROR, NULL, NULL, "bad \xff"),
                       "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\","
                       "\"data\":{\"detail\":\"(not UTF-8)\"}}}\n");
        assert_encodes(json_proto_notification("board.changed", json_pack("{s:s}", "a", "x\ny")),
                       "{\"jsonrpc\":\"2.0\",\"method\":\"board.changed\",\"params\":{\"a\":\"x\\ny\"}}\n");
        assert_encodes(json_proto_hello("0.1.0", true, false),
                       "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":{\"protocol\":\"2.0\",\"protocol_major\":2,"
                       "\"protocol_minor\":0,\"daemon\":\"vescd\",\"version\":\"0.1.0\",\"admin\":true,\"read_only\":false}}\n");
}

static void test_rate(void **state) {
        assert_int_equal(json_proto_rate_to_period_usec(5.0), 200000);
        assert_int_equal(json_proto_rate_to_period_usec(1000.0), 1000);
        assert_int_equal(json_proto_rate_to_period_usec(0.1), 10000000);
        assert_int_equal(json_proto_rate_to_period_usec(3.0), 333334);
}

static void test_filter(void **state) {
        json_auto_t *values = json_pack("{s:f, s:i, s:f}", "v_in", 36.5, "erpm", 1200, "duty", 0.1);
        json_auto_t *fields = json_pack("[s, s]", "erpm", "missing");
        json_auto_t *all = NULL, *some = NULL;

        all = json_proto_filter_fields(values, NULL);
        assert_ptr_equal(all, values);
        some = json_proto_filter_fields(values, fields);
        assert_int_equal(json_object_size(some), 1);
        assert_int_equal(json_integer_value(json_object_get(some, "erpm")), 1200);
}

static void test_base64(void **state) {
        static const struct { const char *text; const char *bytes; size_t n; } rows[] = {
                { "", "", 0 },
                { "Zg==", "f", 1 },
                { "Zm8=", "fo", 2 },
                { "Zm9v", "foo", 3 },
                { "AP8Q/w==", "\x00\xff\x10\xff", 4 },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ uint8_t *out = NULL;
                json_auto_t *enc = NULL;
                size_t n = 99;

                assert_int_equal(json_proto_base64_decode(rows[i].text, &out, &n), 0);
                assert_int_equal(n, rows[i].n);
                assert_memory_equal(out, rows[i].bytes, n);
                enc = json_proto_base64_encode((const uint8_t *) rows[i].bytes, rows[i].n);
                assert_string_equal(json_string_value(enc), rows[i].text);
        }
        assert_int_equal(json_proto_base64_decode("Zg=", NULL, NULL), -EINVAL);
        assert_int_equal(json_proto_base64_decode("Z===", NULL, NULL), -EINVAL);
        assert_int_equal(json_proto_base64_decode("Zg==Zg==", NULL, NULL), -EINVAL);
        assert_int_equal(json_proto_base64_decode("Zm9*", NULL, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_table),
                cmocka_unit_test(test_error_keeps_id),
                cmocka_unit_test(test_normalized_params),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_method_table),
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_rate),
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_base64),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
