/* vbus-send: put frames on a vbus hub from the command line, in cansend
 * syntax (123#DEADBEEF, 0000110C#FD for an extended id), in order. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "vbus-frame.h"

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (argc < 3 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                printf("Usage: vbus-send PATH ID#DATA...\n"
                       "Send frames to the vbus hub at PATH: 3 hex digits for a standard id,\n"
                       "8 for an extended one (0000110C#FD), ID#R[LEN] for a remote frame.\n");
                return argc < 3 ? 2 : 0;
        }
        if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "vbus-send: path too long\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);

        /* Parse everything first: all frames or none. */
        for (int i = 2; i < argc; i++) {
                struct can_frame f;

                if (vbus_frame_parse(argv[i], &f) < 0) {
                        fprintf(stderr, "vbus-send: invalid frame '%s'\n", argv[i]);
                        return 2;
                }
        }

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "vbus-send: cannot join '%s': %s\n", sa.sun_path, strerror(errno));
                return 1;
        }
        for (int i = 2; i < argc; i++) {
                struct can_frame f;

                (void) vbus_frame_parse(argv[i], &f);
                /* Blocking send: the hub reads as fast as the bus allows. */
                if (send(fd, &f, sizeof(f), MSG_NOSIGNAL) != (ssize_t) sizeof(f)) {
                        fprintf(stderr, "vbus-send: send: %s\n", strerror(errno));
                        return 1;
                }
        }
        return 0;
}
