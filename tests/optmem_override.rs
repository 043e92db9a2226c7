//! The process-wide optmem_max override (alone in its binary: it changes global state).
#![cfg(unix)]

use std::io::IoSlice;

use ancillary::cmsg::Encoder;
use ancillary::limits::{kernel_control_len, optmem_max, set_optmem_max};
use ancillary::{Error, Limit, SendMsg};

#[test]
fn override_applies_to_every_send_and_can_be_reset() {
    let sysctl: usize = std::fs::read_to_string("/proc/sys/net/core/optmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(optmem_max(), sysctl);
    set_optmem_max(100);
    assert_eq!(optmem_max(), 100);

    let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let mut storage = [0u8; 256];
    let mut control = Encoder::new(&mut storage);
    control
        .push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[0; 100])
        .unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::ControlBuffer,
            needed: kernel_control_len(control.as_bytes()),
            max: 100,
            kernel: None
        }
    );

    set_optmem_max(0);
    assert_eq!(optmem_max(), sysctl);
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"x")])
            .control(&control)
            .send(&a),
        Ok(1)
    );
}
