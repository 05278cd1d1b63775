/* The test bootloader: a stand-in that blinks green three times and parks.
 * vesc-sim reads only its VESCDBL1 descriptor and counts written bytes. */

#include <stdint.h>

#define RCC_AHB1ENR (*(volatile uint32_t *) 0x40023830u)
#define GPIOB_MODER (*(volatile uint32_t *) 0x40020400u)
#define GPIOB_ODR   (*(volatile uint32_t *) 0x40020414u)

int main(void);

int main(void) {
        RCC_AHB1ENR |= 1u << 1;
        GPIOB_MODER = (GPIOB_MODER & ~0x3u) | 0x1u;
        for (int i = 0; i < 6; i++) {
                GPIOB_ODR ^= 1u;
                for (volatile uint32_t d = 0; d < 200000; d++)
                        ;
        }
        return 0;
}
