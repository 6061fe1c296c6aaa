//! [`ReplayBody`]: a request body that keeps what it sent, so a retry can send it again.
//!
//! The idea comes from linkerd2-proxy's `ReplayBody` (`linkerd/http/retry/src/replay.rs`,
//! release `stable-2.14`): the body handed to the transport is a handle on shared state
//! that records each data frame as it goes out, up to a cap; a retry gets a new handle
//! that first replays the record, then continues reading the original where the last
//! attempt stopped. Two of that design's known failure modes are this module's tests:
//!
//! - **A response that arrives before the body was fully sent** (a server that answers
//!   503 after the first chunk). The next attempt must send everything: the recorded
//!   chunks, then the rest of the original, which nobody has read yet. Here the original
//!   stays in the shared state, so whichever handle is current continues it.
//! - **A body sent twice** (a retry after the first attempt sent all of it, trailers
//!   included). The replay must end exactly where the original did: same bytes, same
//!   trailers, an exact size hint (HTTP/1.1 frames it with `content-length`).
//!
//! Only the newest handle may read: an older attempt that is still being written by its
//! connection (the response came early and the connection is still draining the body)
//! gets an error instead of taking chunks the new attempt needs. Past the cap the record
//! is dropped and the body streams on, unrecorded: that attempt is the only one, and the
//! retry layer says why ([`Forbidden::BodyNotReplayable`](relent::retry::Forbidden)).

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use crate::BoxError;

/// How many body bytes the retry layer keeps for replay by default: 64 KiB.
///
/// linkerd2-proxy buffers at most 64 KiB of a request body for retries
/// (`linkerd/app/outbound/src/http/retry.rs`, `MAX_BUFFERED_BYTES`, release `stable-2.14`);
/// a larger body is sent once. The same number here keeps memory per request small and
/// bounded: an upload large enough to matter should carry its own resumption protocol.
pub const DEFAULT_BODY_CAP: usize = 64 * 1024;

struct Replay<B> {
    /// The original body, until it ended or failed.
    body: Option<Pin<Box<B>>>,
    /// Data frames sent so far, while they fit under the cap.
    chunks: Vec<Bytes>,
    /// Their total length.
    buffered: usize,
    cap: usize,
    /// The original's trailers, once it sent them.
    trailers: Option<HeaderMap>,
    /// The original reached its end.
    ended: bool,
    /// More than `cap` bytes went out (or were announced): nothing can be replayed.
    overflowed: bool,
    /// The original failed.
    failed: bool,
    /// The generation of the newest handle that began to read; only it may go on.
    current: u64,
    /// How many handles were given out.
    handed: u64,
}

/// A request body that records what it sends, up to a cap, so the request can be sent
/// again: a retry replays the record, then continues the original where it stopped.
///
/// Build one with [`ReplayBody::new`]; the retry layer does this for every request, and
/// a [`tower::retry::Retry`] user does it before the request reaches the retry
/// [`Policy`](crate::Policy). Each attempt gets a [`replay`](Self::replay) handle.
pub struct ReplayBody<B> {
    shared: Arc<Mutex<Replay<B>>>,
    generation: u64,
    /// The next recorded chunk this handle sends.
    next: usize,
    /// This handle has sent the trailers (or found none).
    done: bool,
}

impl<B> fmt::Debug for ReplayBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("ReplayBody")
            .field("generation", &self.generation)
            .field("buffered", &s.buffered)
            .field("cap", &s.cap)
            .field("ended", &s.ended)
            .field("replayable", &s.replayable())
            .finish()
    }
}

impl<B> Replay<B> {
    fn replayable(&self) -> bool {
        !self.overflowed && !self.failed
    }
}

/// Why a [`ReplayBody`] handle stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// A newer attempt took over the body: this older one may not send any more of it.
    Superseded,
    /// The original body failed earlier, on another attempt.
    OriginalFailed,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplayError::Superseded => "a newer attempt is sending this request body",
            ReplayError::OriginalFailed => "the request body failed on an earlier attempt",
        })
    }
}

impl std::error::Error for ReplayError {}

impl<B: Body> ReplayBody<B> {
    /// Wrap `body`, keeping at most `cap` bytes of it for replay.
    ///
    /// A body that announces more than `cap` bytes (its size hint's lower bound) is not
    /// recorded at all: it can be sent once.
    pub fn new(body: B, cap: usize) -> Self {
        let hint = body.size_hint();
        let ended = body.is_end_stream();
        let shared = Replay {
            body: (!ended).then(|| Box::pin(body)),
            chunks: Vec::new(),
            buffered: 0,
            cap,
            trailers: None,
            ended,
            overflowed: hint.lower() > cap as u64,
            failed: false,
            current: 0,
            handed: 1,
        };
        ReplayBody {
            shared: Arc::new(Mutex::new(shared)),
            generation: 0,
            next: 0,
            done: false,
        }
    }
}

impl<B> ReplayBody<B> {
    /// The shared state. No method panics while holding it, but a panic in a wrapped
    /// body's `poll_frame` could poison it; the state is still consistent then (every
    /// update is a few field writes), so the lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Replay<B>> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether another attempt could still send this body in full.
    #[must_use]
    pub fn is_replayable(&self) -> bool {
        self.lock().replayable()
    }

    /// A new handle that sends the whole body from the start, for the next attempt.
    /// `None` when the body went past the cap or failed: it cannot be sent in full again.
    ///
    /// The handle takes over when it is first polled: from then on an older handle gets
    /// [`ReplayError::Superseded`] instead of data (so two attempts never split the
    /// original between them).
    #[must_use]
    pub fn replay(&self) -> Option<ReplayBody<B>> {
        self.handle(false)
    }

    /// A handle for the first attempt, which is made whether the body can be replayed
    /// or not.
    pub(crate) fn first(&self) -> Option<ReplayBody<B>> {
        self.handle(true)
    }

    fn handle(&self, first: bool) -> Option<ReplayBody<B>> {
        let mut s = self.lock();
        if !(s.replayable() || (first && s.handed == 1)) {
            return None;
        }
        let generation = s.handed;
        s.handed = s.handed.saturating_add(1);
        drop(s);
        Some(ReplayBody {
            shared: Arc::clone(&self.shared),
            generation,
            next: 0,
            done: false,
        })
    }

    /// Bytes kept for replay now.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.lock().buffered
    }
}

impl<B> Body for ReplayBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let shared = Arc::clone(&this.shared);
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        if this.generation < s.current {
            return Poll::Ready(Some(Err(Box::new(ReplayError::Superseded))));
        }
        s.current = this.generation;
        if let Some(chunk) = s.chunks.get(this.next) {
            this.next = this.next.saturating_add(1);
            return Poll::Ready(Some(Ok(Frame::data(chunk.clone()))));
        }
        loop {
            if s.ended {
                if !this.done {
                    this.done = true;
                    if let Some(trailers) = s.trailers.clone() {
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                }
                return Poll::Ready(None);
            }
            if s.failed {
                return Poll::Ready(Some(Err(Box::new(ReplayError::OriginalFailed))));
            }
            let Some(body) = s.body.as_mut() else {
                return Poll::Ready(None);
            };
            let frame = match body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    s.ended = true;
                    s.body = None;
                    continue;
                }
                Poll::Ready(Some(Err(e))) => {
                    s.failed = true;
                    s.body = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            match frame.into_data() {
                Ok(mut data) => {
                    let bytes = data.copy_to_bytes(data.remaining());
                    if !s.overflowed {
                        match s.buffered.checked_add(bytes.len()) {
                            Some(total) if total <= s.cap => {
                                s.buffered = total;
                                s.chunks.push(bytes.clone());
                                this.next = s.chunks.len();
                            }
                            _ => {
                                s.overflowed = true;
                                s.chunks = Vec::new();
                                s.buffered = 0;
                                this.next = 0;
                            }
                        }
                    }
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        s.trailers = Some(trailers.clone());
                        s.ended = true;
                        s.body = None;
                        this.done = true;
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    // A frame kind http-body does not know yet: nothing to send or keep.
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let s = self.lock();
        self.generation >= s.current
            && s.ended
            && self.next >= s.chunks.len()
            && (self.done || s.trailers.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        let s = self.lock();
        let recorded: u64 = s
            .chunks
            .get(self.next..)
            .unwrap_or_default()
            .iter()
            .map(|c| c.len() as u64)
            .sum();
        match s.body.as_ref() {
            None => SizeHint::with_exact(recorded),
            Some(body) => {
                let rest = body.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(recorded));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(recorded));
                }
                hint
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// A body of the given frames, sent one per poll.
    struct Frames(std::collections::VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    fn frames(parts: &[&'static str], trailers: Option<(&'static str, &'static str)>) -> Frames {
        let mut f: std::collections::VecDeque<_> = parts
            .iter()
            .map(|p| Frame::data(Bytes::from_static(p.as_bytes())))
            .collect();
        if let Some((k, v)) = trailers {
            let mut t = HeaderMap::new();
            t.insert(k, v.parse().expect("value"));
            f.push_back(Frame::trailers(t));
        }
        Frames(f)
    }

    /// Everything a handle sends: data, and the trailers if any.
    fn drain<B: Body<Data = Bytes, Error = BoxError> + Unpin>(
        mut body: B,
        max: usize,
    ) -> (Vec<u8>, Option<HeaderMap>, Option<String>) {
        let mut cx = Context::from_waker(Waker::noop());
        let (mut data, mut trailers) = (Vec::new(), None);
        for _ in 0..max {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(f))) => match f.into_data() {
                    Ok(d) => data.extend_from_slice(&d),
                    Err(f) => trailers = f.into_trailers().ok(),
                },
                Poll::Ready(Some(Err(e))) => return (data, trailers, Some(e.to_string())),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        (data, trailers, None)
    }

    #[test]
    fn a_body_sent_twice_is_the_same_body_with_its_trailers() {
        let original = ReplayBody::new(frames(&["ab", "cd"], Some(("x-sum", "4"))), 16);
        let first = original.replay().expect("first");
        let (data, trailers, err) = drain(first, 10);
        assert_eq!((data.as_slice(), err), (&b"abcd"[..], None));
        assert_eq!(trailers.expect("trailers")["x-sum"], "4");

        let second = original.replay().expect("replayable");
        assert_eq!(second.size_hint().exact(), Some(4));
        assert!(!second.is_end_stream());
        let (data, trailers, err) = drain(second, 10);
        assert_eq!((data.as_slice(), err), (&b"abcd"[..], None));
        assert_eq!(trailers.expect("trailers again")["x-sum"], "4");
    }

    #[test]
    fn a_replay_after_a_partial_send_continues_the_original() {
        let original = ReplayBody::new(frames(&["ab", "cd", "ef"], None), 16);
        let mut first = original.replay().expect("first");
        let mut cx = Context::from_waker(Waker::noop());
        // The first attempt sent one chunk, then its response came.
        assert!(matches!(
            Pin::new(&mut first).poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        let second = original.replay().expect("replayable");
        let (data, _, err) = drain(second, 10);
        assert_eq!((data.as_slice(), err), (&b"abcdef"[..], None));
        // The old attempt may not read on once the new one began: no chunk is split off.
        let (data, _, err) = drain(first, 1);
        assert!(data.is_empty());
        assert_eq!(
            err.as_deref(),
            Some(ReplayError::Superseded.to_string().as_str())
        );
    }

    #[test]
    fn past_the_cap_there_is_one_attempt() {
        let original = ReplayBody::new(frames(&["abcd", "efgh"], None), 6);
        let first = original
            .first()
            .expect("the first attempt is always allowed");
        let (data, _, err) = drain(first, 10);
        assert_eq!((data.as_slice(), err), (&b"abcdefgh"[..], None));
        assert!(!original.is_replayable());
        assert!(original.replay().is_none());
        assert_eq!(original.buffered(), 0, "the record is dropped past the cap");
    }

    #[test]
    fn a_body_announced_over_the_cap_is_never_recorded() {
        let body = http_body_util::Full::new(Bytes::from_static(b"0123456789"));
        let original = ReplayBody::new(body, 4);
        assert!(!original.is_replayable());
        let first = original.first().expect("one attempt");
        assert_eq!(drain(first, 10).0, b"0123456789");
        assert!(original.replay().is_none());
    }

    #[test]
    fn an_empty_body_replays_as_empty() {
        let original = ReplayBody::new(http_body_util::Empty::<Bytes>::new(), 0);
        for _ in 0..3 {
            let handle = original.replay().expect("empty bodies replay");
            assert!(handle.is_end_stream());
            assert_eq!(handle.size_hint().exact(), Some(0));
        }
    }
}
