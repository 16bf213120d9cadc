//! The Storage group: block devices and mounted filesystems.

use super::model::{Section, Table, Val};
use super::parse;
use super::system::Sys;
use crate::os::statvfs;
use std::collections::BTreeSet;
use std::path::Path;

fn block_kind(name: &str) -> &'static str {
    let p = |x: &str| name.starts_with(x);
    if p("nvme") {
        "NVMe"
    } else if p("sd") {
        "SCSI/SATA"
    } else if p("vd") {
        "virtio"
    } else if p("xvd") {
        "Xen"
    } else if p("hd") {
        "IDE"
    } else if p("mmcblk") {
        "MMC"
    } else if p("dm-") {
        "device-mapper"
    } else if p("md") {
        "software RAID"
    } else if p("zram") {
        "compressed RAM"
    } else if p("nbd") {
        "network block"
    } else if p("rbd") {
        "Ceph RBD"
    } else {
        "other"
    }
}

pub fn storage(sys: &Sys) -> Section {
    let mut rows = Vec::new();
    for name in sys.list("/sys/block") {
        if name.starts_with("loop") || name.starts_with("ram") {
            continue;
        }
        let p = |f: &str| format!("/sys/block/{name}/{f}");
        let size = sys.num::<u64>(&p("size")).map(|s| s * 512);
        let model = sys
            .read(&p("device/model"))
            .or_else(|| sys.read(&p("dm/name")));
        rows.push(vec![
            Val::text(name.clone()),
            Val::text(block_kind(&name)),
            Val::opt_bytes(size),
            Val::opt_text(model),
            Val::opt_text(sys.read(&p("device/vendor"))),
            Val::opt_bool(sys.read(&p("queue/rotational")).map(|r| r == "1")),
            Val::opt_text(
                sys.read(&p("queue/scheduler"))
                    .and_then(|s| parse::bracketed(&s).map(String::from).or(Some(s))),
            ),
            Val::opt_int(sys.num::<i64>(&p("queue/logical_block_size"))),
            Val::opt_int(sys.num::<i64>(&p("device/numa_node")).filter(|n| *n >= 0)),
        ]);
    }
    let mut s = Section::new("storage", "Storage");
    s.tables.push(Table {
        key: "devices",
        title: "Block devices",
        columns: vec![
            ("name", "Name"),
            ("type", "Type"),
            ("size_bytes", "Size"),
            ("model", "Model"),
            ("vendor", "Vendor"),
            ("rotational", "Rotational"),
            ("scheduler", "Scheduler"),
            ("logical_block_bytes", "Block size"),
            ("numa_node", "NUMA node"),
        ],
        rows,
        why_empty: None,
    });
    s.tables.push(filesystems(sys));
    s
}

const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "pstore",
    "bpf",
    "tracefs",
    "debugfs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "nsfs",
    "ramfs",
    "rpc_pipefs",
    "selinuxfs",
    "squashfs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "nfsd",
    "devfs",
    "overlayfs-meta",
];
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "9p",
    "fuse.sshfs",
    "lustre",
];

fn filesystems(sys: &Sys) -> Table {
    let mounts = parse::parse_mounts(
        &sys.read_raw("/proc/self/mounts")
            .or_else(|| sys.read_raw("/proc/mounts"))
            .unwrap_or_default(),
    );
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for (dev, mnt, fstype, opts) in mounts {
        if PSEUDO_FS.contains(&fstype.as_str()) || !seen.insert(mnt.clone()) {
            continue;
        }
        // Bind-mounted files (/etc/hosts in containers) are not filesystems.
        if sys.is_real() && !Path::new(&mnt).is_dir() {
            continue;
        }
        let network = NETWORK_FS.contains(&fstype.as_str()) || fstype.starts_with("fuse.");
        let sizes = if sys.is_real() && !network {
            statvfs(Path::new(&mnt))
                .ok()
                .map(|fs| (fs.total, fs.available))
        } else {
            None
        };
        let ro = opts.split(',').any(|o| o == "ro");
        rows.push(vec![
            Val::text(mnt),
            Val::text(dev),
            Val::text(fstype),
            Val::opt_bytes(sizes.map(|s| s.0)),
            Val::opt_bytes(sizes.map(|s| s.1)),
            Val::Bool(ro),
            Val::text(opts.clone()),
        ]);
    }
    Table {
        key: "filesystems",
        title: "Filesystems",
        columns: vec![
            ("mount_point", "Mount point"),
            ("device", "Device"),
            ("type", "Type"),
            ("size_bytes", "Size"),
            ("available_bytes", "Available"),
            ("read_only", "Read-only"),
            ("options", "Mount options"),
        ],
        rows,
        why_empty: None,
    }
}
