//! What the wait believes about the user message's status: it only moves forward, and a turn
//! left `queued` too long is flagged once. Pure, so it is tested without a client.

use std::time::Duration;

use crate::types::MessageStatus;

/// How far along a status is: `queued` < `pending` (and values this SDK does not know) <
/// terminal (`completed`, `failed`).
pub(crate) fn stage(status: &MessageStatus) -> u8 {
    match status {
        MessageStatus::Queued => 0,
        MessageStatus::Completed | MessageStatus::Failed => 2,
        _ => 1,
    }
}

/// What [`StatusTracker::observe`] made of a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Observed {
    /// The status moved forward (`from` is `None` for the first one seen).
    Changed {
        /// The previous status.
        from: Option<MessageStatus>,
    },
    /// The same status again, or no status at all (null or missing).
    Same,
    /// An older copy, kept out: the status stays `kept`.
    Ignored {
        /// The status believed instead.
        kept: MessageStatus,
    },
}

/// The last status believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusTracker {
    last: Option<MessageStatus>,
}

impl StatusTracker {
    /// The last status believed, if any was seen.
    pub(crate) fn last(&self) -> Option<&MessageStatus> {
        self.last.as_ref()
    }

    /// Records a status seen on the user message.
    ///
    /// The status only moves forward (`queued`, then `pending` or a value this SDK does not
    /// know, then `completed` or `failed`): an older copy, such as a listing that lags the
    /// status poll, is ignored, and a terminal status is never left. Between two statuses of
    /// the same stage only the status poll (`from_listing` false) is believed. A null or
    /// missing status (decoded as `Unknown("")`) is no news.
    pub(crate) fn observe(&mut self, status: &MessageStatus, from_listing: bool) -> Observed {
        if matches!(status, MessageStatus::Unknown(s) if s.is_empty()) {
            return Observed::Same;
        }
        if let Some(last) = &self.last {
            if last == status {
                return Observed::Same;
            }
            let (old, new) = (stage(last), stage(status));
            let believed = new > old || (new == old && !last.is_terminal() && !from_listing);
            if !believed {
                return Observed::Ignored { kept: last.clone() };
            }
        }
        Observed::Changed {
            from: self.last.replace(status.clone()),
        }
    }
}

/// Flags, once, a turn that has been `queued` for `after` or longer.
#[derive(Debug, Clone)]
pub(crate) struct QueuedWatch {
    after: Duration,
    fired: bool,
}

impl QueuedWatch {
    /// A watch that fires once the wait has lasted `after` with the status `queued`.
    pub(crate) fn new(after: Duration) -> Self {
        QueuedWatch {
            after,
            fired: false,
        }
    }

    /// Whether to flag the turn now: the last status is `queued`, the wait has lasted `waited`
    /// (at least `after`), and it was not flagged before.
    pub(crate) fn check(&mut self, status: Option<&MessageStatus>, waited: Duration) -> bool {
        let due = !self.fired && status == Some(&MessageStatus::Queued) && waited >= self.after;
        self.fired |= due;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use MessageStatus::{Completed, Failed, Pending, Queued};

    fn unknown(s: &str) -> MessageStatus {
        MessageStatus::Unknown(s.into())
    }

    #[test]
    fn the_status_moves_forward_only() {
        let mut t = StatusTracker::default();
        assert_eq!(t.observe(&Queued, false), Observed::Changed { from: None });
        assert_eq!(
            t.observe(&Pending, true),
            Observed::Changed { from: Some(Queued) }
        );
        assert_eq!(
            t.observe(&Queued, false),
            Observed::Ignored { kept: Pending }
        );
        assert_eq!(t.observe(&Pending, false), Observed::Same);
        assert_eq!(
            t.observe(&Completed, true),
            Observed::Changed {
                from: Some(Pending)
            }
        );
        for later in [Failed, Pending, Queued, unknown("thinking")] {
            assert_eq!(
                t.observe(&later, false),
                Observed::Ignored { kept: Completed }
            );
        }
        assert_eq!(t.last(), Some(&Completed));
    }

    #[test]
    fn within_a_stage_only_the_status_poll_is_believed() {
        let mut t = StatusTracker::default();
        t.observe(&Pending, false);
        assert_eq!(
            t.observe(&unknown("thinking"), true),
            Observed::Ignored { kept: Pending },
            "a listing lags the poll"
        );
        assert_eq!(
            t.observe(&unknown("thinking"), false),
            Observed::Changed {
                from: Some(Pending)
            }
        );
    }

    #[test]
    fn a_missing_status_is_no_news() {
        let mut t = StatusTracker::default();
        assert_eq!(t.observe(&unknown(""), false), Observed::Same);
        assert_eq!(t.last(), None);
        t.observe(&Queued, false);
        assert_eq!(t.observe(&unknown(""), false), Observed::Same);
        assert_eq!(t.last(), Some(&Queued));
    }

    #[test]
    fn a_long_queue_is_flagged_once_and_only_while_queued() {
        let secs = Duration::from_secs;
        let mut w = QueuedWatch::new(secs(60));
        assert!(!w.check(Some(&Queued), secs(59)));
        assert!(!w.check(None, secs(61)), "no status seen yet");
        assert!(!w.check(Some(&Pending), secs(61)));
        assert!(w.check(Some(&Queued), secs(60)));
        assert!(!w.check(Some(&Queued), secs(120)), "once");
        let mut w = QueuedWatch::new(Duration::ZERO);
        assert!(w.check(Some(&Queued), Duration::ZERO));
    }
}
