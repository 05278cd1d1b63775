/* The test application: blinks the LEDs of a HW-60-style board (PB0/PB1)
 * and keeps a small state machine running, so the image holds real Thumb
 * code.  vesc-sim never executes it: it reads the VESCDFW1 descriptor. */

#include <stdint.h>

#define RCC_AHB1ENR (*(volatile uint32_t *) 0x40023830u)
#define GPIOB_MODER (*(volatile uint32_t *) 0x40020400u)
#define GPIOB_ODR   (*(volatile uint32_t *) 0x40020414u)

int main(void);

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
                pattern = (pattern << 1) | (pattern >> 31);
                GPIOB_ODR = (GPIOB_ODR & ~3u) | (pattern & 3u);
                delay(100000);
        }
}
