//! The NVRTC kernel sources and how they are compiled.
//!
//! Every kernel module is `kernels/prelude.cuh` (Philox4x32-10 + Box-Muller, launch helpers)
//! followed by one `kernels/<name>.cu`, embedded as a `&'static str` and compiled at run time by
//! NVRTC (no toolkit needed at build time). [`CudaBackend`](crate::CudaBackend) compiles each module
//! once, on first use, and caches it by name. [`compile_options`] pins the floating-point flags that
//! make the kernels round like the Rust reference: `--fmad=false` (no FMA contraction),
//! `--ftz=false`, `--prec-div=true`, `--prec-sqrt=true`.
//!
//! [`compile_all`] compiles every module for a virtual architecture; CI runs it for `compute_80`
//! and `compute_90` with only `libnvrtc` installed (no GPU, no driver), see `.ci/cuda_kernels.sh`.

use cudarc::nvrtc::{CompileOptions, Ptx};
use noisekit::Error;

/// One NVRTC compilation unit: a name (the cache key), its full source and the kernels it defines.
#[derive(Debug, Clone, Copy)]
pub struct KernelModule {
    /// Module name (cache key).
    pub name: &'static str,
    /// Full CUDA C++ source (prelude included).
    pub source: &'static str,
    /// The `extern "C" __global__` functions it defines.
    pub functions: &'static [&'static str],
}

macro_rules! module_source {
    ($file:literal) => {
        concat!(
            include_str!("../kernels/prelude.cuh"),
            "\n",
            include_str!(concat!("../kernels/", $file))
        )
    };
}

/// Row kernels: norms, scaling, column sums, clip-and-sum, scalar scale.
pub const ROWS: KernelModule = KernelModule {
    name: "rows",
    source: module_source!("rows.cu"),
    functions: &[
        "nk_row_sq_norms",
        "nk_scale_rows",
        "nk_sum_rows",
        "nk_clip_factors",
        "nk_clip_sum",
        "nk_scale",
    ],
};

/// Philox fills: raw words, uniforms, normals, add-normal.
pub const NOISE: KernelModule = KernelModule {
    name: "noise",
    source: module_source!("noise.cu"),
    functions: &[
        "nk_philox_words",
        "nk_fill_uniform",
        "nk_fill_normal",
        "nk_add_normal",
    ],
};

/// Fused update rules with optional in-pass noise.
pub const UPDATE: KernelModule = KernelModule {
    name: "update",
    source: module_source!("update.cu"),
    functions: &["nk_sgd_plain", "nk_sgd_momentum", "nk_adamw", "nk_sgd_sai"],
};

/// Gather / scatter for column and row sampling.
pub const GATHER: KernelModule = KernelModule {
    name: "gather",
    source: module_source!("gather.cu"),
    functions: &["nk_gather_cols", "nk_gather_rows", "nk_scatter_add_rows"],
};

/// Every kernel module of the backend.
pub const MODULES: [KernelModule; 4] = [ROWS, NOISE, UPDATE, GATHER];

/// The virtual architectures CI compiles every module for.
pub const CI_ARCHES: [&str; 2] = ["compute_80", "compute_90"];

/// NVRTC options: IEEE rounding for `+ - * / sqrt` and no FMA contraction, so kernels match the
/// Rust reference; `arch` is a virtual architecture such as `"compute_90"` (`None`: NVRTC default).
pub fn compile_options(module: &KernelModule, arch: Option<&'static str>) -> CompileOptions {
    CompileOptions {
        ftz: Some(false),
        prec_sqrt: Some(true),
        prec_div: Some(true),
        fmad: Some(false),
        use_fast_math: Some(false),
        arch,
        name: Some(format!("{}.cu", module.name)),
        ..Default::default()
    }
}

/// The virtual architecture to compile for on a device of compute capability `(major, minor)`:
/// the newest of the ones we test (`compute_90`, `compute_80`) the device can run, else NVRTC's default.
pub fn arch_for(major: i32, minor: i32) -> Option<&'static str> {
    match (major, minor) {
        (m, _) if m >= 9 => Some("compute_90"),
        (8, _) => Some("compute_80"),
        _ => None,
    }
}

/// Whether `libnvrtc` can be loaded (never panics; cudarc would panic on a missing library).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library by its candidate names.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Compiles `module` to PTX for `arch`. The NVRTC log goes to stderr on failure (the typed error
/// cannot carry it).
pub fn compile(module: &KernelModule, arch: Option<&'static str>) -> Result<Ptx, Error> {
    if !nvrtc_present() {
        return Err(Error::BackendUnavailable {
            backend: "cuda",
            reason: "libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12 and add its lib dir to LD_LIBRARY_PATH)",
        });
    }
    cudarc::nvrtc::compile_ptx_with_opts(module.source, compile_options(module, arch)).map_err(
        |e| {
            eprintln!(
                "noisekit-cuda: NVRTC failed on module {} ({arch:?}): {e}",
                module.name
            );
            if let cudarc::nvrtc::CompileError::CompileError { log, .. } = &e {
                eprintln!("{}", log.to_string_lossy());
            }
            Error::Backend {
                backend: "cuda",
                op: "nvrtc compile",
            }
        },
    )
}

/// Compiles every module for `arch`, returning `(module name, PTX text)` pairs.
pub fn compile_all(arch: Option<&'static str>) -> Result<Vec<(&'static str, String)>, Error> {
    MODULES
        .iter()
        .map(|m| compile(m, arch).map(|ptx| (m.name, ptx.to_src())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_function_is_defined_once_as_extern_c_global() {
        let mut seen = std::collections::HashSet::new();
        for m in MODULES {
            assert!(
                m.source.contains("nk_philox"),
                "{} lacks the prelude",
                m.name
            );
            for f in m.functions {
                let decl = format!("extern \"C\" __global__ void {f}(");
                assert_eq!(m.source.matches(&decl).count(), 1, "{f} in {}", m.name);
                assert!(seen.insert(*f), "{f} listed twice");
            }
            // and nothing defined that is not listed
            let defined = m.source.matches("__global__ void").count();
            assert_eq!(defined, m.functions.len(), "module {}", m.name);
        }
    }

    #[test]
    fn options_pin_ieee_rounding() {
        let o = compile_options(&ROWS, Some("compute_90"));
        assert_eq!(o.fmad, Some(false));
        assert_eq!(o.ftz, Some(false));
        assert_eq!(o.prec_div, Some(true));
        assert_eq!(o.prec_sqrt, Some(true));
        assert_eq!(o.use_fast_math, Some(false));
        assert_eq!(arch_for(9, 0), Some("compute_90"));
        assert_eq!(arch_for(10, 0), Some("compute_90"));
        assert_eq!(arch_for(8, 6), Some("compute_80"));
        assert_eq!(arch_for(7, 5), None);
    }

    #[test]
    fn missing_nvrtc_is_a_typed_error() {
        if nvrtc_present() {
            return; // covered by the compile test below
        }
        let e = compile(&ROWS, Some("compute_90")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BackendUnavailable {
                    backend: "cuda",
                    ..
                }
            ),
            "{e}"
        );
        assert!(compile_all(None).is_err());
    }

    /// Compiles every kernel module to PTX for sm_80 and sm_90 (virtual archs compute_80/90).
    /// Needs only libnvrtc (no GPU, no driver). Skips with one line when libnvrtc is missing,
    /// unless `NOISEKIT_REQUIRE_NVRTC=1` (set by `.ci/cuda_kernels.sh`), where a missing library fails.
    #[test]
    fn compile_every_kernel_for_sm80_and_sm90() {
        if !nvrtc_present() {
            assert!(
                std::env::var("NOISEKIT_REQUIRE_NVRTC").as_deref() != Ok("1"),
                "NOISEKIT_REQUIRE_NVRTC=1 but libnvrtc.so.12 cannot be loaded (LD_LIBRARY_PATH?)"
            );
            println!("SKIP cuda: libnvrtc not found (kernel compilation not checked)");
            return;
        }
        for arch in CI_ARCHES {
            let all = compile_all(Some(arch)).expect("every kernel module compiles");
            for ((name, ptx), m) in all.iter().zip(MODULES) {
                let target = arch.replace("compute_", ".target sm_");
                assert!(
                    ptx.contains(&target),
                    "{name}: PTX for {arch} lacks `{target}`"
                );
                for f in m.functions {
                    assert!(
                        ptx.contains(&format!(".entry {f}(")),
                        "{name}: no entry {f} for {arch}"
                    );
                }
                // --fmad=false took effect: no contracted multiply-adds, and the arithmetic is the
                // `.rn` form, which ptxas may not fuse at load time either (bare `mul.f32` /
                // `add.f32` / `sub.f32` it may), so the device rounds every + and * separately,
                // as the Rust reference does.
                assert!(
                    !ptx.contains("fma.rn.f32"),
                    "{name}: {arch} PTX has fma.rn.f32"
                );
                for op in ["mul.f32", "add.f32", "sub.f32"] {
                    let bare = ptx.lines().any(|l| l.trim_start().starts_with(op));
                    assert!(!bare, "{name}: {arch} PTX has a contractible `{op}`");
                }
                if m.name == "update" || m.name == "noise" {
                    let rn = ptx.contains("mul.rn.f32") && ptx.contains("add.rn.f32");
                    assert!(rn, "{name}: {arch} PTX lacks .rn arithmetic");
                }
                // no approximate division / square root / transcendental instructions
                assert!(!ptx.contains(".approx."), "{name}: {arch} PTX uses .approx");
                println!("compiled {name} for {arch}: {} bytes of PTX", ptx.len());
            }
        }
    }
}
