//! The sandbox's memory: sessions by id, and the first answer given to each idempotency key. Every change of a
//! session's status happens here and queues its webhook event under the same lock, so no change goes without
//! its event and events are queued in the order the changes happened. A session past its `expires_at` is
//! expired when it is next looked at, so no reader sees it open between two sweeps.

use std::collections::HashMap;

use crate::session::{Session, Status};
use crate::webhooks::Outbox;

/// The first successful answer to an idempotency key, with the request it answered.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) request: Vec<u8>,
    pub(crate) body: String,
}

#[derive(Debug)]
pub(crate) struct Store {
    sessions: HashMap<String, Session>,
    replies: HashMap<String, Reply>,
    outbox: Outbox,
    public_url: String,
}

impl Store {
    pub(crate) fn new(outbox: Outbox, public_url: String) -> Store {
        Store { sessions: HashMap::new(), replies: HashMap::new(), outbox, public_url }
    }

    /// The base URL browsers use for the hosted page, without a trailing slash.
    pub(crate) fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Keeps a new session; its id is random, so it never replaces another.
    pub(crate) fn insert(&mut self, session: Session) {
        self.sessions.insert(session.id.clone(), session);
    }

    /// The session `id` as it is at `now`.
    pub(crate) fn session(&mut self, id: &str, now: i64) -> Option<&Session> {
        let session = self.sessions.get_mut(id)?;
        if session.is_due_to_expire(now) {
            expire(session, &self.outbox, &self.public_url);
        }
        Some(session)
    }

    /// Expires every open session whose time has come; returns how many.
    pub(crate) fn expire_due(&mut self, now: i64) -> usize {
        let mut expired = 0;
        for session in self.sessions.values_mut().filter(|session| session.is_due_to_expire(now)) {
            expire(session, &self.outbox, &self.public_url);
            expired += 1;
        }
        expired
    }

    /// Marks the open session `id` paid by `payment_intent`. Returns the session, or `None` when it is unknown
    /// or not open, in which case nothing changes.
    pub(crate) fn complete(&mut self, id: &str, payment_intent: String, now: i64) -> Option<&Session> {
        let session = self.sessions.get_mut(id)?;
        if session.is_due_to_expire(now) {
            expire(session, &self.outbox, &self.public_url);
        }
        if session.status != Status::Open {
            return None;
        }
        session.status = Status::Complete;
        session.payment_intent = Some(payment_intent);
        tracing::info!(session_id = %session.id, amount_total = session.amount_total, currency = %session.currency, "checkout session paid");
        self.outbox.queue("checkout.session.completed", session.to_json(&self.public_url));
        Some(session)
    }

    pub(crate) fn reply(&self, idempotency_key: &str) -> Option<&Reply> {
        self.replies.get(idempotency_key)
    }

    pub(crate) fn remember_reply(&mut self, idempotency_key: String, reply: Reply) {
        self.replies.insert(idempotency_key, reply);
    }
}

fn expire(session: &mut Session, outbox: &Outbox, public_url: &str) {
    session.status = Status::Expired;
    tracing::info!(session_id = %session.id, "checkout session expired");
    outbox.queue("checkout.session.expired", session.to_json(public_url));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::session::LineItem;

    fn open_session(id: &str, expires_at: i64) -> Session {
        Session {
            id: id.to_owned(),
            created_at: 0,
            expires_at,
            currency: "usd".to_owned(),
            line_items: vec![LineItem { name: "Rust".to_owned(), quantity: 1, unit_amount: 1999 }],
            amount_total: 1999,
            metadata: BTreeMap::new(),
            client_reference_id: None,
            customer_email: None,
            success_url: "http://shop.test/done".to_owned(),
            cancel_url: None,
            status: Status::Open,
            payment_intent: None,
            submit_message: None,
        }
    }

    #[test]
    fn each_change_of_status_queues_one_event_and_a_closed_session_cannot_be_paid() {
        let (outbox, mut events) = Outbox::channel();
        let mut store = Store::new(outbox, "http://sandbox.test".to_owned());
        store.insert(open_session("cs_test_paid", 100));
        store.insert(open_session("cs_test_late", 100));

        assert!(store.complete("cs_test_paid", "pi_test_1".to_owned(), 50).is_some());
        assert!(store.complete("cs_test_paid", "pi_test_2".to_owned(), 60).is_none());
        assert_eq!(store.expire_due(99), 0);
        assert_eq!(store.session("cs_test_late", 100).map(|session| session.status), Some(Status::Expired));
        assert_eq!(store.expire_due(200), 0);
        assert!(store.complete("cs_test_late", "pi_test_3".to_owned(), 200).is_none());

        let mut queued = 0;
        while events.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, 2);
    }
}
