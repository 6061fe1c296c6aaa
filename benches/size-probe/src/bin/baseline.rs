//! The empty firmware image: entry point and panic handler only, no relent.
//!
//! Its `.text` is what every image pays before any library code; `measure.sh` subtracts
//! it from the probe's, so the table shows relent's own cost.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

/// Never returns: a bare-metal image has nowhere to return to.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// The entry point the linker keeps (`_start`, lld's default entry symbol).
///
/// `#[unsafe(no_mangle)]`: exporting an unmangled symbol is unsafe to declare (it could
/// clash with another symbol of the same name), so edition 2024 spells it `unsafe(...)`.
/// relent's workspace forbids `unsafe_code`; this crate is outside that workspace on
/// purpose, because a linkable bare-metal image needs one exported entry, and the
/// attribute is the only unsafe item here.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    loop {
        core::hint::black_box(0u32);
    }
}
