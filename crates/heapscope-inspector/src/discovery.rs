//! The inspector's HTTP discovery endpoints (`/json/list`, `/json/version`), read with a
//! minimal HTTP/1.1 GET: Node answers a handful of fixed JSON documents with a
//! `Content-Length` (or by closing), so a full HTTP client would add nothing but weight.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{InspectorError, Result};

/// Discovery documents are a few kilobytes; anything beyond this is not an inspector.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// One debuggable target of an inspector (a Node process has one).
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    pub title: String,
    pub url: String,
    /// Where to open the DevTools protocol session.
    pub ws_url: String,
}

#[derive(Deserialize)]
struct ListEntry {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(rename = "webSocketDebuggerUrl")]
    ws_url: Option<String>,
}

/// The targets listed at `http://ADDR/json/list`. When an entry lacks
/// `webSocketDebuggerUrl` (inspectors omit it while another client is attached, and some
/// embedders never send it) the session URL is built from the address and the target id,
/// which is how Node forms it.
pub async fn list_targets(addr: SocketAddr, timeout: Duration) -> Result<Vec<Target>> {
    let body = http_get(addr, "/json/list", timeout).await?;
    parse_target_list(addr, &body)
}

fn parse_target_list(addr: SocketAddr, body: &[u8]) -> Result<Vec<Target>> {
    let entries: Vec<ListEntry> =
        serde_json::from_slice(body).map_err(|e| InspectorError::Discovery {
            addr,
            detail: format!("/json/list is not a target list: {e}"),
        })?;
    if entries.is_empty() {
        return Err(InspectorError::NoTargets { addr });
    }
    Ok(entries
        .into_iter()
        .map(|e| Target {
            ws_url: e.ws_url.unwrap_or_else(|| format!("ws://{addr}/{}", e.id)),
            id: e.id,
            title: e.title,
            url: e.url,
        })
        .collect())
}

/// Whether `addr` answers like a V8 inspector (`/json/version` with a protocol version).
pub async fn is_inspector(addr: SocketAddr, timeout: Duration) -> bool {
    #[derive(Deserialize)]
    struct Version {
        #[serde(rename = "Protocol-Version")]
        _protocol: String,
    }
    match http_get(addr, "/json/version", timeout).await {
        Ok(body) => serde_json::from_slice::<Version>(&body).is_ok(),
        Err(_) => false,
    }
}

/// Opens a TCP connection with a deadline, naming a refused connection for what it means.
pub(crate) async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => Err(InspectorError::Timeout {
            what: format!("connecting to {addr}"),
            secs: timeout.as_secs(),
        }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(InspectorError::ConnectionRefused { addr })
        }
        Ok(Err(e)) => Err(InspectorError::Discovery {
            addr,
            detail: format!("cannot connect: {e}"),
        }),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// `GET path` and the response body of a 200 answer. The `Host` header is the numeric
/// address: Node refuses other host names (its DNS-rebinding protection).
async fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Vec<u8>> {
    let exchange = async {
        let mut stream = connect(addr, timeout).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| discovery_error(addr, e))?;
        read_response(&mut stream, addr).await
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| InspectorError::Timeout {
            what: format!("waiting for {path} from {addr}"),
            secs: timeout.as_secs(),
        })??;
    parse_response(&response).map_err(|detail| InspectorError::Discovery {
        addr,
        detail: format!("{path}: {detail}"),
    })
}

fn discovery_error(addr: SocketAddr, e: std::io::Error) -> InspectorError {
    InspectorError::Discovery {
        addr,
        detail: e.to_string(),
    }
}

/// Reads until the peer closes or the declared body length has arrived.
async fn read_response(stream: &mut TcpStream, addr: SocketAddr) -> Result<Vec<u8>> {
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| discovery_error(addr, e))?;
        if n == 0 {
            return Ok(response);
        }
        response.extend_from_slice(&buf[..n]);
        if response.len() > MAX_RESPONSE_BYTES {
            return Err(InspectorError::Discovery {
                addr,
                detail: "response larger than 1 MiB: not an inspector".into(),
            });
        }
        if let Some((head_len, Some(body_len))) = head_and_length(&response) {
            if response.len() >= head_len + body_len {
                return Ok(response);
            }
        }
    }
}

/// Length of the head (through the blank line) and the `Content-Length`, once the head is in.
fn head_and_length(response: &[u8]) -> Option<(usize, Option<usize>)> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&response[..end]);
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    Some((end, length))
}

fn parse_response(response: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (head_len, length) = head_and_length(response).ok_or("not an HTTP response")?;
    let status_line = String::from_utf8_lossy(&response[..head_len]);
    let status_line = status_line.lines().next().unwrap_or("");
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if !status_line.starts_with("HTTP/") {
        return Err("not an HTTP response".into());
    }
    if status != "200" {
        return Err(format!("HTTP status {}", status_line.trim()));
    }
    let body = &response[head_len..];
    Ok(match length {
        Some(n) if n <= body.len() => body[..n].to_vec(),
        _ => body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_websocket_url_is_built_from_address_and_id() {
        let addr: SocketAddr = "127.0.0.1:9229".parse().unwrap();
        let body = br#"[{"id":"abc","title":"app.js","type":"node","url":"file:///app.js"}]"#;
        let targets = parse_target_list(addr, body).unwrap();
        assert_eq!(targets[0].ws_url, "ws://127.0.0.1:9229/abc");
        let listed = br#"[{"id":"abc","webSocketDebuggerUrl":"ws://127.0.0.1:9229/abc"}]"#;
        assert_eq!(
            parse_target_list(addr, listed).unwrap()[0].ws_url,
            "ws://127.0.0.1:9229/abc"
        );
        assert!(matches!(
            parse_target_list(addr, b"[]"),
            Err(InspectorError::NoTargets { .. })
        ));
        assert!(parse_target_list(addr, b"<html>").is_err());
    }

    #[test]
    fn body_is_cut_at_content_length() {
        let r = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]trailing";
        assert_eq!(parse_response(r).unwrap(), b"[]");
    }

    #[test]
    fn body_without_length_runs_to_the_end() {
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\n\r\n{}").unwrap(), b"{}");
    }

    #[test]
    fn non_200_and_non_http_are_errors() {
        assert!(parse_response(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            .unwrap_err()
            .contains("400"));
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}
