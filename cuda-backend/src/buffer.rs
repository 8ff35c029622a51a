//! `CudaBuf<T>`: a device buffer of `len` elements of a [`Scalar`] type.
//!
//! The `Backend` trait is generic over any `T: Scalar`, while cudarc's typed copies need
//! `T: DeviceRepr`; so the buffer owns raw bytes (`CudaSlice<u8>`, at least one byte so a zero-length
//! buffer is still a valid allocation) and typed views are taken where the element type is known.
//! Host data crosses as bytes only for the plain-data scalars `f32`, `f64` and `u32`; any other
//! `Scalar` is refused with a typed error (its layout is unknown).

use std::any::TypeId;
use std::marker::PhantomData;

use cudarc::driver::{CudaSlice, CudaView, CudaViewMut};
use noisekit::backend::Scalar;
use noisekit::Error;

/// A device buffer of `len` elements of `T`.
#[derive(Debug)]
pub struct CudaBuf<T> {
    pub(crate) raw: CudaSlice<u8>,
    pub(crate) len: usize,
    _t: PhantomData<T>,
}

impl<T: Scalar> CudaBuf<T> {
    pub(crate) fn from_raw(raw: CudaSlice<u8>, len: usize) -> Self {
        CudaBuf {
            raw,
            len,
            _t: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of payload bytes (`len * size_of::<T>()`).
    pub fn num_bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }

    pub(crate) fn bytes(&self) -> CudaView<'_, u8> {
        self.raw.slice(0..self.num_bytes())
    }

    pub(crate) fn bytes_mut(&mut self) -> CudaViewMut<'_, u8> {
        let n = self.num_bytes();
        self.raw.slice_mut(0..n)
    }

    /// The buffer as a typed view.
    pub(crate) fn view(&self) -> Result<CudaView<'_, T>, Error> {
        // SAFETY: the allocation holds `len` elements of `T` written only through typed copies of
        // plain-data scalars; the device allocator aligns to 256 bytes.
        unsafe { self.raw.transmute::<T>(self.len) }.ok_or(Error::Backend {
            backend: "cuda",
            op: "buffer view",
        })
    }

    /// The buffer as a mutable typed view.
    pub(crate) fn view_mut(&mut self) -> Result<CudaViewMut<'_, T>, Error> {
        let len = self.len;
        // SAFETY: as in `view`.
        unsafe { self.raw.transmute_mut::<T>(len) }.ok_or(Error::Backend {
            backend: "cuda",
            op: "buffer view",
        })
    }
}

/// Bytes to allocate for `len` elements of `T` (never 0: CUDA refuses zero-byte allocations).
pub(crate) fn alloc_bytes<T: Scalar>(len: usize) -> Result<usize, Error> {
    len.checked_mul(std::mem::size_of::<T>())
        .map(|b| b.max(1))
        .ok_or(Error::invalid(
            "len",
            len as f64,
            "a buffer size that fits in usize bytes",
        ))
}

fn plain_data<T: Scalar>() -> Result<(), Error> {
    let t = TypeId::of::<T>();
    if t == TypeId::of::<f32>() || t == TypeId::of::<f64>() || t == TypeId::of::<u32>() {
        Ok(())
    } else {
        Err(Error::Backend {
            backend: "cuda",
            op: "element type (only f32, f64, u32 cross to the device)",
        })
    }
}

/// `host` as bytes, for the plain-data scalars.
pub(crate) fn as_bytes<T: Scalar>(host: &[T]) -> Result<&[u8], Error> {
    plain_data::<T>()?;
    // SAFETY: T is f32, f64 or u32 (checked above): no padding, every byte initialised.
    Ok(unsafe {
        std::slice::from_raw_parts(host.as_ptr().cast::<u8>(), std::mem::size_of_val(host))
    })
}

/// `host` as mutable bytes, for the plain-data scalars.
pub(crate) fn as_bytes_mut<T: Scalar>(host: &mut [T]) -> Result<&mut [u8], Error> {
    plain_data::<T>()?;
    let n = std::mem::size_of_val(host);
    // SAFETY: T is f32, f64 or u32: every bit pattern is a valid value.
    Ok(unsafe { std::slice::from_raw_parts_mut(host.as_mut_ptr().cast::<u8>(), n) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    struct Odd(u8, u32);
    impl Scalar for Odd {}

    #[test]
    fn bytes_only_for_plain_scalars() {
        let x = [1.0f32, -2.0];
        let b = as_bytes(&x).unwrap();
        assert_eq!(b.len(), 8);
        assert_eq!(&b[..4], &1.0f32.to_ne_bytes());
        let mut y = [0u32; 3];
        as_bytes_mut(&mut y).unwrap()[4] = 7;
        assert_eq!(y[1], u32::from_ne_bytes([7, 0, 0, 0]));
        assert!(matches!(as_bytes(&[Odd(1, 2)]), Err(Error::Backend { .. })));
    }

    #[test]
    fn allocation_size_is_never_zero_and_overflow_is_typed() {
        assert_eq!(alloc_bytes::<f32>(0).unwrap(), 1);
        assert_eq!(alloc_bytes::<f64>(3).unwrap(), 24);
        assert!(matches!(
            alloc_bytes::<f64>(usize::MAX),
            Err(Error::InvalidParam { .. })
        ));
    }
}
