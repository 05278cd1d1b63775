/* Parsing and printing frames in can-utils' compact syntax (see
 * vbus-frame.h): ID#DATA with 3 hex digits for a standard id and 8 for an
 * extended one, "R" plus an optional length digit for remote frames. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "vbus-frame.h"

/**
 * vbus_frame_parse() - parse a frame in cansend syntax
 * @s: the text, e.g. "0000110C#FD"
 * @ret: the frame; unused bytes zero
 *
 * Return: 0, or -EINVAL when @s is not one complete frame.
 */
int vbus_frame_parse(const char *s, struct can_frame *ret) {
        const char *hash = strchr(s, '#');
        size_t idlen;
        uint32_t id = 0;
        struct can_frame f = {};

        if (!hash)
                return -EINVAL;
        idlen = (size_t) (hash - s);
        if (idlen != 3 && idlen != 8)
                return -EINVAL;
        for (size_t i = 0; i < idlen; i++) {
                int v = hex_digit(s[i]);

                if (v < 0)
                        return -EINVAL;
                id = (id << 4) | (uint32_t) v;
        }
        if (idlen == 3) {
                if (id > CAN_SFF_MASK)
                        return -EINVAL;
                f.can_id = id;
        } else if (id & CAN_ERR_FLAG)
                /* As candump prints error frames: flag and class bits. */
                f.can_id = id & (CAN_ERR_FLAG | CAN_ERR_MASK);
        else {
                if (id > CAN_EFF_MASK)
                        return -EINVAL;
                f.can_id = id | CAN_EFF_FLAG;
        }

        s = hash + 1;
        if (*s == 'R' || *s == 'r') {
                f.can_id |= CAN_RTR_FLAG;
                s++;
                if (*s) {
                        int v = hex_digit(*s);

                        if (v < 0 || v > CAN_MAX_DLEN || s[1])
                                return -EINVAL;
                        f.can_dlc = (uint8_t) v;
                }
                *ret = f;
                return 0;
        }

        while (*s) {
                if (*s == '.') {
                        s++;
                        continue;
                }
                if (f.can_dlc >= CAN_MAX_DLEN)
                        return -EINVAL;
                if (hex_decode(s, 1, /* lower_only= */ false, &f.data[f.can_dlc]) < 0)
                        return -EINVAL;
                f.can_dlc++;
                s += 2;
        }
        *ret = f;
        return 0;
}

/**
 * vbus_frame_format() - print a frame in cansend/candump -L syntax
 * @f: the frame (can_dlc above 8 prints 8 bytes)
 * @buf: output, NUL-terminated
 * @size: size of @buf; VBUS_FRAME_TEXT_MAX always suffices
 *
 * Return: the length written (without NUL), or -ENOBUFS.
 */
int vbus_frame_format(const struct can_frame *f, char *buf, size_t size) {
        char tmp[VBUS_FRAME_TEXT_MAX];
        unsigned len = f->can_dlc > CAN_MAX_DLEN ? CAN_MAX_DLEN : f->can_dlc;
        int n;

        if (f->can_id & CAN_ERR_FLAG)
                n = snprintf(tmp, sizeof(tmp), "%08X#", f->can_id & (CAN_ERR_FLAG | CAN_ERR_MASK));
        else if (f->can_id & CAN_EFF_FLAG)
                n = snprintf(tmp, sizeof(tmp), "%08X#", f->can_id & CAN_EFF_MASK);
        else
                n = snprintf(tmp, sizeof(tmp), "%03X#", f->can_id & CAN_SFF_MASK);

        if (f->can_id & CAN_RTR_FLAG) {
                tmp[n++] = 'R';
                if (len > 0)
                        tmp[n++] = (char) ('0' + len);
        } else
                for (unsigned i = 0; i < len; i++)
                        n += snprintf(tmp + n, sizeof(tmp) - (size_t) n, "%02X", f->data[i]);
        tmp[n] = '\0';

        if ((size_t) n + 1 > size)
                return -ENOBUFS;
        memcpy(buf, tmp, (size_t) n + 1);
        return n;
}
