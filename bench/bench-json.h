/* A minimal client of vescd's JSON socket for the benchmarks: connect and
 * take the hello, call a method and wait for its response, find the
 * controllers.  Newline-delimited JSON-RPC 2.0 (docs/json-protocol.md). */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "bench-util.h"

#define BENCH_UUID_LEN 24

typedef struct BenchJson {
        int fd;
        int next_id;
        BenchLineReader rd;
        char line[65536];      /* the line being looked at */
} BenchJson;

/* Connect and wait for the hello notification. */
int bench_json_open(BenchJson *j, const char *path, int timeout_ms);
void bench_json_close(BenchJson *j);

/* Send a request (params stolen, may be NULL); its id in *ret_id. */
int bench_json_send(BenchJson *j, const char *method, json_t *params, int *ret_id);
/* Send and wait for the response; notifications meanwhile are dropped.
 * -EPROTO with the error's message on stderr for an error response. */
int bench_json_call(BenchJson *j, const char *method, json_t *params, int timeout_ms, json_t **ret_result);

/* Wait until the daemon lists at least n controllers with a known UUID
 * (waking on controller.added / controller.changed notifications); their
 * UUIDs go into uuids. */
int bench_json_wait_controllers(BenchJson *j, size_t n, int timeout_ms, char uuids[][BENCH_UUID_LEN + 1],
                                size_t *ret_n);
