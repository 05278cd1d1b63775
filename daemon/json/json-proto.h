/* The JSON socket protocol without I/O: newline-delimited JSON-RPC 2.0 requests are
 * bounded, parsed and validated against one method table here; responses,
 * notifications and error objects are built here.  json-server.c owns sockets and the
 * daemon; this module owns what goes over them, so it can be unit-tested and fuzzed
 * on its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/methods.h"

/* Protocol version announced in the hello notification.  Minor: additions only. */
#define JSON_PROTO_VERSION_MAJOR 2
#define JSON_PROTO_VERSION_MINOR 0

/* Bounds on untrusted input. */
#define JSON_PROTO_LINE_MAX (64U * 1024U)   /* bytes per request line, newline excluded */
#define JSON_PROTO_DEPTH_MAX 16U            /* nesting of arrays/objects in one request */
#define JSON_PROTO_ID_STRING_MAX 128U       /* length of a string request id */
#define JSON_PROTO_LIST_MAX METHOD_LIST_MAX  /* entries in a controllers/fields list */
#define JSON_PROTO_NAME_MAX 64U             /* length of one field name */
#define JSON_PROTO_RATE_MIN_HZ METHOD_RATE_MIN_HZ
#define JSON_PROTO_RATE_MAX_HZ METHOD_RATE_MAX_HZ
#define JSON_PROTO_RATE_DEFAULT_HZ 10.0

/* JSON-RPC 2.0 reserved codes.  The daemon's own stable codes (1000 and up) come from
 * daemon/errors.h; both sets are listed in docs/json-protocol.md. */
typedef enum JsonRpcCode {
        JSON_RPC_PARSE_ERROR = -32700,
        JSON_RPC_INVALID_REQUEST = -32600,
        JSON_RPC_METHOD_NOT_FOUND = -32601,
        JSON_RPC_INVALID_PARAMS = -32602,
        JSON_RPC_INTERNAL_ERROR = -32603,
} JsonRpcCode;

typedef enum JsonMethod {
        JSON_METHOD_MANAGER_GET,
        JSON_METHOD_CONTROLLERS_LIST,
        JSON_METHOD_CONTROLLERS_SCAN,
        JSON_METHOD_CONTROLLER_GET,
        JSON_METHOD_CONTROLLER_GET_VALUES,
        JSON_METHOD_CONTROLLER_REBOOT,
        JSON_METHOD_BOARD_GET,
        JSON_METHOD_TELEMETRY_WATCH,
        JSON_METHOD_TELEMETRY_UNWATCH,
        JSON_METHOD_TELEMETRY_POLL,
        JSON_METHOD_FIRMWARE_SETS,
        JSON_METHOD_FIRMWARE_UPDATE,
        JSON_METHOD_JOB_GET,
        JSON_METHOD_JOB_CANCEL,
        JSON_METHOD_CONFIG_BACKUP,
        JSON_METHOD_CONFIG_RESTORE,
        JSON_METHOD_CONFIG_COMPARE,
        JSON_METHOD_CONFIG_COPY,
        JSON_METHOD_LIMITS_SET,
        JSON_METHOD_FIRMWARE_INSTALL,
        JSON_METHOD_FIRMWARE_REMOVE,
        JSON_METHOD_FIRMWARE_PAIR,
        JSON_METHOD_FIRMWARE_REPAIR,
        JSON_METHOD_JOB_LIST,
        JSON_METHOD_JOB_HISTORY,
        JSON_METHOD_FIRMWARE_ROLLBACK,
        JSON_METHOD_FIRMWARE_BOARD,
        JSON_METHOD_BOARD_FORGET,
        JSON_METHOD_CONFIG_GET,
        JSON_METHOD_CONFIG_SET,
        JSON_METHOD_CONFIG_DIFF,
        JSON_METHOD_LIMITS_GET,
        JSON_METHOD_LIMITS_MODE,
        JSON_METHOD_FIRMWARE_PLAN,
        JSON_METHOD_FIRMWARE_INHIBIT,
        _JSON_METHOD_MAX,
        _JSON_METHOD_INVALID = -22, /* -EINVAL */
} JsonMethod;

/* Notification method names sent by the server. */
#define JSON_NOTIFY_HELLO "hello"
#define JSON_NOTIFY_TELEMETRY "telemetry"
#define JSON_NOTIFY_CONTROLLER_ADDED "controller.added"
#define JSON_NOTIFY_CONTROLLER_REMOVED "controller.removed"
#define JSON_NOTIFY_CONTROLLER_CHANGED "controller.changed"
#define JSON_NOTIFY_BOARD_CHANGED "board.changed"
#define JSON_NOTIFY_JOB_CHANGED "job.changed"
#define JSON_NOTIFY_SET_REMOVED "firmware.set_removed"

/* A parsed, validated request.  params is always an object whose members passed the
 * method's parameter table (unknown members are refused), with uuids lower-cased. */
typedef struct JsonRequest {
        JsonMethod method;
        json_t *id;     /* owned; NULL for a notification (no "id" member) */
        json_t *params; /* owned; never NULL after a successful parse */
} JsonRequest;

#define JSON_REQUEST_NULL ((JsonRequest) { .method = _JSON_METHOD_INVALID })

/* Why a request was refused, enough to build the error response. */
typedef struct JsonProtoError {
        int code;         /* JsonRpcCode */
        json_t *id;       /* owned; the request id if it could be read, else NULL (→ null) */
        bool notification; /* the request had no id: JSON-RPC sends no response */
        char detail[160]; /* human-readable specifics, e.g. the offending parameter */
} JsonProtoError;

#define JSON_PROTO_ERROR_NULL ((JsonProtoError) {})

void json_request_done(JsonRequest *r);
void json_proto_error_done(JsonProtoError *e);

const char *json_method_to_string(JsonMethod m);
JsonMethod json_method_from_string(const char *s);
bool json_method_is_privileged(JsonMethod m);
/* The method's row of the core's method table (privilege, parameters). */
const Method *json_method_spec(JsonMethod m);

const char *json_rpc_code_message(int code);

int json_proto_parse_request(const char *line, size_t size, JsonRequest *ret, JsonProtoError *ret_error);
int json_proto_check_depth(const char *line, size_t size, unsigned max_depth);
bool json_proto_uuid_valid(const char *s);

json_t *json_proto_response(json_t *id, json_t *result);
json_t *json_proto_error_response(json_t *id, int code, const char *message, const char *name, const char *detail);
json_t *json_proto_notification(const char *method, json_t *params);
json_t *json_proto_hello(const char *daemon_version, bool admin, bool read_only);
int json_proto_encode(const json_t *msg, char **ret, size_t *ret_size);

int json_proto_base64_decode(const char *s, uint8_t **ret, size_t *ret_size);
json_t *json_proto_base64_encode(const uint8_t *data, size_t size);

uint64_t json_proto_rate_to_period_usec(double rate_hz);
json_t *json_proto_filter_fields(json_t *values, const json_t *fields);
