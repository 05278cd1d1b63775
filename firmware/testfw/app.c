/* The test application: blinks the LEDs of a HW-60-style board (PB0/PB1)
 * and keeps a small state machine running, so the image holds real Thumb
 * code.  vesc-sim never executes it: it reads the VESCDFW1 descriptor. */

#include <stdint.h>

#define RCC_AHB1ENR (*(volatile uint32_t *) 0x40023830u)
#define GPIOB_MODER (*(volatile uint32_t *) 0x40020400u)
#define GPIOB_ODR   (*(volatile uint32_t *) 0x40020414u)

int main(void);

/* 32 KiB of constant data, so an image carries a realistic amount of
 * non-erased flash: the update path then writes ~90 real chunks (a real
 * VESC image has hundreds), and heatshrink has something to chew on.
 * The words come from a multiplicative hash of their index: deterministic,
 * and no more compressible than typical code. */
#define W(i) ((uint32_t) ((uint32_t) (i) * 2654435761u) ^ ((uint32_t) (i) << 11))
#define X4(b) W(b), W((b) + 1), W((b) + 2), W((b) + 3)
#define X16(b) X4(b), X4((b) + 4), X4((b) + 8), X4((b) + 12)
#define X256(b) X16(b), X16((b) + 16), X16((b) + 32), X16((b) + 48), X16((b) + 64), X16((b) + 80), \
        X16((b) + 96), X16((b) + 112), X16((b) + 128), X16((b) + 144), X16((b) + 160), X16((b) + 176), \
        X16((b) + 192), X16((b) + 208), X16((b) + 224), X16((b) + 240)
#define X4096(b) X256(b), X256((b) + 256), X256((b) + 512), X256((b) + 768), X256((b) + 1024), \
        X256((b) + 1280), X256((b) + 1536), X256((b) + 1792), X256((b) + 2048), X256((b) + 2304), \
        X256((b) + 2560), X256((b) + 2816), X256((b) + 3072), X256((b) + 3328), X256((b) + 3584), X256((b) + 3840)
static const uint32_t table[8192] = { X4096(0), X4096(4096) };

static uint32_t ticks;
static uint32_t pattern = 0x5u;

static void delay(uint32_t n) {
        for (volatile uint32_t i = 0; i < n; i++)
                ;
}

int main(void) {
        RCC_AHB1ENR |= 1u << 1;                  /* GPIOB clock */
        GPIOB_MODER = (GPIOB_MODER & ~0xFu) | 0x5u; /* PB0, PB1 outputs */
        for (;;) {
                ticks++;
                pattern = ((pattern << 1) | (pattern >> 31)) ^ (table[ticks & 8191u] & 0x100u);
                GPIOB_ODR = (GPIOB_ODR & ~3u) | (pattern & 3u);
                delay(100000);
        }
}
