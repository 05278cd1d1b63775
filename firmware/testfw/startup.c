/* Start-up code shared by the test application and the test bootloader:
 * a Cortex-M4 vector table, a reset handler that sets up .data/.bss, and a
 * placeholder for the descriptor that mkimage writes at offset 0x400.
 * Freestanding: no libc, no vendor headers. */

#include <stdint.h>

#define STACK_TOP 0x20000800u /* like real VESC builds: not the top of RAM */

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;

void reset_handler(void);
void default_handler(void);
int main(void);

__attribute__((section(".text.reset"), noreturn)) void reset_handler(void) {
        const uint32_t *src = &__data_load;
        for (uint32_t *dst = &__data_start; dst < &__data_end;)
                *dst++ = *src++;
        for (uint32_t *dst = &__bss_start; dst < &__bss_end;)
                *dst++ = 0;
        (void) main();
        for (;;)
                __asm__ volatile("wfi");
}

__attribute__((noreturn)) void default_handler(void) {
        for (;;)
                __asm__ volatile("bkpt #0");
}

/* Core exceptions only; a real build would list all 82 STM32F4 IRQs. */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
        STACK_TOP,
        (uintptr_t) reset_handler,
        (uintptr_t) default_handler, /* NMI */
        (uintptr_t) default_handler, /* HardFault */
        (uintptr_t) default_handler, /* MemManage */
        (uintptr_t) default_handler, /* BusFault */
        (uintptr_t) default_handler, /* UsageFault */
        0, 0, 0, 0,
        (uintptr_t) default_handler, /* SVCall */
        (uintptr_t) default_handler, /* DebugMon */
        0,
        (uintptr_t) default_handler, /* PendSV */
        (uintptr_t) default_handler, /* SysTick */
};

/* Reserved for the VESCDFW1/VESCDBL1 descriptor (86 bytes used). */
__attribute__((section(".descriptor"), used)) static const uint8_t descriptor_slot[128] = {
        [0 ... 127] = 0xFF,
};
