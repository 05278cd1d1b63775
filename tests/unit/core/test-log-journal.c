/* Journal records (daemon/core/log.c) go out in journald's native protocol
 * and never block: a journal socket whose queue is full drops them, counts
 * them, and the next record that goes through is preceded by "dropped K log
 * messages".  The "journal" here is a datagram socket the test binds and
 * reads only when it chooses to, so its queue fills. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"

#define MESSAGES 20000

typedef struct Journal {
        char dir[64];
        char path[128];
        int fd;
} Journal;

static void journal_open(Journal *j) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        strcpy(j->dir, "/tmp/test-log-journal.XXXXXX");
        assert_non_null(mkdtemp(j->dir));
        snprintf(j->path, sizeof j->path, "%s/socket", j->dir);
        strcpy(sa.sun_path, j->path);
        j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(j->fd >= 0);
        assert_int_equal(bind(j->fd, (struct sockaddr *) &sa, sizeof sa), 0);
        assert_int_equal(log_set_journal_socket(j->path), 0);
}

static void journal_close(Journal *j) {
        close(j->fd);
        unlink(j->path);
        rmdir(j->dir);
}

/* The next record, NUL-terminated; 0 when none is queued. */
static ssize_t journal_next(Journal *j, char *buf, size_t size) {
        ssize_t n = recv(j->fd, buf, size - 1, MSG_DONTWAIT);

        if (n < 0) {
                assert_true(errno == EAGAIN);
                return 0;
        }
        buf[n] = '\0';
        return n;
}

static void test_record_fields(void **state) {
        Journal j;
        char buf[4096];
        ssize_t n;

        journal_open(&j);
        log_internal(LOG_WARNING, ENOENT, "3c0029000d51393236353934", 7, "some_func", "hello %s", "there");
        n = journal_next(&j, buf, sizeof buf);
        assert_true(n > 0);
        assert_non_null(strstr(buf, "MESSAGE=controller 3c0029000d51393236353934 (id 7): hello there\n"));
        assert_non_null(strstr(buf, "\nPRIORITY=4\n"));
        assert_non_null(strstr(buf, "\nCODE_FUNC=some_func\n"));
        assert_non_null(strstr(buf, "\nVESC_UUID=3c0029000d51393236353934\n"));
        assert_non_null(strstr(buf, "\nVESC_CAN_ID=7\n"));
        assert_non_null(strstr(buf, "\nERRNO=2\n"));

        /* a value with a newline: NAME, newline, 64-bit LE length, value, newline */
        log_internal(LOG_INFO, 0, NULL, -1, "f", "two\nlines");
        n = journal_next(&j, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(memcmp(buf, "MESSAGE\n\x09\0\0\0\0\0\0\0two\nlines\n", 8 + 8 + 10), 0);
        assert_non_null(memmem(buf, (size_t) n, "\nPRIORITY=6\n", 12));
        journal_close(&j);
}

static void test_full_socket_drops_and_counts(void **state) {
        Journal j;
        char buf[4096];
        unsigned queued = 0, dropped = 0;
        ssize_t n;

        journal_open(&j);
        /* a blocking send would hang here: the guard turns that into a failure */
        alarm(60);
        for (unsigned i = 0; i < MESSAGES; i++)
                log_internal(LOG_INFO, 0, NULL, -1, "flood", "message %u", i);
        alarm(0);
        while ((n = journal_next(&j, buf, sizeof buf)) > 0)
                queued++;
        print_message("%u of %u records queued, the rest dropped\n", queued, MESSAGES);
        assert_true(queued > 0);
        assert_true(queued < MESSAGES);

        /* the next record says how many were dropped, then goes out itself */
        log_internal(LOG_INFO, 0, NULL, -1, "after", "the next one");
        n = journal_next(&j, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(sscanf(buf, "MESSAGE=dropped %u log messages", &dropped), 1);
        assert_non_null(strstr(buf, "\nPRIORITY=4\n"));
        assert_int_equal(queued + dropped, MESSAGES);
        n = journal_next(&j, buf, sizeof buf);
        assert_true(n > 0);
        assert_non_null(strstr(buf, "MESSAGE=the next one\n"));
        assert_int_equal(journal_next(&j, buf, sizeof buf), 0);
        journal_close(&j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_fields),
                cmocka_unit_test(test_full_socket_drops_and_counts),
        };

        log_set_max_level(LOG_DEBUG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
