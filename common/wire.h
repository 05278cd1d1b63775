/* Big-endian wire encodings of the VESC protocol (spec §0.2): integers,
 * scaled fixed point f16(s)/f32(s) (truncated toward zero), float32_auto
 * (bit-identical to IEEE-754 binary32, subnormals flushed), strings.
 *
 * WireReader/WireWriter are bounded cursors: a read past the end or a write
 * past the capacity sets ->error and yields 0, so decoders can read a whole
 * layout and check once.  Header-only and allocation-free. */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t be16_get(const uint8_t *p) {
        return (uint16_t) ((p[0] << 8) | p[1]);
}
static inline uint32_t be32_get(const uint8_t *p) {
        return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}
static inline void be16_put(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}
static inline void be32_put(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* value*scale truncated toward zero and saturated to the integer range (the
 * firmware's C cast is undefined out of range; saturating is the sane reading). */
static inline int32_t wire_scale32(double v, double scale) {
        double x = v * scale;
        if (isnan(x))
                return 0;
        if (x >= 2147483647.0)
                return INT32_MAX;
        if (x <= -2147483648.0)
                return INT32_MIN;
        return (int32_t) x;
}
static inline int16_t wire_scale16(double v, double scale) {
        double x = v * scale;
        if (isnan(x))
                return 0;
        if (x >= 32767.0)
                return INT16_MAX;
        if (x <= -32768.0)
                return INT16_MIN;
        return (int16_t) x;
}

static inline uint32_t f32a_to_bits(float f) {
        uint32_t u;
        if (fabsf(f) < 1.5e-38f)
                return 0; /* firmware flushes tiny values and -0.0 to 0 */
        memcpy(&u, &f, sizeof u);
        return u;
}
static inline float f32a_from_bits(uint32_t u) {
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
}

typedef struct WireReader {
        const uint8_t *p;
        size_t len;
        size_t pos;
        bool error;
} WireReader;

#define WIRE_READER(data, n) ((WireReader){ .p = (const uint8_t *) (data), .len = (n) })

static inline size_t wire_remaining(const WireReader *r) {
        return r->pos <= r->len ? r->len - r->pos : 0;
}
static inline bool wire_need(WireReader *r, size_t n) {
        if (r->error || wire_remaining(r) < n) {
                r->error = true;
                return false;
        }
        return true;
}
static inline uint8_t wire_u8(WireReader *r) {
        return wire_need(r, 1) ? r->p[r->pos++] : 0;
}
static inline uint16_t wire_u16(WireReader *r) {
        if (!wire_need(r, 2))
                return 0;
        uint16_t v = be16_get(r->p + r->pos);
        r->pos += 2;
        return v;
}
static inline uint32_t wire_u32(WireReader *r) {
        if (!wire_need(r, 4))
                return 0;
        uint32_t v = be32_get(r->p + r->pos);
        r->pos += 4;
        return v;
}
static inline double wire_f16(WireReader *r, double scale) {
        return (int16_t) wire_u16(r) / scale;
}
static inline double wire_f32(WireReader *r, double scale) {
        return (int32_t) wire_u32(r) / scale;
}
static inline float wire_f32a(WireReader *r) {
        return f32a_from_bits(wire_u32(r));
}
static inline const uint8_t *wire_bytes(WireReader *r, size_t n) {
        if (!wire_need(r, n))
                return NULL;
        const uint8_t *p = r->p + r->pos;
        r->pos += n;
        return p;
}
/* A NUL-terminated string copied into out (truncated to outsz-1, always
 * terminated).  A string without a terminator in the buffer is an error. */
static inline void wire_str(WireReader *r, char *out, size_t outsz) {
        if (outsz)
                out[0] = 0;
        if (r->error)
                return;
        const uint8_t *s = r->p + r->pos;
        const uint8_t *nul = memchr(s, 0, wire_remaining(r));
        if (!nul) {
                r->error = true;
                return;
        }
        size_t n = (size_t) (nul - s);
        if (outsz) {
                size_t c = n < outsz - 1 ? n : outsz - 1;
                memcpy(out, s, c);
                out[c] = 0;
        }
        r->pos += n + 1;
}

typedef struct WireWriter {
        uint8_t *p;
        size_t cap;
        size_t pos;
        bool error;
} WireWriter;

#define WIRE_WRITER(buf, n) ((WireWriter){ .p = (uint8_t *) (buf), .cap = (n) })

static inline bool wire_room(WireWriter *w, size_t n) {
        if (w->error || w->cap - w->pos < n || w->pos > w->cap) {
                w->error = true;
                return false;
        }
        return true;
}
static inline void wire_put_u8(WireWriter *w, uint8_t v) {
        if (wire_room(w, 1))
                w->p[w->pos++] = v;
}
static inline void wire_put_u16(WireWriter *w, uint16_t v) {
        if (wire_room(w, 2)) {
                be16_put(w->p + w->pos, v);
                w->pos += 2;
        }
}
static inline void wire_put_u32(WireWriter *w, uint32_t v) {
        if (wire_room(w, 4)) {
                be32_put(w->p + w->pos, v);
                w->pos += 4;
        }
}
static inline void wire_put_f16(WireWriter *w, double v, double scale) {
        wire_put_u16(w, (uint16_t) wire_scale16(v, scale));
}
static inline void wire_put_f32(WireWriter *w, double v, double scale) {
        wire_put_u32(w, (uint32_t) wire_scale32(v, scale));
}
static inline void wire_put_f32a(WireWriter *w, float v) {
        wire_put_u32(w, f32a_to_bits(v));
}
static inline void wire_put_bytes(WireWriter *w, const void *data, size_t n) {
        if (n && wire_room(w, n)) {
                memcpy(w->p + w->pos, data, n);
                w->pos += n;
        }
}
static inline void wire_put_str(WireWriter *w, const char *s) {
        wire_put_bytes(w, s, strlen(s) + 1);
}
