/* The scripted fake VESC of the update-engine tests (see fake-vesc.h). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "fake-vesc.h"
#include "fwimage.h"
#include "proto/vesc-comm.h"
#include "wire.h"

#define SECTOR VESC_BOOTLOADER_SECTOR

static void fill_conf(FakeVesc *f) {
        size_t mc = vesc_conf_size(VESC_CONF_MC, f->id.major, f->id.minor);
        size_t app = vesc_conf_size(VESC_CONF_APP, f->id.major, f->id.minor);

        f->mcconf_len = mc ? mc : 64;
        f->appconf_len = app ? app : 64;
        memset(f->mcconf, 0x11, sizeof f->mcconf);
        memset(f->appconf, 0x22, sizeof f->appconf);
        be32_put(f->mcconf, vesc_conf_signature(VESC_CONF_MC, f->id.major, f->id.minor));
        be32_put(f->appconf, vesc_conf_signature(VESC_CONF_APP, f->id.major, f->id.minor));
        f->appconf[4] = f->id.can_id;
}

void fake_vesc_init(FakeVesc *f, const char *uuid_hex, uint8_t can_id, uint8_t major, uint8_t minor, int bl_gen,
                    uint64_t seed) {
        *f = (FakeVesc) {
                .id = { .can_id = can_id, .major = major, .minor = minor, .hw_name = "60" },
                .bl_gen = bl_gen,
                .rng = seed | 1,
                .wrong_echo_at = -1,
                .refuse_write_at = -1,
                .new_id_after_reboot = -1,
                .watch_offset = -1,
                .min_write_len = SIZE_MAX,
                .tel = { .v_in = 42.0 },
        };
        for (size_t i = 0; i < VESC_UUID_LEN; i++) {
                unsigned v;
                sscanf(uuid_hex + 2 * i, "%2x", &v);
                f->id.uuid[i] = (uint8_t) v;
        }
        f->newapp = malloc(VESC_NEW_APP_BUFFER);
        f->bl = malloc(SECTOR);
        /* Whatever an earlier update left: not erased flash. */
        for (size_t i = 0; i < VESC_NEW_APP_BUFFER; i++)
                f->newapp[i] = (uint8_t) (i * 7 + 3);
        memset(f->bl, 0x5A, SECTOR);
        fill_conf(f);
}

void fake_vesc_set(FakeVesc *f, uint8_t can_id, uint8_t major, uint8_t minor) {
        f->id.can_id = can_id;
        f->id.major = major;
        f->id.minor = minor;
        fill_conf(f);
}

void fake_vesc_done(FakeVesc *f) {
        free(f->newapp);
        free(f->bl);
        f->newapp = f->bl = NULL;
}

static double rnd(FakeVesc *f) {
        f->rng ^= f->rng << 13;
        f->rng ^= f->rng >> 7;
        f->rng ^= f->rng << 17;
        return (double) (f->rng >> 11) / 9007199254740992.0;
}

static unsigned frames_for(size_t len) {
        if (len <= 6)
                return 1;
        return (unsigned) ((MIN(len, (size_t) 259) + 6) / 7 + (len > 259 ? (len - 259 + 5) / 6 : 0) + 1);
}

/* Does a transfer of this many payload bytes lose a frame? */
bool fake_vesc_lose(FakeVesc *f, size_t payload_len) {
        if (f->frame_loss <= 0 || f->losing == false)
                return false;
        return rnd(f) >= pow(1.0 - f->frame_loss, frames_for(payload_len));
}

static void reply(FakeVesc *f, FakeReply *r, uint64_t delay, const uint8_t *p, size_t n) {
        if (fake_vesc_lose(f, n))
                return;
        r->any = true;
        r->from_id = f->id.can_id;
        r->delay_usec = delay;
        r->len = n;
        memcpy(r->data, p, n);
}

static void flash_reply(FakeVesc *f, FakeReply *r, uint64_t delay, uint8_t cmd, bool ok, bool echo, uint32_t off) {
        uint8_t buf[8];
        VescFlashReply fr = { .cmd = cmd, .ok = ok, .has_offset = echo, .offset = off };
        ssize_t n = vesc_flash_reply_encode(&fr, buf, sizeof buf);

        if (n > 0)
                reply(f, r, delay, buf, (size_t) n);
}

static void jump(FakeVesc *f) {
        uint32_t word = be32_get(f->newapp), size;
        bool compressed = (word >> 24) == VESC_COMPRESSED_FLAG, ok = true;

        f->jumps++;
        f->down = true;
        if (f->never_back) {
                f->back_after_usec = UINT64_MAX;
                return;
        }
        if (f->bl_gen == 0) {
                /* A JUMP into an erased bootloader: watchdog, then old firmware. */
                f->back_after_usec = 32 * USEC_PER_SEC;
                return;
        }
        size = compressed ? word & 0xFFFFFF : word;
        if (f->refuse_install || (compressed && f->bl_gen < 2) || size == 0 || size > VESC_NEW_APP_BUFFER - 6 ||
            crc16(f->newapp + 6, size) != be16_get(f->newapp + 4))
                ok = false;
        f->back_after_usec = 3 * USEC_PER_SEC;
        if (!ok)
                return;
        for (size_t i = 0; i < 4 && f->known[i]; i++) {
                const FwImage *img = f->known[i];
                if (img->stream_len == size + 6 && memcmp(img->stream, f->newapp, img->stream_len) == 0) {
                        f->id.major = img->major;
                        f->id.minor = img->minor;
                        f->id.test_build = img->test_build;
                        snprintf(f->id.fw_name, sizeof f->id.fw_name, "%s", img->fw_name);
                        f->installs++;
                        f->back_after_usec = f->install_usec ? f->install_usec : 6 * USEC_PER_SEC;
                        /* Sectors 1-2 erased: configuration back to defaults. */
                        if (f->new_id_after_reboot >= 0)
                                f->id.can_id = (uint8_t) f->new_id_after_reboot;
                        fill_conf(f);
                        return;
                }
        }
}

bool fake_vesc_wake(FakeVesc *f) {
        if (f->back_after_usec == UINT64_MAX)
                return false;
        f->down = false;
        return true;
}

void fake_vesc_receive(FakeVesc *f, const uint8_t *p, size_t n, uint8_t mode, FakeReply *r) {
        uint8_t buf[520];
        uint32_t off, size;
        const uint8_t *data;
        size_t len;

        *r = (FakeReply) {};
        f->losing = !f->loss_writes_only || p[0] == COMM_WRITE_NEW_APP_DATA;
        if (f->down || n == 0 || fake_vesc_lose(f, n))
                return;
        switch (p[0]) {
        case COMM_GET_MCCONF:
        case COMM_GET_APPCONF: {
                bool mc = p[0] == COMM_GET_MCCONF;
                ssize_t k = vesc_conf_blob_encode(p[0], mc ? f->mcconf : f->appconf, mc ? f->mcconf_len : f->appconf_len,
                                                  buf, sizeof buf);
                if (k > 0)
                        reply(f, r, 10 * USEC_PER_MSEC, buf, (size_t) k);
                return;
        }
        case COMM_SET_MCCONF:
        case COMM_SET_APPCONF: {
                bool mc = p[0] == COMM_SET_MCCONF;
                if (!mc && f->lose_set_appconf)
                        return;
                if (n < 5 || be32_get(p + 1) != be32_get(mc ? f->mcconf : f->appconf))
                        return; /* wrong signature: no ack */
                memcpy(mc ? f->mcconf : f->appconf, p + 1, n - 1);
                f->set_confs++;
                if (!mc)
                        f->id.can_id = p[1 + 4];
                reply(f, r, f->set_conf_usec ? f->set_conf_usec : 200 * USEC_PER_MSEC, p, 1);
                return;
        }
        case COMM_ERASE_NEW_APP:
                if (n < 5)
                        return;
                size = be32_get(p + 1);
                f->erases++;
                for (size_t s = 0; s < 3 && s * SECTOR < size; s++)
                        memset(f->newapp + s * SECTOR, 0xFF, SECTOR);
                flash_reply(f, r, 1500 * USEC_PER_MSEC, COMM_ERASE_NEW_APP, true, false, 0);
                return;
        case COMM_ERASE_BOOTLOADER:
                if (f->id.major < 3 || (f->id.major == 3 && f->id.minor < 59))
                        return; /* unknown command before 3.59 */
                f->bl_erases++;
                f->bl_gen = 0;
                memset(f->bl, 0xFF, SECTOR);
                flash_reply(f, r, 1000 * USEC_PER_MSEC, COMM_ERASE_BOOTLOADER, true, false, 0);
                return;
        case COMM_WRITE_NEW_APP_DATA:
                if (vesc_write_new_app_request_decode(p, n, &off, &data, &len) < 0)
                        return;
                f->writes++;
                f->min_write_len = MIN(f->min_write_len, len);
                if ((int64_t) off == f->watch_offset)
                        f->writes_at[0]++;
                if (off != 0) {
                        bool ff = true;
                        for (size_t i = 0; i < len; i++)
                                ff &= data[i] == 0xFF;
                        f->ff_writes += ff;
                }
                if ((int64_t) off == f->refuse_write_at) {
                        flash_reply(f, r, 2 * USEC_PER_MSEC, COMM_WRITE_NEW_APP_DATA, false, f->id.major >= 5, off);
                        return;
                }
                for (size_t i = 0; i < len; i++) {
                        size_t a = off + i;
                        /* Programming can only clear bits. */
                        if (a < VESC_NEW_APP_BUFFER)
                                f->newapp[a] &= data[i];
                        else if (a - VESC_NEW_APP_BUFFER < SECTOR)
                                f->bl[a - VESC_NEW_APP_BUFFER] &= data[i];
                }
                if (off >= VESC_NEW_APP_BUFFER && f->set_bootloader &&
                    memcmp(f->bl, f->set_bootloader, f->set_bootloader_len) == 0)
                        f->bl_gen = 2;
                if ((int64_t) off == f->wrong_echo_at) {
                        f->wrong_echo_at = -1;
                        off += 384;
                }
                flash_reply(f, r, 3 * USEC_PER_MSEC, COMM_WRITE_NEW_APP_DATA, true, f->id.major >= 5, off);
                return;
        case COMM_JUMP_TO_BOOTLOADER:
                if (mode != FW_SEND_MODE_NOREPLY)
                        return;
                if (f->lose_jumps > 0) {
                        f->lose_jumps--;
                        return;
                }
                jump(f);
                return;
        default:
                return;
        }
}
