//! `CudaBackend`: `noisekit::Backend` on one CUDA device through cudarc (dynamic loading).
//!
//! gemm is cuBLAS `sgemm` (row-major through the swap trick, see [`crate::launch::GemmPlan`]);
//! every other method is an NVRTC kernel from [`crate::kernels`], compiled on first use and cached
//! per module name. Kernels transcribe `CpuBackend` / `apply_update` operation for operation and are
//! compiled without FMA contraction, and Box-Muller uses the CPU's branch-free polynomial `ln` /
//! `sincos` (`noisekit::rng::fastmath`), so they agree with the CPU bit for bit except where the
//! summation order differs (row norms and clip factors: block reduction; cuBLAS gemm); the parity
//! tests state those bounds.
//!
//! Temporaries: `clip_rows_and_sum` needs `rows` floats (row factors) and the gather/scatter methods
//! copy `idx`/`scale` to the device; these live in grow-only scratch buffers owned by the backend,
//! so steady-state calls do not allocate.
//!
//! Errors: a missing driver/NVRTC/cuBLAS library or no device is [`Error::BackendUnavailable`]
//! (checked with `is_culib_present` before cudarc is touched: with dynamic loading cudarc panics on
//! a missing library); out of device memory, launch or compile failures are [`Error::Backend`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DriverError, PushKernelArg,
};
use noisekit::backend::{check_gemm, AdamWScalars, Backend, Scalar, Transpose, UpdateRule};
use noisekit::error::check::{self, indices as check_indices, matrix as check_matrix};
use noisekit::{Error, NoiseKey, Result};

use crate::buffer::{alloc_bytes, as_bytes, as_bytes_mut, CudaBuf};
use crate::kernels::{self, KernelModule, GATHER, NOISE, ROWS, UPDATE};
use crate::launch::{grid_for, per_row, quads, GemmPlan};

const NAME: &str = "cuda";

/// Maps a driver error to a typed error; out-of-memory is named as such.
pub(crate) fn drv(op: &'static str) -> impl Fn(DriverError) -> Error {
    move |e: DriverError| {
        if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            Error::Backend {
                backend: NAME,
                op: "out of device memory",
            }
        } else {
            Error::Backend { backend: NAME, op }
        }
    }
}

fn unavailable(reason: &'static str) -> Error {
    Error::BackendUnavailable {
        backend: NAME,
        reason,
    }
}

/// Checks that the CUDA driver, NVRTC and cuBLAS libraries can be loaded, without touching cudarc's
/// loaders (which panic on a missing library). `Ok` does not yet mean a device exists.
pub fn libraries_present() -> Result<()> {
    // SAFETY: each call only tries to dlopen the library by its candidate names.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            return Err(unavailable("libcuda not found (no GPU on this machine)"));
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            return Err(unavailable(
                "libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12, add its lib dir to LD_LIBRARY_PATH)",
            ));
        }
        if !cudarc::cublas::sys::is_culib_present() {
            return Err(unavailable(
                "libcublas not found (install the CUDA 12 cuBLAS runtime)",
            ));
        }
    }
    Ok(())
}

/// Number of CUDA devices (0 when the libraries are missing or the driver finds none).
pub fn device_count() -> usize {
    if libraries_present().is_err() {
        return 0;
    }
    CudaContext::device_count()
        .ok()
        .and_then(|c| usize::try_from(c).ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Scratch {
    factors: Option<CudaSlice<f32>>,
    idx: Option<CudaSlice<u32>>,
    scale: Option<CudaSlice<f32>>,
}

/// Grows `slot` to hold at least `n` (>= 1) elements.
fn ensure<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
    stream: &Arc<CudaStream>,
    slot: &mut Option<CudaSlice<T>>,
    n: usize,
) -> Result<()> {
    let n = n.max(1);
    if slot.as_ref().is_none_or(|s| s.len() < n) {
        *slot = None;
        *slot = Some(stream.alloc_zeros::<T>(n).map_err(drv("scratch alloc"))?);
    }
    Ok(())
}

/// The CUDA backend on one device (one stream; every method is asynchronous except the copies to
/// the host, call [`Backend::sync`] to wait).
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    arch: Option<&'static str>,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    scratch: Mutex<Scratch>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("ordinal", &self.ctx.ordinal())
            .field("arch", &self.arch)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| Error::Backend {
        backend: NAME,
        op: "lock poisoned by an earlier panic",
    })
}

impl CudaBackend {
    /// The backend on device 0.
    pub fn new() -> Result<Self> {
        Self::on_device(0)
    }

    /// The backend on device `ordinal`.
    pub fn on_device(ordinal: usize) -> Result<Self> {
        libraries_present()?;
        let count = CudaContext::device_count()
            .map_err(|_| unavailable("the CUDA driver found no usable device"))?;
        if count <= 0 {
            return Err(unavailable("no CUDA device"));
        }
        if ordinal >= count as usize {
            return Err(Error::invalid(
                "device",
                ordinal as f64,
                "an ordinal below the device count",
            ));
        }
        let ctx =
            CudaContext::new(ordinal).map_err(|_| unavailable("CUDA context creation failed"))?;
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(|_| Error::Backend {
            backend: NAME,
            op: "cublas init",
        })?;
        let arch = ctx
            .compute_capability()
            .ok()
            .and_then(|(ma, mi)| kernels::arch_for(ma, mi));
        Ok(CudaBackend {
            ctx,
            stream,
            blas,
            arch,
            functions: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// The device's name (e.g. "NVIDIA H200").
    pub fn device_name(&self) -> Result<String> {
        self.ctx.name().map_err(drv("device name"))
    }

    /// The stream all work is queued on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The device context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Compiles every kernel module now (otherwise each is compiled on first use).
    pub fn warm_up(&self) -> Result<()> {
        for m in kernels::MODULES {
            self.load(&m)?;
        }
        Ok(())
    }

    fn load(&self, m: &KernelModule) -> Result<()> {
        let mut modules = lock(&self.modules)?;
        if modules.contains_key(m.name) {
            return Ok(());
        }
        let ptx = kernels::compile(m, self.arch)?;
        let module = self.ctx.load_module(ptx).map_err(drv("load module"))?;
        let mut fns = lock(&self.functions)?;
        for f in m.functions {
            let func = module.load_function(f).map_err(drv("load function"))?;
            fns.insert(f, func);
        }
        modules.insert(m.name, module);
        Ok(())
    }

    fn func(&self, m: &KernelModule, name: &'static str) -> Result<CudaFunction> {
        if let Some(f) = lock(&self.functions)?.get(name) {
            return Ok(f.clone());
        }
        self.load(m)?;
        lock(&self.functions)?
            .get(name)
            .cloned()
            .ok_or(Error::Backend {
                backend: NAME,
                op: "kernel missing from its module",
            })
    }

    /// The raw Philox words of `key`'s stream: `out[i]` is word `i % 4` of block `offset + i / 4`
    /// (bit-equal to `NoiseKey::block`).
    pub fn philox_words(&self, key: NoiseKey, out: &mut CudaBuf<u32>) -> Result<()> {
        self.keyed_fill("nk_philox_words", key, None, out)
    }

    /// `out[i]` uniform in `(0, 1]`, bit-equal to `noisekit::rng::bulk::fill_uniform_f32`.
    pub fn fill_uniform(&self, key: NoiseKey, out: &mut CudaBuf<f32>) -> Result<()> {
        self.keyed_fill("nk_fill_uniform", key, None, out)
    }

    /// Launches the noise kernel `name(out, n, seed, stream, offset[, sigma])` over `out`, one
    /// thread per Philox block of four elements.
    fn keyed_fill<T: Scalar>(
        &self,
        name: &'static str,
        key: NoiseKey,
        sigma: Option<f32>,
        x: &mut CudaBuf<T>,
    ) -> Result<()> {
        let n = x.len as u64;
        let Some(cfg) = grid_for(quads(n)) else {
            return Ok(());
        };
        let f = self.func(&NOISE, name)?;
        let mut o = x.view_mut()?;
        let mut b = self.stream.launch_builder(&f);
        b.arg(&mut o)
            .arg(&n)
            .arg(&key.seed)
            .arg(&key.stream)
            .arg(&key.offset);
        let s = sigma.unwrap_or(0.0);
        if sigma.is_some() {
            b.arg(&s);
        }
        // SAFETY: the argument list matches the NOISE kernels' signatures (sigma only for
        // nk_fill_normal / nk_add_normal); the grid-stride loop bounds by n.
        unsafe { b.launch(cfg) }.map_err(drv("launch noise kernel"))?;
        Ok(())
    }

    /// Copies `idx` (and `scale`) into the scratch buffers and runs `body` with device views.
    fn with_indices<R>(
        &self,
        idx: &[u32],
        scale: Option<&[f32]>,
        body: impl FnOnce(&CudaSlice<u32>, Option<&CudaSlice<f32>>) -> Result<R>,
    ) -> Result<R> {
        let mut s = lock(&self.scratch)?;
        let Scratch {
            idx: idx_slot,
            scale: scale_slot,
            ..
        } = &mut *s;
        ensure(&self.stream, idx_slot, idx.len())?;
        let dev_idx = idx_slot.as_mut().ok_or(Error::Backend {
            backend: NAME,
            op: "scratch",
        })?;
        self.stream
            .memcpy_htod(idx, &mut dev_idx.slice_mut(0..idx.len()))
            .map_err(drv("copy indices"))?;
        let dev_scale = match scale {
            Some(sc) => {
                ensure(&self.stream, scale_slot, sc.len())?;
                let d = scale_slot.as_mut().ok_or(Error::Backend {
                    backend: NAME,
                    op: "scratch",
                })?;
                self.stream
                    .memcpy_htod(sc, &mut d.slice_mut(0..sc.len()))
                    .map_err(drv("copy scales"))?;
                Some(&*d)
            }
            None => None,
        };
        body(dev_idx, dev_scale)
    }
}

struct NoiseArgs {
    has: i32,
    seed: u64,
    stream: u32,
    offset: u64,
    sigma: f32,
}

impl NoiseArgs {
    fn new(noise: Option<(NoiseKey, f32)>) -> Self {
        match noise {
            None => NoiseArgs {
                has: 0,
                seed: 0,
                stream: 0,
                offset: 0,
                sigma: 0.0,
            },
            Some((k, s)) => NoiseArgs {
                has: 1,
                seed: k.seed,
                stream: k.stream,
                offset: k.offset,
                sigma: s,
            },
        }
    }
}

impl Backend for CudaBackend {
    type Buf<T: Scalar> = CudaBuf<T>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn alloc<T: Scalar>(&self, n: usize) -> Result<CudaBuf<T>> {
        let bytes = alloc_bytes::<T>(n)?;
        let raw = self.stream.alloc_zeros::<u8>(bytes).map_err(drv("alloc"))?;
        Ok(CudaBuf::from_raw(raw, n))
    }

    fn len<T: Scalar>(&self, buf: &CudaBuf<T>) -> usize {
        buf.len
    }

    fn upload<T: Scalar>(&self, host: &[T]) -> Result<CudaBuf<T>> {
        as_bytes(host)?;
        let mut buf = self.alloc::<T>(host.len())?;
        self.write(host, &mut buf)?;
        Ok(buf)
    }

    fn write<T: Scalar>(&self, host: &[T], dst: &mut CudaBuf<T>) -> Result<()> {
        check::same_len("write", dst.len, host.len())?;
        let bytes = as_bytes(host)?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream
            .memcpy_htod(bytes, &mut dst.bytes_mut())
            .map_err(drv("copy to device"))
    }

    fn download<T: Scalar>(&self, src: &CudaBuf<T>, host: &mut [T]) -> Result<()> {
        check::same_len("download", src.len, host.len())?;
        let bytes = as_bytes_mut(host)?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream
            .memcpy_dtoh(&src.bytes(), bytes)
            .map_err(drv("copy to host"))?;
        self.stream.synchronize().map_err(drv("copy to host"))
    }

    fn copy<T: Scalar>(&self, src: &CudaBuf<T>, dst: &mut CudaBuf<T>) -> Result<()> {
        check::same_len("copy", dst.len, src.len)?;
        if src.num_bytes() == 0 {
            return Ok(());
        }
        self.stream
            .memcpy_dtod(&src.bytes(), &mut dst.bytes_mut())
            .map_err(drv("device copy"))
    }

    fn zero<T: Scalar>(&self, buf: &mut CudaBuf<T>) -> Result<()> {
        if buf.num_bytes() == 0 {
            return Ok(());
        }
        self.stream
            .memset_zeros(&mut buf.bytes_mut())
            .map_err(drv("memset"))
    }

    fn gemm(
        &self,
        ta: Transpose,
        tb: Transpose,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &CudaBuf<f32>,
        b: &CudaBuf<f32>,
        beta: f32,
        c: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_gemm(ta, tb, m, n, k, a.len, b.len, c.len)?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        if k == 0 {
            let len = c.len as u64;
            let Some(cfg) = grid_for(len) else {
                return Ok(());
            };
            let f = self.func(&ROWS, "nk_scale")?;
            let mut cv = c.view_mut()?;
            let mut bld = self.stream.launch_builder(&f);
            bld.arg(&mut cv).arg(&len).arg(&beta);
            // SAFETY: matches nk_scale(float*, u64, float).
            unsafe { bld.launch(cfg) }.map_err(drv("launch nk_scale"))?;
            return Ok(());
        }
        let plan = GemmPlan::new(ta, tb, m, n, k)?;
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        let cfg = GemmConfig {
            transa: op(plan.trans_first),
            transb: op(plan.trans_second),
            m: plan.m,
            n: plan.n,
            k: plan.k,
            alpha,
            lda: plan.lda,
            ldb: plan.ldb,
            beta,
            ldc: plan.ldc,
        };
        let (av, bv) = (a.view()?, b.view()?);
        let mut cv = c.view_mut()?;
        // SAFETY: shapes checked above; the plan's leading dimensions match the buffers.
        unsafe { self.blas.gemm(cfg, &bv, &av, &mut cv) }.map_err(|_| Error::Backend {
            backend: NAME,
            op: "cublas sgemm",
        })
    }

    fn row_sq_norms(
        &self,
        x: &CudaBuf<f32>,
        rows: usize,
        cols: usize,
        out: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("row_sq_norms", x.len, rows, cols)?;
        check::same_len("row_sq_norms out", rows, out.len)?;
        if cols == 0 {
            return self.zero(out);
        }
        let Some(cfg) = per_row(rows as u64) else {
            return Ok(());
        };
        let f = self.func(&ROWS, "nk_row_sq_norms")?;
        let (r, c) = (rows as u64, cols as u64);
        let xv = x.view()?;
        let mut ov = out.view_mut()?;
        let mut b = self.stream.launch_builder(&f);
        b.arg(&xv).arg(&r).arg(&c).arg(&mut ov);
        // SAFETY: matches nk_row_sq_norms.
        unsafe { b.launch(cfg) }.map_err(drv("launch nk_row_sq_norms"))?;
        Ok(())
    }

    fn scale_rows(
        &self,
        x: &mut CudaBuf<f32>,
        rows: usize,
        cols: usize,
        factors: &CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("scale_rows", x.len, rows, cols)?;
        check::same_len("scale_rows factors", rows, factors.len)?;
        let Some(cfg) = grid_for(x.len as u64) else {
            return Ok(());
        };
        let f = self.func(&ROWS, "nk_scale_rows")?;
        let (r, c) = (rows as u64, cols as u64);
        let fv = factors.view()?;
        let mut xv = x.view_mut()?;
        let mut b = self.stream.launch_builder(&f);
        b.arg(&mut xv).arg(&r).arg(&c).arg(&fv);
        // SAFETY: matches nk_scale_rows.
        unsafe { b.launch(cfg) }.map_err(drv("launch nk_scale_rows"))?;
        Ok(())
    }

    fn sum_rows(
        &self,
        x: &CudaBuf<f32>,
        rows: usize,
        cols: usize,
        out: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("sum_rows", x.len, rows, cols)?;
        check::same_len("sum_rows out", cols, out.len)?;
        let Some(cfg) = grid_for(cols as u64) else {
            return Ok(());
        };
        let f = self.func(&ROWS, "nk_sum_rows")?;
        let (r, c) = (rows as u64, cols as u64);
        let xv = x.view()?;
        let mut ov = out.view_mut()?;
        let mut b = self.stream.launch_builder(&f);
        b.arg(&xv).arg(&r).arg(&c).arg(&mut ov);
        // SAFETY: matches nk_sum_rows.
        unsafe { b.launch(cfg) }.map_err(drv("launch nk_sum_rows"))?;
        Ok(())
    }

    fn clip_rows_and_sum(
        &self,
        g: &CudaBuf<f32>,
        rows: usize,
        cols: usize,
        clip: f32,
        out: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("clip_rows_and_sum", g.len, rows, cols)?;
        check::same_len("clip_rows_and_sum out", cols, out.len)?;
        check::positive("clip", clip as f64)?;
        let Some(sum_cfg) = grid_for(cols as u64) else {
            return Ok(());
        };
        let (r, c) = (rows as u64, cols as u64);
        let ff = self.func(&ROWS, "nk_clip_factors")?;
        let fs = self.func(&ROWS, "nk_clip_sum")?;
        let mut s = lock(&self.scratch)?;
        ensure(&self.stream, &mut s.factors, rows)?;
        let factors = s.factors.as_mut().ok_or(Error::Backend {
            backend: NAME,
            op: "scratch",
        })?;
        let gv = g.view()?;
        if let Some(cfg) = per_row(r) {
            let mut b = self.stream.launch_builder(&ff);
            b.arg(&gv).arg(&r).arg(&c).arg(&clip).arg(&mut *factors);
            // SAFETY: matches nk_clip_factors; factors holds >= rows floats.
            unsafe { b.launch(cfg) }.map_err(drv("launch nk_clip_factors"))?;
        }
        let mut ov = out.view_mut()?;
        let mut b = self.stream.launch_builder(&fs);
        b.arg(&gv).arg(&r).arg(&c).arg(&*factors).arg(&mut ov);
        // SAFETY: matches nk_clip_sum.
        unsafe { b.launch(sum_cfg) }.map_err(drv("launch nk_clip_sum"))?;
        Ok(())
    }

    fn fill_normal(&self, key: NoiseKey, x: &mut CudaBuf<f32>) -> Result<()> {
        self.keyed_fill("nk_fill_normal", key, None, x)
    }

    fn add_normal(&self, key: NoiseKey, sigma: f32, x: &mut CudaBuf<f32>) -> Result<()> {
        check::non_negative("sigma", sigma as f64)?;
        self.keyed_fill("nk_add_normal", key, Some(sigma), x)
    }

    fn fused_update(
        &self,
        rule: &UpdateRule,
        params: &mut CudaBuf<f32>,
        grads: &CudaBuf<f32>,
        state: &mut [CudaBuf<f32>],
        noise: Option<(NoiseKey, f32)>,
    ) -> Result<()> {
        // The same checks, in the same order, as `apply_update`.
        rule.validate()?;
        let n = params.len;
        check::same_len("grads", n, grads.len)?;
        let need = rule.state_buffers();
        if state.len() < need {
            return Err(Error::invalid(
                "state",
                state.len() as f64,
                "one buffer per rule state",
            ));
        }
        for s in state.iter().take(need) {
            check::same_len("state", n, s.len)?;
        }
        if let Some((_, sigma)) = noise {
            check::non_negative("sigma", sigma as f64)?;
        }
        let n64 = n as u64;
        let Some(cfg) = grid_for(quads(n64)) else {
            return Ok(());
        };
        let na = NoiseArgs::new(noise);
        let pv = &mut params.view_mut()?;
        let gv = &grads.view()?;
        macro_rules! noise_args {
            ($b:ident) => {
                $b.arg(&na.has)
                    .arg(&na.seed)
                    .arg(&na.stream)
                    .arg(&na.offset)
                    .arg(&na.sigma)
            };
        }
        match *rule {
            UpdateRule::Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                step,
            } => {
                if momentum == 0.0 {
                    let f = self.func(&UPDATE, "nk_sgd_plain")?;
                    let mut b = self.stream.launch_builder(&f);
                    b.arg(pv).arg(gv).arg(&n64).arg(&lr).arg(&weight_decay);
                    noise_args!(b);
                    // SAFETY: matches nk_sgd_plain.
                    unsafe { b.launch(cfg) }.map_err(drv("launch nk_sgd_plain"))?;
                } else {
                    let f = self.func(&UPDATE, "nk_sgd_momentum")?;
                    let (nest, first) = (i32::from(nesterov), i32::from(step == 1));
                    let [buf, ..] = state else {
                        return Err(Error::invalid("state", 0.0, "one buffer per rule state"));
                    };
                    let bv = &mut buf.view_mut()?;
                    let mut b = self.stream.launch_builder(&f);
                    b.arg(pv)
                        .arg(gv)
                        .arg(bv)
                        .arg(&n64)
                        .arg(&lr)
                        .arg(&momentum)
                        .arg(&dampening)
                        .arg(&weight_decay)
                        .arg(&nest)
                        .arg(&first);
                    noise_args!(b);
                    // SAFETY: matches nk_sgd_momentum.
                    unsafe { b.launch(cfg) }.map_err(drv("launch nk_sgd_momentum"))?;
                }
            }
            UpdateRule::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                step,
            } => {
                // Host constants computed by the same function apply_update uses.
                let AdamWScalars {
                    decay,
                    step_size,
                    bc2_sqrt,
                } = AdamWScalars::new(lr, beta1, beta2, weight_decay, step);
                let [m, v, ..] = state else {
                    return Err(Error::invalid("state", 1.0, "one buffer per rule state"));
                };
                let f = self.func(&UPDATE, "nk_adamw")?;
                let (mv, vv) = (&mut m.view_mut()?, &mut v.view_mut()?);
                let mut b = self.stream.launch_builder(&f);
                b.arg(pv)
                    .arg(gv)
                    .arg(mv)
                    .arg(vv)
                    .arg(&n64)
                    .arg(&beta1)
                    .arg(&beta2)
                    .arg(&eps)
                    .arg(&decay)
                    .arg(&step_size)
                    .arg(&bc2_sqrt);
                noise_args!(b);
                // SAFETY: matches nk_adamw.
                unsafe { b.launch(cfg) }.map_err(drv("launch nk_adamw"))?;
            }
            UpdateRule::SgdSai {
                lr,
                momentum,
                weight_decay,
                gsnr,
                step,
            } => {
                let decay = 1.0 - lr * weight_decay;
                let scale = lr * gsnr;
                let first = i32::from(step == 1);
                let [buf, ..] = state else {
                    return Err(Error::invalid("state", 0.0, "one buffer per rule state"));
                };
                let f = self.func(&UPDATE, "nk_sgd_sai")?;
                let bv = &mut buf.view_mut()?;
                let mut b = self.stream.launch_builder(&f);
                b.arg(pv)
                    .arg(gv)
                    .arg(bv)
                    .arg(&n64)
                    .arg(&momentum)
                    .arg(&decay)
                    .arg(&scale)
                    .arg(&first);
                noise_args!(b);
                // SAFETY: matches nk_sgd_sai.
                unsafe { b.launch(cfg) }.map_err(drv("launch nk_sgd_sai"))?;
            }
        }
        Ok(())
    }

    fn gather_cols(
        &self,
        x: &CudaBuf<f32>,
        rows: usize,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("gather_cols", x.len, rows, cols)?;
        check::same_len("gather_cols scale", idx.len(), scale.len())?;
        check_matrix("gather_cols out", out.len, rows, idx.len())?;
        check_indices("gather_cols idx", idx, cols)?;
        let k = idx.len() as u64;
        let Some(cfg) = grid_for(rows as u64 * k) else {
            return Ok(());
        };
        let f = self.func(&GATHER, "nk_gather_cols")?;
        let (r, c) = (rows as u64, cols as u64);
        let xv = x.view()?;
        let mut ov = out.view_mut()?;
        self.with_indices(idx, Some(scale), |di, ds| {
            let ds = ds.ok_or(Error::Backend {
                backend: NAME,
                op: "scratch",
            })?;
            let mut b = self.stream.launch_builder(&f);
            b.arg(&xv)
                .arg(&r)
                .arg(&c)
                .arg(di)
                .arg(ds)
                .arg(&k)
                .arg(&mut ov);
            // SAFETY: matches nk_gather_cols; indices checked below cols.
            unsafe { b.launch(cfg) }.map_err(drv("launch nk_gather_cols"))?;
            Ok(())
        })
    }

    fn gather_rows(
        &self,
        x: &CudaBuf<f32>,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut CudaBuf<f32>,
    ) -> Result<()> {
        let rows = x.len.checked_div(cols).unwrap_or(0);
        check_matrix("gather_rows", x.len, rows, cols)?;
        check::same_len("gather_rows scale", idx.len(), scale.len())?;
        check_matrix("gather_rows out", out.len, idx.len(), cols)?;
        check_indices("gather_rows idx", idx, rows)?;
        let k = idx.len() as u64;
        let Some(cfg) = grid_for(k * cols as u64) else {
            return Ok(());
        };
        let f = self.func(&GATHER, "nk_gather_rows")?;
        let c = cols as u64;
        let xv = x.view()?;
        let mut ov = out.view_mut()?;
        self.with_indices(idx, Some(scale), |di, ds| {
            let ds = ds.ok_or(Error::Backend {
                backend: NAME,
                op: "scratch",
            })?;
            let mut b = self.stream.launch_builder(&f);
            b.arg(&xv).arg(&c).arg(di).arg(ds).arg(&k).arg(&mut ov);
            // SAFETY: matches nk_gather_rows; indices checked below rows.
            unsafe { b.launch(cfg) }.map_err(drv("launch nk_gather_rows"))?;
            Ok(())
        })
    }

    fn scatter_add_rows(
        &self,
        src: &CudaBuf<f32>,
        cols: usize,
        idx: &[u32],
        dst: &mut CudaBuf<f32>,
    ) -> Result<()> {
        check_matrix("scatter_add_rows src", src.len, idx.len(), cols)?;
        let rows = dst.len.checked_div(cols).unwrap_or(0);
        check_matrix("scatter_add_rows dst", dst.len, rows, cols)?;
        check_indices("scatter_add_rows idx", idx, rows)?;
        let k = idx.len() as u64;
        if k == 0 {
            return Ok(());
        }
        let Some(cfg) = grid_for(cols as u64) else {
            return Ok(());
        };
        let f = self.func(&GATHER, "nk_scatter_add_rows")?;
        let c = cols as u64;
        let sv = src.view()?;
        let mut dv = dst.view_mut()?;
        self.with_indices(idx, None, |di, _| {
            let mut b = self.stream.launch_builder(&f);
            b.arg(&sv).arg(&c).arg(di).arg(&k).arg(&mut dv);
            // SAFETY: matches nk_scatter_add_rows; indices checked below rows.
            unsafe { b.launch(cfg) }.map_err(drv("launch nk_scatter_add_rows"))?;
            Ok(())
        })
    }

    fn sync(&self) -> Result<()> {
        self.stream.synchronize().map_err(drv("synchronize"))
    }
}
