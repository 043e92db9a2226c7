//! cfg aliases, so that code asks what a system has (`has_mmsg`, `has_gso`, ...) instead of
//! naming systems (`target_os = ...`) all over the crate.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let os = os.as_str();
    let linux_like = matches!(os, "linux" | "android");
    let apple = matches!(os, "macos" | "ios" | "tvos" | "watchos" | "visionos");
    let freebsd = os == "freebsd";
    let netbsd = os == "netbsd";
    let windows = env::var("CARGO_CFG_WINDOWS").is_ok();

    let aliases: &[(&str, bool)] = &[
        // Families.
        ("linux_like", linux_like),
        ("apple", apple),
        ("freebsd", freebsd),
        ("netbsd", netbsd),
        // What the system has.
        // sendmmsg(2)/recvmmsg(2) as calls (in the kernel or the C library).
        ("has_mmsg", linux_like || freebsd || netbsd),
        // UDP GSO/GRO: UDP_SEGMENT on send, UDP_GRO on receive.
        ("has_gso", linux_like),
        // MSG_NOSIGNAL as a send flag.
        ("has_msg_nosignal", linux_like || freebsd || netbsd),
        // MSG_CMSG_CLOEXEC as a receive flag.
        ("has_cmsg_cloexec", linux_like || freebsd || netbsd),
        // sendfile(2) from a file to a socket.
        ("has_sendfile", linux_like || freebsd || apple),
        // sendfile(2) that sends a header first (struct sf_hdtr), counted in what it reports.
        ("has_sendfile_hdtr", freebsd || apple),
        // SCM_CREDENTIALS with struct ucred, which a sender may attach.
        ("has_ucred", linux_like),
        // SCM_CREDS as the kernel writes it for the receiver (FreeBSD: struct cmsgcred, or
        // struct sockcred with LOCAL_CREDS, and SCM_CREDS2 with struct sockcred2; NetBSD:
        // struct sockcred with LOCAL_CREDS). A different message from Linux's SCM_CREDENTIALS.
        ("has_scm_creds", freebsd || netbsd),
        // The peer's credentials as struct xucred (getsockopt LOCAL_PEERCRED).
        ("has_local_peercred", freebsd || apple),
        // MSG_EOF as a send flag (send, then shut down the write side).
        ("has_msg_eof", freebsd || apple),
        // IPv4 destination and source as a bare in_addr: IP_RECVDSTADDR / IP_SENDSRCADDR.
        ("has_ip_recvdstaddr", freebsd),
        // SCM_PIDFD / SO_PASSPIDFD.
        ("has_pidfd", linux_like),
        // IP_PKTINFO with Linux's 12-byte struct in_pktinfo {ifindex, spec_dst, addr}. FreeBSD
        // has no IP_PKTINFO (IP_RECVDSTADDR/IP_SENDSRCADDR instead); NetBSD's in_pktinfo is
        // 8 bytes {addr, ifindex}: neither may be encoded or decoded as Linux's.
        ("has_ip_pktinfo", linux_like || apple),
        // IP_PKTINFO with NetBSD's 8-byte struct in_pktinfo {ipi_addr, ipi_ifindex}: on send
        // the source address (and interface), on receive (IP_RECVPKTINFO) the destination.
        // Windows's IN_PKTINFO {ipi_addr, ipi_ifindex} has the same shape.
        ("has_ip_pktinfo8", netbsd || windows),
        // The destination of a received datagram behind one typed API (sockopt::set_recv_pktinfo,
        // Received::destination): IP_PKTINFO (Linux, macOS), IP_RECVPKTINFO (NetBSD) or
        // IP_RECVDSTADDR (FreeBSD) for IPv4, IPV6_RECVPKTINFO for IPv6.
        ("has_recv_pktinfo", linux_like || apple || freebsd || netbsd),
        // The TOS/traffic class and TTL/hop limit of received datagrams behind one typed API
        // (sockopt::set_recv_tos, set_recv_ttl; Received::tos, ecn, ttl): IP_RECVTOS /
        // IPV6_RECVTCLASS and IP_RECVTTL / IPV6_RECVHOPLIMIT, all four in the libc crate.
        // NetBSD's libc has only the IPv6 traffic class.
        ("has_recv_tos", linux_like || freebsd || apple),
        // The IPv4 TOS and TTL arrive as messages of type IP_RECVTOS and IP_RECVTTL holding one
        // u_char (ip_savecontrol), where Linux sends types IP_TOS (one byte) and IP_TTL (int).
        ("has_ip_recvtos_msg", freebsd || apple),
        // IPV6_TCLASS may arrive as one byte rather than an int.
        ("has_tclass_byte", apple),
        // IPV6_HOPLIMIT in the libc crate (NetBSD's lacks it).
        ("has_ipv6_hoplimit", linux_like || apple || freebsd),
        // SCM_TXTIME (SO_TXTIME), SCM_TIMESTAMPNS (SO_TIMESTAMPNS), SO_RXQ_OVFL.
        ("has_txtime", linux_like),
        ("has_timestampns", linux_like),
        ("has_rxq_ovfl", linux_like),
        // Send flags MSG_CONFIRM and MSG_MORE, receive flag MSG_ERRQUEUE.
        ("has_msg_confirm", linux_like),
        ("has_msg_more", linux_like),
        ("has_errqueue", linux_like),
        // The errno ENONET.
        ("has_enonet", linux_like),
    ];
    // docs.rs builds with `--cfg docsrs` (Cargo.toml) to label items gated to some systems.
    println!("cargo:rustc-check-cfg=cfg(docsrs)");
    for (name, on) in aliases {
        println!("cargo:rustc-check-cfg=cfg({name})");
        if *on {
            println!("cargo:rustc-cfg={name}");
        }
    }
}
