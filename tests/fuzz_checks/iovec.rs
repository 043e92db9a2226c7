//! `iovec_model`: [`IoVecs`] against a plain model, over sequences of operations.
//!
//! The model is the list of `(iov_base, iov_len)` the kernel would be handed, kept as the
//! slices themselves. After every operation the gather list must be that list exactly (the same
//! addresses and lengths: nothing is copied), `len`, `is_empty` and `total_len` must follow; a
//! clone of the list the operations leave is the same list. `advance` takes any amount, also past the end.

use std::io::IoSlice;

use ancillary::iovec::INLINE;
use ancillary::limits::MAX_IOVECS;
use ancillary::{IoVecs, IoVecsMut};
use arbitrary::{Arbitrary, Unstructured};
use bytes::{Buf, Bytes};

/// A piece of the pool: where it starts and how long it is (both reduced to fit).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub(crate) struct Cut {
    start: u16,
    len: u16,
}

impl Cut {
    fn range(self, pool_len: usize) -> std::ops::Range<usize> {
        let start = usize::from(self.start) % (pool_len + 1);
        let len = usize::from(self.len) % (pool_len - start + 1);
        start..start + len
    }
}

/// How the list starts.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) enum Start {
    New,
    FromSlices(Vec<Cut>),
    From(Cut),
    Collect(Vec<Cut>),
}

/// Most chunks a [`Op::PushChunks`] offers: past [`MAX_IOVECS`].
const MAX_CHUNKS: usize = 1100;
/// Most chunks of a real `bytes` chain (nested `Chain`s recurse once per chunk).
const MAX_CHAIN: usize = 40;
/// Most operations run per input.
const MAX_OPS: usize = 256;

/// One operation on the list.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) enum Op {
    /// `push` of a slice.
    Push(Cut),
    /// `push` of the same slice `count % 1100` times (to pass `MAX_IOVECS`).
    PushMany {
        count: u16,
        cut: Cut,
    },
    /// `push_bytes` of a `Bytes` over the pool.
    PushBytes(Cut),
    /// `push_buf` of a `Buf` of `count % 1100` chunks cut in turn from `cuts`; `vectored`: the
    /// `Buf` overrides `chunks_vectored`, or shows only its first chunk as the default does.
    PushChunks {
        cuts: Vec<Cut>,
        count: u16,
        vectored: bool,
    },
    /// `push_buf` of `bytes`' own `Chain` over `Bytes` of these pieces (up to 40).
    PushChain(Vec<Cut>),
    /// `extend` with `IoSlice`s of these pieces.
    Extend(Vec<Cut>),
    /// `advance` by a small amount.
    Advance(u16),
    /// `advance` by any amount.
    AdvanceAny(usize),
    /// `advance` by exactly `total_len`.
    AdvanceAll,
    Clear,
}

/// The whole input.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) struct IoVecInput {
    /// The bytes every slice is cut from.
    pub(crate) pool: Vec<u8>,
    pub(crate) start: Start,
    pub(crate) ops: Vec<Op>,
}

/// A `Buf` over a list of slices.
#[derive(Debug)]
struct Chunks<'p> {
    chunks: Vec<&'p [u8]>,
    /// Whether `chunks_vectored` shows every chunk (else the default: the first one only).
    vectored: bool,
}

impl Buf for Chunks<'_> {
    fn remaining(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum()
    }

    fn chunk(&self) -> &[u8] {
        self.chunks
            .iter()
            .find(|c| !c.is_empty())
            .copied()
            .unwrap_or(&[])
    }

    fn advance(&mut self, _: usize) {
        unreachable!("IoVecs::push_buf takes the Buf by shared reference")
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        if !self.vectored {
            // What `Buf`'s default does.
            if dst.is_empty() || !self.has_remaining() {
                return 0;
            }
            dst[0] = IoSlice::new(self.chunk());
            return 1;
        }
        let mut n = 0;
        for (slot, c) in dst
            .iter_mut()
            .zip(self.chunks.iter().filter(|c| !c.is_empty()))
        {
            *slot = IoSlice::new(c);
            n += 1;
        }
        n
    }
}

/// The `Buf`s and `Bytes` an operation pushes, built before the list (which borrows them).
enum Prepared<'p> {
    None,
    Bytes(Bytes),
    Chunks(Chunks<'p>),
    /// The chain, and the pieces it was made of (sharing their bytes).
    Chain(Box<dyn Buf>, Vec<Bytes>),
}

/// An entry as the kernel would see it: address and length.
fn seen(s: &[u8]) -> (usize, usize) {
    (s.as_ptr() as usize, s.len())
}

/// The list against the model: the same entries, lengths and totals.
fn compare(iov: &IoVecs<'_>, model: &[&[u8]], after: &dyn std::fmt::Debug) {
    let want = model.iter().map(|s| seen(s));
    if !iov.as_slice().iter().map(|s| seen(s)).eq(want.clone()) {
        let got: Vec<_> = iov.iter().map(|s| seen(s)).collect();
        panic!(
            "entries after {after:?}: {got:?}, the model has {:?}",
            want.collect::<Vec<_>>()
        );
    }
    assert!(
        iov.iter().map(|s| seen(s)).eq(want),
        "Deref after {after:?}"
    );
    assert_eq!(iov.len(), model.len(), "len after {after:?}");
    assert_eq!(iov.is_empty(), model.is_empty());
    let total: usize = model.iter().map(|s| s.len()).sum();
    assert_eq!(iov.total_len(), total, "total_len after {after:?}");
}

/// A clone is the same list.
fn compare_clone(iov: &IoVecs<'_>) {
    let clone = iov.clone();
    assert!(clone
        .iter()
        .map(|s| seen(s))
        .eq(iov.iter().map(|s| seen(s))));
}

/// `advance` as documented: whole entries go (an entry is whole when `n` covers it, so empty
/// ones at the front go too), the first one left starts `n` later; past the end, nothing is
/// left.
fn model_advance(model: &mut Vec<&[u8]>, mut n: usize) {
    let mut gone = 0;
    for s in model.iter() {
        if n < s.len() {
            break;
        }
        n -= s.len();
        gone += 1;
    }
    model.drain(..gone);
    if let Some(first) = model.first_mut() {
        *first = &first[n..];
    }
}

/// `push_buf` as documented: the chunks `chunks_vectored` shows, in order, as long as the list
/// holds fewer than `MAX_IOVECS` entries; the bytes appended.
fn model_push_buf<'a>(model: &mut Vec<&'a [u8]>, shown: &[&'a [u8]]) -> usize {
    let room = MAX_IOVECS.saturating_sub(model.len());
    let taken = &shown[..shown.len().min(room)];
    model.extend_from_slice(taken);
    taken.iter().map(|s| s.len()).sum()
}

/// Runs the operations on an [`IoVecs`] and on the model.
pub(crate) fn check_iovecs(input: &IoVecInput) {
    let pool = &input.pool[..];
    let cut = |c: &Cut| &pool[c.range(pool.len())];
    let shared = Bytes::copy_from_slice(pool);
    let ops = &input.ops[..input.ops.len().min(MAX_OPS)];
    let prepared: Vec<Prepared<'_>> = ops
        .iter()
        .map(|op| match op {
            Op::PushBytes(c) => Prepared::Bytes(shared.slice(c.range(pool.len()))),
            Op::PushChunks {
                cuts,
                count,
                vectored,
            } => {
                let n = if cuts.is_empty() {
                    0
                } else {
                    usize::from(*count) % MAX_CHUNKS
                };
                Prepared::Chunks(Chunks {
                    chunks: cuts.iter().cycle().take(n).map(cut).collect(),
                    vectored: *vectored,
                })
            }
            Op::PushChain(cuts) => {
                let parts: Vec<Bytes> = cuts
                    .iter()
                    .take(MAX_CHAIN)
                    .map(|c| shared.slice(c.range(pool.len())))
                    .collect();
                let mut chain: Box<dyn Buf> = Box::new(Bytes::new());
                for p in &parts {
                    chain = Box::new(chain.chain(p.clone()));
                }
                Prepared::Chain(chain, parts)
            }
            _ => Prepared::None,
        })
        .collect();

    let mut model: Vec<&[u8]> = Vec::new();
    let mut iov = match &input.start {
        Start::New => IoVecs::new(),
        Start::FromSlices(cuts) => {
            let slices: Vec<&[u8]> = cuts.iter().map(cut).collect();
            model.extend_from_slice(&slices);
            IoVecs::from_slices(&slices)
        }
        Start::From(c) => {
            model.push(cut(c));
            IoVecs::from(cut(c))
        }
        Start::Collect(cuts) => {
            model.extend(cuts.iter().map(cut));
            cuts.iter().map(|c| IoSlice::new(cut(c))).collect()
        }
    };
    compare(&iov, &model, &input.start);

    for (op, prep) in ops.iter().zip(&prepared) {
        match (op, prep) {
            (Op::Push(c), _) => {
                iov.push(cut(c));
                model.push(cut(c));
            }
            (Op::PushMany { count, cut: c }, _) => {
                for _ in 0..usize::from(*count) % MAX_CHUNKS {
                    iov.push(cut(c));
                    model.push(cut(c));
                }
            }
            (Op::PushBytes(_), Prepared::Bytes(b)) => {
                iov.push_bytes(b);
                model.push(&b[..]);
            }
            (Op::PushChunks { .. }, Prepared::Chunks(chunks)) => {
                let shown: Vec<&[u8]> = if chunks.vectored {
                    chunks
                        .chunks
                        .iter()
                        .copied()
                        .filter(|c| !c.is_empty())
                        .collect()
                } else {
                    Some(chunks.chunk())
                        .filter(|c| !c.is_empty())
                        .into_iter()
                        .collect()
                };
                let added = iov.push_buf(chunks);
                assert_eq!(added, model_push_buf(&mut model, &shown), "{op:?}");
            }
            (Op::PushChain(_), Prepared::Chain(chain, parts)) => {
                // A chain of Bytes shows every non-empty piece (a clone shares the bytes).
                let shown: Vec<&[u8]> = parts
                    .iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| &p[..])
                    .collect();
                let added = iov.push_buf(&**chain);
                assert_eq!(added, model_push_buf(&mut model, &shown), "{op:?}");
            }
            (Op::Extend(cuts), _) => {
                iov.extend(cuts.iter().map(|c| IoSlice::new(cut(c))));
                model.extend(cuts.iter().map(cut));
            }
            (Op::Advance(n), _) => {
                iov.advance(usize::from(*n));
                model_advance(&mut model, usize::from(*n));
            }
            (Op::AdvanceAny(n), _) => {
                iov.advance(*n);
                model_advance(&mut model, *n);
            }
            (Op::AdvanceAll, _) => {
                let n = iov.total_len();
                iov.advance(n);
                model_advance(&mut model, n);
                assert!(model.is_empty() || model.iter().all(|s| s.is_empty()));
            }
            (Op::Clear, _) => {
                iov.clear();
                model.clear();
            }
            (op, _) => unreachable!("{op:?} was prepared for"),
        }
        compare(&iov, &model, op);
    }
    compare_clone(&iov);
    // Emptied, it takes INLINE entries again (from its own storage or not, the same list).
    iov.clear();
    model.clear();
    for _ in 0..INLINE {
        iov.push(pool);
        model.push(pool);
    }
    compare(&iov, &model, &"INLINE pushes after clear");
}

/// The scatter list: pieces of a copy of the pool, pushed in turn.
fn check_iovecs_mut(input: &IoVecInput) {
    let mut pool = input.pool.clone();
    let base = pool.as_ptr() as usize;
    let mut rest = &mut pool[..];
    let mut want = Vec::new();
    let mut iov = IoVecsMut::new();
    for op in input.ops.iter().take(MAX_OPS) {
        let Op::Push(c) = op else { continue };
        let n = usize::from(c.len) % (rest.len() + 1);
        let (piece, after) = std::mem::take(&mut rest).split_at_mut(n);
        rest = after;
        want.push((piece.as_ptr() as usize - base, piece.len()));
        iov.push(piece);
    }
    let got: Vec<(usize, usize)> = iov
        .iter()
        .map(|s| (s.as_ptr() as usize - base, s.len()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(iov.len(), want.len());
    assert_eq!(iov.is_empty(), want.is_empty());
    assert_eq!(iov.total_len(), want.iter().map(|w| w.1).sum::<usize>());
}

/// `iovec_model`: the input read as an [`IoVecInput`] by `arbitrary`, then [`check_iovecs`]
/// and the same pushes on an [`IoVecsMut`].
pub(crate) fn iovec_model(data: &[u8]) {
    if let Ok(input) = IoVecInput::arbitrary_take_rest(Unstructured::new(data)) {
        check_iovecs(&input);
        check_iovecs_mut(&input);
    }
}
