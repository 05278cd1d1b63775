/* vbus transport: a Unix SOCK_SEQPACKET client of the userspace CAN hub.
 * Every message is exactly one 16-byte struct can_frame (DESIGN.md "vbus"),
 * so a message of another size means the peer is not a vbus hub. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "transport/transports.h"

static int vbus_open(Transport *t, const char *path, uint8_t own_id) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* connect() on a non-blocking Unix socket completes at once or fails */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int vbus_read(Transport *t, struct can_frame *ret) {
        ssize_t n;

        for (;;) {
                n = recv(transport_fd(t), ret, sizeof *ret, MSG_TRUNC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                if (n != (ssize_t) sizeof *ret)
                        return -EBADMSG;
                if (ret->len > CAN_MAX_DLEN)
                        ret->len = CAN_MAX_DLEN;
                return 1;
        }
}

static int vbus_write(Transport *t, const struct can_frame *f) {
        struct can_frame out = *f;
        ssize_t n;

        /* unused data bytes are zero on the vbus wire */
        if (out.len < CAN_MAX_DLEN)
                memset(out.data + out.len, 0, CAN_MAX_DLEN - out.len);
        n = send(transport_fd(t), &out, sizeof out, MSG_NOSIGNAL);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n == (ssize_t) sizeof out ? 0 : -EIO;
}

const TransportOps transport_vbus_ops = {
        .kind = "vbus",
        .open = vbus_open,
        .read = vbus_read,
        .write = vbus_write,
};
