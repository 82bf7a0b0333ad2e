//! A consumer channel's acknowledgements, coalesced: a success is acked once every earlier
//! delivery of the channel is settled, by one `basic.ack` with `multiple` for the whole run of
//! successes before it. Handlers that finish together (a group commit) then cost the broker one
//! ack, not one each; a quorum queue turns every ack into a Raft command.
//!
//! A delivery whose handler is failing (retrying in place, or pausing before it is handed back)
//! would hold back every ack behind it and so, once the prefetch is used up, the whole consumer:
//! the successes behind a failing delivery are acked one by one instead.

use std::collections::BTreeMap;

use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use tokio::sync::Mutex;

use crate::amqp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Failing,
    Done,
}

/// An ack frame the window decided to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Every unsettled delivery up to and including this tag.
    UpTo(u64),
    One(u64),
}

/// How a delivery is settled when it is not acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// To the dead-letter queue.
    Reject,
    /// Back to the queue, for another try.
    Requeue,
}

/// The unsettled deliveries of one channel, by delivery tag.
#[derive(Debug, Default)]
struct Window(BTreeMap<u64, State>);

impl Window {
    /// The acks that can go now, removing what they settle: the run of successes at the front as
    /// one `UpTo`, then each success behind the first failing delivery on its own.
    fn drain(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut up_to = None;
        while let Some(entry) = self.0.first_entry() {
            if *entry.get() != State::Done {
                break;
            }
            up_to = Some(*entry.key());
            entry.remove();
        }
        frames.extend(up_to.map(Frame::UpTo));
        let failing = self.0.iter().find(|(_, s)| **s == State::Failing).map(|(t, _)| *t);
        if let Some(failing) = failing {
            let behind: Vec<u64> =
                self.0.range(failing + 1..).filter(|(_, s)| **s == State::Done).map(|(t, _)| *t).collect();
            for tag in behind {
                self.0.remove(&tag);
                frames.push(Frame::One(tag));
            }
        }
        frames
    }
}

/// The ack window of one consumer channel.
pub struct Acks {
    channel: Channel,
    // Marked without waiting for a send, so the handlers that finish while one ack is on its way
    // all go in the next one.
    window: std::sync::Mutex<Window>,
    // Held while deciding and sending frames, so they leave in the order they were decided: an
    // ack with `multiple` must never reach the broker before a nack of a tag it covers.
    sending: Mutex<()>,
}

impl Acks {
    pub fn new(channel: Channel) -> Self {
        Self { channel, window: std::sync::Mutex::new(Window::default()), sending: Mutex::new(()) }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        // A map of tags; a panic while it is held cannot leave it half-changed.
        self.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn mark(&self, tag: u64, state: State) {
        if let Some(s) = self.window().0.get_mut(&tag) {
            *s = state;
        }
    }

    /// A delivery arrived; call in delivery order, before its handler runs.
    pub fn track(&self, tag: u64) {
        self.window().0.insert(tag, State::Running);
    }

    /// Its handler failed and is retrying or pausing: acks behind it stop waiting for it.
    pub async fn failing(&self, tag: u64) {
        self.mark(tag, State::Failing);
        self.flush().await;
    }

    /// The delivery succeeded: acked now or with the run it belongs to.
    pub async fn ack(&self, tag: u64) {
        self.mark(tag, State::Done);
        self.flush().await;
    }

    /// The delivery is rejected or handed back, on its own and at once.
    pub async fn settle(&self, tag: u64, how: Settle) {
        let _sending = self.sending.lock().await;
        // Sent before the tag leaves the window, so no later `multiple` ack can cover it first.
        let _ = match how {
            Settle::Reject => amqp::timed(self.channel.basic_reject(tag, BasicRejectOptions { requeue: false })).await,
            Settle::Requeue => {
                amqp::timed(self.channel.basic_nack(tag, BasicNackOptions { requeue: true, multiple: false })).await
            }
        };
        self.window().0.remove(&tag);
        self.send_due().await;
    }

    async fn flush(&self) {
        let _sending = self.sending.lock().await;
        self.send_due().await;
    }

    // Under `sending`. A failed send means the channel is gone: its unacked deliveries come back
    // on the next one.
    async fn send_due(&self) {
        let frames = self.window().drain();
        for frame in frames {
            let (tag, multiple) = match frame {
                Frame::UpTo(tag) => (tag, true),
                Frame::One(tag) => (tag, false),
            };
            let _ = amqp::timed(self.channel.basic_ack(tag, BasicAckOptions { multiple })).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(states: &[(u64, State)]) -> Window {
        Window(states.iter().copied().collect())
    }

    #[test]
    fn a_run_of_successes_at_the_front_is_one_ack() {
        let mut w = window(&[(1, State::Done), (2, State::Done), (3, State::Done), (4, State::Running)]);
        assert_eq!(w.drain(), vec![Frame::UpTo(3)]);
        assert_eq!(w.0.keys().copied().collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn successes_behind_a_running_delivery_wait_for_it() {
        let mut w = window(&[(1, State::Running), (2, State::Done), (3, State::Done)]);
        assert_eq!(w.drain(), vec![]);
        w.0.insert(1, State::Done);
        assert_eq!(w.drain(), vec![Frame::UpTo(3)]);
        assert!(w.0.is_empty());
    }

    #[test]
    fn successes_behind_a_failing_delivery_are_acked_one_by_one() {
        let mut w =
            window(&[(1, State::Done), (2, State::Failing), (3, State::Done), (4, State::Running), (5, State::Done)]);
        assert_eq!(w.drain(), vec![Frame::UpTo(1), Frame::One(3), Frame::One(5)]);
        assert_eq!(w.0.keys().copied().collect::<Vec<_>>(), vec![2, 4]);
        // Once the failing one is settled (removed), the next success at the front goes as a run.
        w.0.remove(&2);
        w.0.insert(4, State::Done);
        assert_eq!(w.drain(), vec![Frame::UpTo(4)]);
    }

    #[test]
    fn nothing_to_send_for_an_empty_or_running_window() {
        assert_eq!(Window::default().drain(), vec![]);
        assert_eq!(window(&[(7, State::Running)]).drain(), vec![]);
    }
}
