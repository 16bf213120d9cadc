//! OS interfaces reached through libc: filesystem sizes, interface addresses, privileges.

use std::collections::BTreeMap;

/// What statvfs says of a filesystem.
#[derive(Debug, Clone, Copy)]
pub struct FsStats {
    /// Its size in bytes.
    pub total: u64,
    /// Bytes available to unprivileged users.
    pub available: u64,
    /// Mounted noexec: programs written there cannot run.
    pub noexec: bool,
}

/// statvfs(3) of the filesystem holding `path`.
pub fn statvfs(path: &std::path::Path) -> std::io::Result<FsStats> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs fills a plain struct from a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let f = st.f_frsize as u64;
        Ok(FsStats {
            total: (st.f_blocks as u64).saturating_mul(f),
            available: (st.f_bavail as u64).saturating_mul(f),
            noexec: st.f_flag & libc::ST_NOEXEC != 0,
        })
    }
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Interface addresses from getifaddrs (IPv4 and IPv6), by interface name.
pub fn addresses() -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // SAFETY: getifaddrs allocates a list that we walk read-only and free.
    unsafe {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut head) != 0 {
            return map;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let family = i32::from((*ifa.ifa_addr).sa_family);
            let addr = if family == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).to_string()
            } else if family == libc::AF_INET6 {
                let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).to_string()
            } else {
                continue;
            };
            map.entry(name).or_default().push(addr);
        }
        libc::freeifaddrs(head);
    }
    map
}

/// Clock ticks per second (the unit of /proc/PID/stat times).
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// The page size in bytes (the unit of /proc/PID/stat rss).
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}
