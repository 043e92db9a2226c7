//! A DNS-style UDP responder: one socket bound to the wildcard address answers every query
//! from the address the query was sent to, with the query's ECN codepoint echoed.
//!
//! The responder binds `0.0.0.0` on a free port, switches on `IP_PKTINFO`
//! ([`sockopt::set_recv_pktinfo`]) and `IP_RECVTOS` ([`sockopt::set_recv_tos`]), and loops:
//! a [`RecvBatch`] takes up to 64 queries in one `recvmmsg`; for each, [`Received::destination`]
//! says which address it was asked on and [`Received::ecn`] its ECN codepoint; a [`Batch`]
//! sends every answer in one `sendmmsg`, each with `IP_PKTINFO` naming that address as its
//! source ([`Encoder::push_source_ip`]) and `IP_TOS` carrying the same codepoint
//! ([`Encoder::push_ip_tos`]). Without the source address the kernel would answer a query to
//! 127.0.0.2 from 127.0.0.1, and a real client (which checks where the answer comes from)
//! would drop it.
//!
//! A client thread sends the queries, alternately to 127.0.0.1 and 127.0.0.2, cycling
//! through the four ECN codepoints, up to 64 in flight, and checks every answer: its source
//! address, its ECN codepoint and its payload (the query id and the address asked). The
//! responder prints its progress and rate; the program exits non-zero on any mismatch or
//! lost answer. Loopback only.
//!
//! ```text
//! cargo run --release --example udp_responder            # 200 000 queries
//! cargo run --release --example udp_responder -- 20000   # fewer
//! ```
//!
//! [`sockopt::set_recv_pktinfo`]: ancillary::sockopt::set_recv_pktinfo
//! [`sockopt::set_recv_tos`]: ancillary::sockopt::set_recv_tos
//! [`Received::destination`]: ancillary::Received::destination
//! [`Received::ecn`]: ancillary::Received::ecn
//! [`Encoder::push_source_ip`]: ancillary::cmsg::Encoder::push_source_ip
//! [`Encoder::push_ip_tos`]: ancillary::cmsg::Encoder::push_ip_tos

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{Ecn, INT_SPACE, IP_PKTINFO_SPACE};
use ancillary::sockopt;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Queries taken by one `recvmmsg`, and the most a client keeps in flight.
const WINDOW: usize = 64;
/// A query: `Q`, its id (u32, big-endian), the name asked for.
const QUERY_LEN: usize = 1 + 4 + 11;
/// An answer: `A`, the query's id, the IPv4 address the query was sent to, the name.
const ANSWER_LEN: usize = 1 + 4 + 4 + 11;
const NAME: &[u8; 11] = b"example.org";
/// How long a side waits for a datagram before it calls the run failed.
const PATIENCE: Duration = Duration::from_secs(5);
/// The two addresses the client asks on.
const ASKED: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2)];
const CODEPOINTS: [Ecn; 4] = [Ecn::NotEct, Ecn::Ect0, Ecn::Ect1, Ecn::Ce];

pub(crate) fn main() -> Result<()> {
    let total: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("count {a:?}: {e}"))?,
        None => 200_000,
    };
    let server = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    sockopt::set_recv_pktinfo(&server, true)?;
    sockopt::set_recv_tos(&server, true)?;
    let port = server.local_addr()?.port();
    println!(
        "udp_responder: answering on 0.0.0.0:{port}; {total} queries to 127.0.0.1 and 127.0.0.2"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let responder = {
        let stop = stop.clone();
        thread::spawn(move || respond(&server, &stop))
    };
    let checked = client(port, total);
    stop.store(true, Ordering::Release);
    let served = responder.join().map_err(|_| "the responder panicked")??;
    let checked = checked?;
    println!(
        "udp_responder: {checked} answers checked (source address, ECN, payload); {} queries \
         answered in {} recvmmsg and {} sendmmsg calls, {:.0} datagrams/s",
        served.answered,
        served.recv_calls,
        served.send_calls,
        served.answered as f64 / served.busy.as_secs_f64()
    );
    Ok(())
}

/// What the responder did.
struct Served {
    answered: usize,
    recv_calls: usize,
    send_calls: usize,
    /// From the first query to the last answer.
    busy: Duration,
}

/// One answer, waiting to be sent.
#[derive(Clone, Copy)]
struct Answer {
    to: SocketAddr,
    from: IpAddr,
    ecn: Ecn,
    payload: [u8; ANSWER_LEN],
}

/// Answers queries until `stop`.
fn respond(server: &UdpSocket, stop: &AtomicBool) -> Result<Served> {
    let mut queries = RecvBatch::new(WINDOW, 512, IP_PKTINFO_SPACE + INT_SPACE)?;
    let mut answers: Vec<Answer> = Vec::with_capacity(WINDOW);
    let mut spare = Batch::with_capacity(WINDOW, WINDOW, WINDOW * (IP_PKTINFO_SPACE + INT_SPACE))?;
    let mut served = Served {
        answered: 0,
        recv_calls: 0,
        send_calls: 0,
        busy: Duration::ZERO,
    };
    let mut first: Option<Instant> = None;
    let (mut shown, mut last_count, mut last_time) = (Instant::now(), 0, Instant::now());
    while !stop.load(Ordering::Acquire) {
        if queries.recv_timeout(server, Duration::from_millis(50))? == 0 {
            continue;
        }
        served.recv_calls += 1;
        first.get_or_insert_with(Instant::now);
        answers.clear();
        for q in queries.iter_mut() {
            let data = q.data();
            let (Some(to), Some(dest), Some(ecn)) = (q.socket_addr(), q.destination(), q.ecn())
            else {
                return Err(
                    format!("a query without its address, IP_PKTINFO or IP_TOS: {q:?}").into(),
                );
            };
            let IpAddr::V4(asked) = dest.ip else {
                return Err(format!("an IPv4 socket reported {}", dest.ip).into());
            };
            if data.len() != QUERY_LEN || data[0] != b'Q' {
                return Err(format!("not a query: {data:?}").into());
            }
            let mut payload = [0u8; ANSWER_LEN];
            payload[0] = b'A';
            payload[1..5].copy_from_slice(&data[1..5]);
            payload[5..9].copy_from_slice(&asked.octets());
            payload[9..].copy_from_slice(&data[5..]);
            answers.push(Answer {
                to,
                from: dest.ip,
                ecn,
                payload,
            });
        }
        // The batch borrows this round's answers; `recycle` gives it back empty, with its
        // storage, for the next round.
        let mut batch = spare.recycle();
        for a in &answers {
            batch.push_with(a.to, &a.payload, |c| {
                c.push_source_ip(a.from)?;
                c.push_ip_tos(a.ecn.bits())?;
                Ok(())
            })?;
        }
        let mut sent = 0;
        while sent < answers.len() {
            sent += batch.send(server)?;
            served.send_calls += 1;
        }
        spare = batch.recycle();
        served.answered += sent;
        served.busy = first.map_or(Duration::ZERO, |f| f.elapsed());
        if shown.elapsed() >= Duration::from_millis(500) {
            let rate = (served.answered - last_count) as f64 / last_time.elapsed().as_secs_f64();
            println!("  answered {:>9}, {rate:>9.0} datagrams/s", served.answered);
            (shown, last_count, last_time) = (Instant::now(), served.answered, Instant::now());
        }
    }
    Ok(served)
}

/// Sends `total` queries to the responder on `port` and checks every answer; returns how many
/// it checked.
fn client(port: u16, total: usize) -> Result<usize> {
    let socket = UdpSocket::bind((ASKED[0], 0))?;
    sockopt::set_recv_tos(&socket, true)?;
    let mut answers = RecvBatch::new(WINDOW, 512, INT_SPACE)?;
    let mut spare = Batch::with_capacity(WINDOW, WINDOW, WINDOW * INT_SPACE)?;
    let mut queries = vec![[0u8; QUERY_LEN]; WINDOW];
    let (mut sent, mut checked) = (0usize, 0usize);
    while checked < total {
        // A window of queries, in one sendmmsg.
        let start = sent;
        let end = (start + WINDOW).min(total);
        for (q, id) in queries.iter_mut().zip(start..end) {
            q[0] = b'Q';
            q[1..5].copy_from_slice(&(id as u32).to_be_bytes());
            q[5..].copy_from_slice(NAME);
        }
        let mut batch = spare.recycle();
        for (q, id) in queries.iter().zip(start..end) {
            let to = SocketAddr::from((ASKED[id % 2], port));
            let ecn = CODEPOINTS[id % 4];
            batch.push_with(to, q, |c| {
                c.push_ip_tos(ecn.bits())?;
                Ok(())
            })?;
        }
        while sent < end {
            sent += batch.send(&socket)?;
        }
        spare = batch.recycle();
        // Their answers, in any order.
        let mut seen = vec![false; end - start];
        let mut waiting = end - start;
        while waiting > 0 {
            if answers.recv_timeout(&socket, PATIENCE)? == 0 {
                return Err(format!(
                    "{waiting} answers of queries {start}..{end} did not come in {PATIENCE:?}"
                )
                .into());
            }
            for a in answers.iter_mut() {
                let id = check(&a, port)?;
                let slot = id
                    .checked_sub(start)
                    .and_then(|i| seen.get_mut(i))
                    .ok_or_else(|| format!("an answer to query {id}, not in {start}..{end}"))?;
                if std::mem::replace(slot, true) {
                    return Err(format!("two answers to query {id}").into());
                }
                waiting -= 1;
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// Checks one answer: it comes from the address its query was sent to, with that query's ECN
/// codepoint, and says so; returns the query id.
fn check(a: &ancillary::batch::RecvDatagram<'_>, port: u16) -> Result<usize> {
    let data = a.data();
    if data.len() != ANSWER_LEN || data[0] != b'A' || &data[9..] != NAME {
        return Err(format!("not an answer: {data:?}").into());
    }
    let id = u32::from_be_bytes(data[1..5].try_into()?) as usize;
    let asked = SocketAddr::from((ASKED[id % 2], port));
    let said = Ipv4Addr::from(<[u8; 4]>::try_from(&data[5..9])?);
    if said != ASKED[id % 2] {
        return Err(format!("query {id} was sent to {asked}, the responder saw {said}").into());
    }
    if a.socket_addr() != Some(asked) {
        return Err(format!(
            "the answer to query {id} came from {:?}, not from {asked}",
            a.socket_addr()
        )
        .into());
    }
    let ecn = CODEPOINTS[id % 4];
    if a.ecn() != Some(ecn) {
        return Err(format!(
            "query {id} went with {ecn:?}, its answer with {:?}",
            a.ecn()
        )
        .into());
    }
    Ok(id)
}
