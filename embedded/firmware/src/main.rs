//! noisekit on a Cortex-M4F with no allocator: runs the shared workloads on fixed seeds, prints
//! every result as hex bits over semihosting (`u|f|d name hex ...`), reports the stack high-water
//! mark (stack painting), and exits with status 0 on success.
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use noisekit_embedded_workloads::{dp_sgd, mafbm, philox, tweedie, update_rules, Result, Sink};
use panic_semihosting as _;

struct Semihosting(hio::HostStream);

impl Semihosting {
    fn line(&mut self, kind: char, name: &str, values: impl Iterator<Item = u64>, width: usize) {
        let _ = write!(self.0, "{kind} {name}");
        for v in values {
            let _ = write!(self.0, " {v:0width$x}");
        }
        let _ = writeln!(self.0);
    }
}

impl Sink for Semihosting {
    fn words(&mut self, name: &str, values: &[u32]) {
        self.line('u', name, values.iter().map(|&v| v as u64), 8);
    }
    fn floats(&mut self, name: &str, values: &[f32]) {
        self.line('f', name, values.iter().map(|v| v.to_bits() as u64), 8);
    }
    fn doubles(&mut self, name: &str, values: &[f64]) {
        self.line('d', name, values.iter().map(|v| v.to_bits()), 16);
    }
}

const PAINT: u32 = 0xC0DE_CAFE;

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
}

/// Fills the free stack below the current frame with a pattern; returns the painted range.
fn paint_stack() -> (usize, usize) {
    let bottom = core::ptr::addr_of_mut!(__sheap) as usize;
    let sp = cortex_m::register::msp::read() as usize - 256;
    let mut p = bottom;
    while p < sp {
        // SAFETY: [__sheap, sp - 256) is unused RAM between the static data and the live stack.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    (bottom, sp)
}

/// Lowest painted word that was overwritten: stack bytes used below `_stack_start`.
fn stack_used(bottom: usize) -> usize {
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let mut p = bottom;
    // SAFETY: reads RAM in [__sheap, _stack_start).
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}

#[entry]
fn main() -> ! {
    let Ok(stdout) = hio::hstdout() else {
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    };
    let mut out = Semihosting(stdout);
    // Each workload on a freshly painted stack, so the report names the deepest one.
    let mut used = 0;
    let mut status = Ok(());
    let workloads: [(&str, fn(&mut Semihosting) -> Result<()>); 5] = [
        ("philox", |s| {
            philox(s);
            Ok(())
        }),
        ("update_rules", update_rules),
        ("dp_sgd", dp_sgd),
        ("tweedie", tweedie),
        ("mafbm", mafbm),
    ];
    for (name, run) in workloads {
        let (bottom, _) = paint_stack();
        status = status.and_then(|()| run(&mut out));
        let bytes = stack_used(bottom);
        let _ = writeln!(out.0, "stack_bytes {name} {bytes}");
        used = used.max(bytes);
    }
    match status {
        Ok(()) => {
            let _ = writeln!(out.0, "stack_high_water_bytes {used}");
            let _ = writeln!(out.0, "status ok");
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(e) => {
            let _ = writeln!(out.0, "status error: {e}");
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}
