//! Anonymous memory for the memory part: huge-page backed where the kernel
//! agrees (fewer TLB misses blurring the cache steps), unmapped on drop.

/// A private anonymous mapping.
pub struct Region {
    pub ptr: *mut u8,
    pub len: usize,
}

// SAFETY: a private mapping owned by one Region; callers synchronise access.
unsafe impl Send for Region {}

impl Region {
    pub fn new(len: usize) -> Region {
        let len = len.max(4096).next_multiple_of(2 << 20);
        // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "cannot map {len} bytes of memory");
        // SAFETY: advice on our own mapping; failure only loses huge pages.
        unsafe { libc::madvise(ptr, len, libc::MADV_HUGEPAGE) };
        Region {
            ptr: ptr.cast(),
            len,
        }
    }

    pub fn words(&mut self) -> &mut [u64] {
        // SAFETY: the mapping is len bytes, page aligned, zero filled.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast(), self.len / 8) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in new().
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}
