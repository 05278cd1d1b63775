/* libFuzzer entry point for the JSON socket's request parser (daemon/json-proto.c).
 * The input is split into lines as the server splits a client's stream; each line is
 * parsed, and the response the server would send is built and encoded.  Invariants:
 * no crash or leak, errors carry a reserved JSON-RPC code and a detail, and every
 * encoded message is exactly one line. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "json/json-proto.h"
#include "macro.h"

static void check_line(const json_t *msg) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        FUZZ_CHECK(msg);
        FUZZ_CHECK(json_proto_encode(msg, &s, &n) == 0);
        FUZZ_CHECK(n > 0 && s[n - 1] == '\n');
        FUZZ_CHECK(memchr(s, '\n', n - 1) == NULL);
}

static void one_line(const char *line, size_t size) {
        JsonRequest req = JSON_REQUEST_NULL;
        JsonProtoError err = JSON_PROTO_ERROR_NULL;
        json_t *msg;
        int r;

        r = json_proto_parse_request(line, size, &req, &err);
        if (r == 0) {
                FUZZ_CHECK(json_method_to_string(req.method));
                FUZZ_CHECK(json_is_object(req.params));
                msg = json_proto_response(req.id, json_incref(req.params));
        } else {
                FUZZ_CHECK(r == -EINVAL);
                FUZZ_CHECK(err.code == JSON_RPC_PARSE_ERROR || err.code == JSON_RPC_INVALID_REQUEST ||
                       err.code == JSON_RPC_METHOD_NOT_FOUND || err.code == JSON_RPC_INVALID_PARAMS);
                FUZZ_CHECK(err.detail[0] != '\0');
                msg = json_proto_error_response(err.id, err.code, NULL, NULL, err.detail);
        }
        check_line(msg);
        json_decref(msg);
        json_request_done(&req);
        json_proto_error_done(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                one_line(p, n);
                p += n + 1;
        }
        return 0;
}
