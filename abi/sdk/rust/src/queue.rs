//! The message of a queue-triggered function, with its typed trigger
//! metadata.
//!
//! ```ignore
//! fn process_job(msg: queue::Message) -> wasmworker::Result<()> {
//!     wasmworker::info(&format!("job {} attempt {}", msg.id, msg.dequeue_count));
//!     wasmworker::output("result").text(&msg.text()?.to_uppercase())
//! }
//! ```

use super::{input, metadata, Error, Result, Type, Value};

/// A queue message: its body and the trigger metadata the host sends with
/// it. Times are ISO 8601 text as the host sends them
/// (`2026-12-02T00:41:05+00:00`).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The message id (metadata `Id`).
    pub id: String,
    /// How many times the message was dequeued, 1 the first time (metadata
    /// `DequeueCount`).
    pub dequeue_count: u32,
    pub insertion_time: Option<String>,
    pub expiration_time: Option<String>,
    pub next_visible_time: Option<String>,
    pub pop_receipt: Option<String>,
    /// The message as the host sent it (STRING, JSON or BYTES).
    pub body: Value,
}

impl Message {
    /// Reads the message of the trigger binding `binding` (e.g. `msg`) and
    /// its metadata.
    pub fn read(binding: &str) -> Result<Message> {
        let body = input(binding)?;
        let opt = |key: &str| metadata(key).ok().and_then(|v| v.text()).filter(|s| !s.is_empty());
        let dequeue_count = match metadata("DequeueCount") {
            Ok(v) => v
                .as_i64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Error::msg(format!("metadata \"DequeueCount\": not a count: {}", v.to_text())))?,
            Err(e) if e.is_not_found() => 0,
            Err(e) => return Err(e),
        };
        Ok(Message {
            id: opt("Id").unwrap_or_default(),
            dequeue_count,
            insertion_time: opt("InsertionTime"),
            expiration_time: opt("ExpirationTime"),
            next_visible_time: opt("NextVisibleTime"),
            pop_receipt: opt("PopReceipt"),
            body,
        })
    }

    /// A message with a text body, for tests.
    pub fn new(id: &str, body: &str) -> Message {
        Message {
            id: id.to_string(),
            dequeue_count: 1,
            insertion_time: None,
            expiration_time: None,
            next_visible_time: None,
            pop_receipt: None,
            body: Value { ty: Type::String, data: body.as_bytes().to_vec(), len: body.len() },
        }
    }

    /// The body's bytes (a JSON message's text).
    pub fn bytes(&self) -> &[u8] {
        &self.body.data
    }

    /// The body as UTF-8 text (a JSON message's text as sent).
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body.data).map_err(|e| Error::msg(format!("queue message {}: {}", self.id, e)))
    }

    /// The body parsed as JSON into `T`.
    #[cfg(feature = "serde")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body.data)
            .map_err(|e| Error::msg(format!("queue message {}: invalid JSON: {}", self.id, e)))
    }
}
