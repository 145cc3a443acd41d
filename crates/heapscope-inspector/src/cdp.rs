//! A small Chrome DevTools Protocol client over one WebSocket.
//!
//! The client is deliberately single-task: `call` sends a request and then reads the socket
//! itself until the matching response arrives, handing every event that comes first to the
//! caller's handler, in order. No background reader means no unbounded event queue: while
//! the handler is busy (writing a snapshot chunk to disk) nothing is read, TCP's window fills
//! and V8 waits. That is what keeps heapscope's memory flat whatever the snapshot's size.
//!
//! Every wait has a deadline. For a call it is an *idle* deadline — the longest silence
//! tolerated between two messages — because a snapshot of a large heap legitimately takes
//! minutes, but never minutes without a word.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::discovery;
use crate::error::{InspectorError, Result};

/// A profile of a long run can be tens of megabytes in one message; tungstenite's default
/// limit (64 MiB) would turn a large but valid answer into an error.
const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// An open DevTools protocol session with one target.
pub struct CdpClient {
    ws: WebSocketStream<TcpStream>,
    next_id: u64,
    /// Longest silence tolerated while waiting for a response.
    pub idle_timeout: Duration,
}

/// An event (a message with a `method` and no `id`), borrowed from the received text.
pub struct Event<'a> {
    pub method: &'a str,
    pub params: Option<&'a RawValue>,
}

impl Event<'_> {
    /// The parameters decoded as `T`.
    pub fn params<'de, T: Deserialize<'de>>(&'de self) -> Result<T> {
        let raw = self.params.map(RawValue::get).unwrap_or("{}");
        serde_json::from_str(raw).map_err(|e| InspectorError::BadMessage {
            context: format!("in {} event", self.method),
            detail: e.to_string(),
        })
    }
}

#[derive(Deserialize)]
struct Incoming<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<&'a str>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<ProtocolError>,
}

#[derive(Deserialize)]
struct ProtocolError {
    code: i64,
    message: String,
}

impl CdpClient {
    /// Opens a session at `ws_url`, whose host part resolved to `addr`.
    pub async fn connect(addr: SocketAddr, ws_url: &str, timeout: Duration) -> Result<CdpClient> {
        let stream = discovery::connect(addr, timeout).await?;
        // Small protocol messages (Runtime.evaluate while watching) should not wait for
        // Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let handshake = tokio_tungstenite::client_async_with_config(ws_url, stream, Some(config));
        let (ws, _response) = match tokio::time::timeout(timeout, handshake).await {
            Err(_) => {
                return Err(InspectorError::Timeout {
                    what: format!("opening a session at {ws_url}"),
                    secs: timeout.as_secs(),
                })
            }
            Ok(Err(tungstenite::Error::Http(response))) => {
                return Err(InspectorError::HandshakeRefused {
                    url: ws_url.to_string(),
                    detail: format!("HTTP {}", response.status()),
                })
            }
            Ok(Err(e)) => return Err(ws_error(e, &format!("opening a session at {ws_url}"))),
            Ok(Ok(pair)) => pair,
        };
        Ok(CdpClient {
            ws,
            next_id: 1,
            idle_timeout: Duration::from_secs(30),
        })
    }

    /// Calls `method` and decodes its result; events that arrive meanwhile are dropped.
    pub async fn call<T: DeserializeOwned>(&mut self, method: &str, params: Value) -> Result<T> {
        let raw = self.call_with_events(method, params, |_| Ok(())).await?;
        serde_json::from_str(raw.get()).map_err(|e| InspectorError::BadMessage {
            context: format!("in the result of {method}"),
            detail: e.to_string(),
        })
    }

    /// Calls `method`, passing each event that arrives before its response to `on_event`
    /// (an error from the handler ends the call with that error), and returns the raw result.
    pub async fn call_with_events<F>(
        &mut self,
        method: &str,
        params: Value,
        mut on_event: F,
    ) -> Result<Box<RawValue>>
    where
        F: FnMut(&Event<'_>) -> Result<()>,
    {
        let id = self.next_id;
        self.next_id += 1;
        let request = serde_json::json!({ "id": id, "method": method, "params": params });
        let during = format!("during {method}");
        self.ws
            .send(Message::text(request.to_string()))
            .await
            .map_err(|e| ws_error(e, &during))?;
        loop {
            let text = match self.next_text(method).await? {
                Some(text) => text,
                None => continue,
            };
            let incoming: Incoming<'_> =
                serde_json::from_str(&text).map_err(|e| InspectorError::BadMessage {
                    context: during.clone(),
                    detail: e.to_string(),
                })?;
            match (incoming.id, incoming.method) {
                (Some(got), _) if got == id => {
                    if let Some(err) = incoming.error {
                        return Err(InspectorError::Protocol {
                            method: method.to_string(),
                            code: err.code,
                            message: err.message,
                        });
                    }
                    let raw = incoming.result.map(RawValue::get).unwrap_or("{}");
                    return RawValue::from_string(raw.to_string()).map_err(|e| {
                        InspectorError::BadMessage {
                            context: format!("in the result of {method}"),
                            detail: e.to_string(),
                        }
                    });
                }
                (None, Some(event_method)) => on_event(&Event {
                    method: event_method,
                    params: incoming.params,
                })?,
                // A late answer to an earlier call that timed out: nobody waits for it.
                _ => {}
            }
        }
    }

    /// The next text message, `None` for control frames; errors when the peer goes away or
    /// stays silent past the idle deadline.
    async fn next_text(&mut self, method: &str) -> Result<Option<tungstenite::Utf8Bytes>> {
        let during = format!("during {method}");
        let next = tokio::time::timeout(self.idle_timeout, self.ws.next())
            .await
            .map_err(|_| InspectorError::Timeout {
                what: format!("waiting for the target to answer {method} (no message received)"),
                secs: self.idle_timeout.as_secs(),
            })?;
        match next {
            None | Some(Ok(Message::Close(_))) => Err(InspectorError::Closed { during }),
            Some(Err(e)) => Err(ws_error(e, &during)),
            Some(Ok(Message::Text(text))) => Ok(Some(text)),
            // Pings are answered by tungstenite on the next read or write.
            Some(Ok(_)) => Ok(None),
        }
    }

    /// Ends the session politely; the target keeps running.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

/// Maps transport failures to what they mean for the person waiting: a reset or closed
/// connection is the target going away.
fn ws_error(e: tungstenite::Error, during: &str) -> InspectorError {
    use std::io::ErrorKind;
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            InspectorError::Closed {
                during: during.to_string(),
            }
        }
        tungstenite::Error::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
                    | ErrorKind::ConnectionAborted
            ) =>
        {
            InspectorError::Closed {
                during: during.to_string(),
            }
        }
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => InspectorError::Closed {
            during: during.to_string(),
        },
        other => InspectorError::WebSocket {
            during: during.to_string(),
            detail: other.to_string(),
        },
    }
}
