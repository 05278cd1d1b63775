/* JSON socket client for the benchmarks (see bench-json.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-json.h"
#include "macro.h"

static int remaining_ms(uint64_t deadline) {
        uint64_t now = bench_now_usec();

        return now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
}

/**
 * bench_json_open() - connect to the JSON socket and take the hello
 * @j: the client
 * @path: socket path
 * @timeout_ms: bound of the wait for the hello
 *
 * Returns: 0, -errno of connect(), -ETIMEDOUT, -EPROTO (no hello first).
 */
int bench_json_open(BenchJson *j, const char *path, int timeout_ms) {
        char *line = j->line;
        json_t *msg;
        ssize_t n;
        int r = 0;

        j->next_id = 1;
        j->fd = bench_unix_connect(path, SOCK_STREAM);
        if (j->fd < 0)
                return j->fd;
        bench_line_reader_init(&j->rd, j->fd);
        n = bench_line_read(&j->rd, line, sizeof j->line, timeout_ms);
        if (n < 0) {
                bench_json_close(j);
                return (int) n;
        }
        msg = json_loads(line, 0, NULL);
        if (!msg || !json_is_string(json_object_get(msg, "method")) ||
            strcmp(json_string_value(json_object_get(msg, "method")), "hello") != 0)
                r = -EPROTO;
        json_decref(msg);
        if (r < 0)
                bench_json_close(j);
        return r;
}

/**
 * bench_json_close() - disconnect
 * @j: the client (closing twice is harmless)
 */
void bench_json_close(BenchJson *j) {
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}

/**
 * bench_json_send() - send one request
 * @j: the client
 * @method: method name
 * @params: parameters (reference stolen), or NULL
 * @ret_id: receives the request id, or NULL
 *
 * Returns: 0 or -errno.
 */
int bench_json_send(BenchJson *j, const char *method, json_t *params, int *ret_id) {
        json_t *req = json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", j->next_id, "method", method);
        char *text;
        int r;

        if (!req) {
                json_decref(params);
                return -ENOMEM;
        }
        if (params)
                (void) json_object_set_new(req, "params", params);
        text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (!text)
                return -ENOMEM;
        r = bench_write_all(j->fd, text, strlen(text));
        if (r >= 0)
                r = bench_write_all(j->fd, "\n", 1);
        free(text);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = j->next_id;
        j->next_id++;
        return 0;
}

/**
 * bench_json_call() - call a method and wait for its response
 * @j: the client
 * @method: method name
 * @params: parameters (reference stolen), or NULL
 * @timeout_ms: bound of the wait
 * @ret_result: receives the result (new reference), or NULL
 *
 * Returns: 0, -ETIMEDOUT, -EPIPE, -EPROTO for an error response.
 */
int bench_json_call(BenchJson *j, const char *method, json_t *params, int timeout_ms, json_t **ret_result) {
        char *line = j->line;
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC;
        int id, r;

        r = bench_json_send(j, method, params, &id);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = bench_line_read(&j->rd, line, sizeof j->line, remaining_ms(deadline));
                json_t *msg, *err;

                if (n < 0)
                        return (int) n;
                msg = json_loads(line, 0, NULL);
                if (!msg)
                        continue;
                if (json_integer_value(json_object_get(msg, "id")) != id) {
                        json_decref(msg);
                        continue;
                }
                err = json_object_get(msg, "error");
                if (err) {
                        fprintf(stderr, "%s: error %lld: %s\n", method,
                                (long long) json_integer_value(json_object_get(err, "code")),
                                json_string_value(json_object_get(err, "message")) ?: "?");
                        json_decref(msg);
                        return -EPROTO;
                }
                if (ret_result)
                        *ret_result = json_incref(json_object_get(msg, "result"));
                json_decref(msg);
                return 0;
        }
}

static size_t collect_uuids(json_t *result, char uuids[][BENCH_UUID_LEN + 1], size_t max) {
        json_t *list = json_is_array(result) ? result : json_object_get(result, "controllers");
        size_t i, n = 0;
        json_t *c;

        json_array_foreach(list, i, c) {
                const char *u = json_string_value(json_object_get(c, "uuid"));

                if (!u || strlen(u) != BENCH_UUID_LEN || n >= max)
                        continue;
                memcpy(uuids[n], u, BENCH_UUID_LEN + 1);
                n++;
        }
        return n;
}

/**
 * bench_json_wait_controllers() - wait until n controllers are identified
 * @j: the client
 * @n: how many
 * @timeout_ms: bound of the wait
 * @uuids: receives their UUIDs (room for n)
 * @ret_n: receives how many were found
 *
 * Returns: 0, -ETIMEDOUT (with *ret_n set to what was found), -errno.
 */
int bench_json_wait_controllers(BenchJson *j, size_t n, int timeout_ms, char uuids[][BENCH_UUID_LEN + 1],
                                size_t *ret_n) {
        char *line = j->line;
        uint64_t deadline = bench_now_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC;

        *ret_n = 0;
        for (;;) {
                json_t *result = NULL;
                int r;

                r = bench_json_call(j, "controllers.list", NULL, remaining_ms(deadline), &result);
                if (r < 0)
                        return r;
                *ret_n = collect_uuids(result, uuids, n);
                json_decref(result);
                if (*ret_n >= n)
                        return 0;
                /* Wait for the next controller notification, then list again. */
                for (;;) {
                        ssize_t k = bench_line_read(&j->rd, line, sizeof j->line, remaining_ms(deadline));

                        if (k < 0)
                                return (int) k;
                        if (strstr(line, "\"controller."))
                                break;
                }
        }
}
