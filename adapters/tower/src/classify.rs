//! Reading what an attempt saw: errors, gRPC statuses, idempotency and the table key.

use std::error::Error as StdError;

use http::{HeaderMap, Method, Uri};
use relent::hint::{HintReader, ServerHint};
use relent::http::{Observed, is_idempotent};
use relent::retry::{RetryKind, TransportError};

/// What an error chain says about where an attempt failed.
///
/// HTTP/2's REFUSED_STREAM and a GOAWAY that excluded the stream are reported as
/// [`TransportError::ConnectFailed`]: like a connection that was never made, the request
/// was never processed (RFC 9113 §8.7: "the stream was not processed"; a GOAWAY's last
/// stream ID promises the same for higher streams), so it may be sent again whatever
/// its method.
///
/// ```
/// use relent::retry::TransportError;
/// let refused = h2::Error::from(h2::Reason::REFUSED_STREAM);
/// assert_eq!(relent_tower::classify_error(&refused), TransportError::ConnectFailed);
/// let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
/// assert_eq!(relent_tower::classify_error(&timeout), TransportError::TimedOut);
/// ```
#[must_use]
pub fn classify_error(error: &(dyn StdError + 'static)) -> TransportError {
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        // relent's own wrapper (a `RetryError`'s cause) shows the error it holds.
        if let Some(any) = e.downcast_ref::<relent_tokio::AnyError>() {
            next = Some(&*any.0);
            continue;
        }
        if let Some(e) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            if e.is_connect() {
                return TransportError::ConnectFailed;
            }
        } else if let Some(e) = e.downcast_ref::<h2::Error>() {
            if e.reason() == Some(h2::Reason::REFUSED_STREAM) || (e.is_go_away() && e.is_remote()) {
                return TransportError::ConnectFailed;
            }
        } else if let Some(e) = e.downcast_ref::<hyper::Error>() {
            if e.is_timeout() {
                return TransportError::TimedOut;
            }
        } else if let Some(e) = e.downcast_ref::<std::io::Error>() {
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => return TransportError::ConnectFailed,
                std::io::ErrorKind::TimedOut => return TransportError::TimedOut,
                _ => {}
            }
        } else if e.is::<crate::timeout::Elapsed>() || e.is::<tower::timeout::error::Elapsed>() {
            return TransportError::TimedOut;
        }
        next = e.source();
    }
    TransportError::Other
}

/// A request error as something [`classify_error`] can read: implemented for tower's
/// boxed errors, hyper-util's client error, hyper's and std's, so the retry
/// [`Policy`](crate::Policy) works over any of those stacks.
pub trait AsStdError {
    /// The error, as a `std::error::Error` with its source chain.
    fn as_std_error(&self) -> &(dyn StdError + 'static);
}

impl AsStdError for crate::BoxError {
    fn as_std_error(&self) -> &(dyn StdError + 'static) {
        &**self
    }
}

impl AsStdError for hyper_util::client::legacy::Error {
    fn as_std_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

impl AsStdError for hyper::Error {
    fn as_std_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

impl AsStdError for std::io::Error {
    fn as_std_error(&self) -> &(dyn StdError + 'static) {
        self
    }
}

/// gRPC's status codes the layer acts on (gRPC `doc/statuscodes.md`).
const GRPC_OK: u32 = 0;
const GRPC_RESOURCE_EXHAUSTED: u32 = 8;
const GRPC_UNAVAILABLE: u32 = 14;

/// Whether a request is a gRPC call: `content-type: application/grpc` or one of its
/// `+proto` / `+json` / `;` variants (gRPC `doc/PROTOCOL-HTTP2.md`).
#[must_use]
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).is_some_and(|v| {
        match v.as_bytes().strip_prefix(b"application/grpc") {
            Some(rest) => matches!(rest.first(), None | Some(b'+' | b';')),
            None => false,
        }
    })
}

/// The `grpc-status` in a header map, if present and a number.
///
/// A trailers-only response (gRPC's reply to a call that fails before any message)
/// carries it in the response headers, so it can be read before the body: that is the
/// only gRPC failure a retry layer can act on without consuming a response.
#[must_use]
pub fn grpc_status(headers: &HeaderMap) -> Option<u32> {
    let v = headers.get("grpc-status")?.to_str().ok()?;
    v.trim().parse().ok()
}

/// Whether the request is safe to send again after the server may have processed it:
/// an RFC 9110 §9.2.2 idempotent method, an `Idempotency-Key` header
/// (draft-ietf-httpapi-idempotency-key-header), or the caller's
/// [`Idempotent`](relent::http::Idempotent) mark.
#[must_use]
pub fn request_is_idempotent(method: &Method, headers: &HeaderMap, marked: bool) -> bool {
    marked || is_idempotent(method) || headers.contains_key("idempotency-key")
}

/// What a response shows, read for the classifier: its status and hint, or for a gRPC
/// call with a `grpc-status` in its headers, the gRPC verdict.
///
/// gRPC (gRFC A6): OK is a success, UNAVAILABLE a transient failure, RESOURCE_EXHAUSTED
/// throttling; any other code is final. The call's own verdict is given as
/// [`Observed::Failure`], which the classifier follows whatever the method: a gRPC
/// client that retries a status code has configured it as retryable for that method,
/// which is A6's "retryableStatusCodes" (a gRPC call is always a POST on the wire, so
/// RFC 9110's method rule would forbid every retry).
pub(crate) fn observe_response(
    status: u16,
    headers: &HeaderMap,
    grpc: bool,
    hints: &HintReader,
) -> Observed {
    let read_hint = || {
        hints
            .read_header_map(headers, relent_tokio::clock::unix_now())
            .map(|h| h.hint)
    };
    if grpc && status == 200 {
        if let Some(code) = grpc_status(headers) {
            if code == GRPC_OK {
                return Observed::Response { status, hint: None };
            }
            let retry = match code {
                GRPC_UNAVAILABLE => Some(RetryKind::Transient),
                GRPC_RESOURCE_EXHAUSTED => Some(RetryKind::Throttled),
                _ => None,
            };
            return Observed::Failure {
                retry,
                hint: read_hint(),
            };
        }
    }
    // Only an error status can carry a hint the machine acts on.
    let hint: Option<ServerHint> = if status >= 400 { read_hint() } else { None };
    Observed::Response { status, hint }
}

/// The Retry-After table key of a request: its origin, `scheme://host:port` with the
/// port made explicit, since rate limits and overload are per server, not per path.
/// A request without an authority (a relative URI below a base-URI layer) is keyed by
/// the empty string.
///
/// ```
/// let uri: http::Uri = "http://api.example/v1/x?y".parse().unwrap();
/// assert_eq!(relent_tower::origin_key(&uri), "http://api.example:80");
/// let uri: http::Uri = "https://api.example:8443/".parse().unwrap();
/// assert_eq!(relent_tower::origin_key(&uri), "https://api.example:8443");
/// ```
#[must_use]
pub fn origin_key(uri: &Uri) -> String {
    let Some(authority) = uri.authority() else {
        return String::new();
    };
    let scheme = uri.scheme_str().unwrap_or("http");
    // Written from the authority as given, without parsing the port: this runs once per
    // request, and parsing was most of its cost (callgrind, benches/layer_overhead.rs).
    let raw = authority.as_str().as_bytes();
    // One pass over the bytes: the userinfo ends at the last '@'; a ':' after it and after
    // any IPv6 literal's closing bracket starts the port.
    let (mut at, mut colon, mut bracket) = (None, None, None);
    for (i, b) in raw.iter().enumerate() {
        match b {
            b'@' => at = Some(i),
            b':' => colon = Some(i),
            b']' => bracket = Some(i),
            _ => {}
        }
    }
    let start = at.map_or(0, |i| i.saturating_add(1));
    let host_port = authority.as_str().get(start..).unwrap_or("");
    let has_port = colon.is_some_and(|c| Some(c) > bracket && Some(c) > at);
    let default_port = match (has_port, scheme) {
        (false, "https") => ":443",
        (false, "http") => ":80",
        _ => "",
    };
    let mut key = String::with_capacity(scheme.len() + 3 + host_port.len() + default_port.len());
    key.push_str(scheme);
    key.push_str("://");
    key.push_str(host_port);
    key.push_str(default_port);
    // Scheme and host are case-insensitive (RFC 3986 §6.2.2.1): one origin, one key.
    key.make_ascii_lowercase();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_grpc(&h));
        for (v, grpc) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpc;charset=utf-8", true),
            ("application/grpcx", false),
            ("application/json", false),
        ] {
            h.insert("content-type", v.parse().expect("value"));
            assert_eq!(is_grpc(&h), grpc, "{v}");
        }
    }

    #[test]
    fn grpc_statuses_from_headers() {
        let hints = HintReader::new();
        let mut h = HeaderMap::new();
        h.insert("grpc-status", "14".parse().expect("value"));
        assert_eq!(
            observe_response(200, &h, true, &hints),
            Observed::Failure {
                retry: Some(RetryKind::Transient),
                hint: None
            }
        );
        h.insert("grpc-status", "8".parse().expect("value"));
        h.insert("grpc-retry-pushback-ms", "250".parse().expect("value"));
        assert_eq!(
            observe_response(200, &h, true, &hints),
            Observed::Failure {
                retry: Some(RetryKind::Throttled),
                hint: Some(ServerHint::After(std::time::Duration::from_millis(250)))
            }
        );
        h.insert("grpc-retry-pushback-ms", "-1".parse().expect("value"));
        assert_eq!(
            observe_response(200, &h, true, &hints).hint(),
            Some(ServerHint::DoNotRetry)
        );
        h.insert("grpc-status", "5".parse().expect("value"));
        assert!(matches!(
            observe_response(200, &h, true, &hints),
            Observed::Failure { retry: None, .. }
        ));
        h.insert("grpc-status", "0".parse().expect("value"));
        assert_eq!(
            observe_response(200, &h, true, &hints),
            Observed::Response {
                status: 200,
                hint: None
            }
        );
        // Not a gRPC call: the header means nothing.
        h.insert("grpc-status", "14".parse().expect("value"));
        assert_eq!(
            observe_response(200, &h, false, &hints),
            Observed::Response {
                status: 200,
                hint: None
            }
        );
        h.insert("grpc-status", "fourteen".parse().expect("value"));
        assert_eq!(grpc_status(&h), None);
    }

    #[test]
    fn idempotency_rules() {
        let mut h = HeaderMap::new();
        assert!(request_is_idempotent(&Method::GET, &h, false));
        assert!(!request_is_idempotent(&Method::POST, &h, false));
        assert!(request_is_idempotent(&Method::POST, &h, true));
        h.insert("idempotency-key", "8e03978e".parse().expect("value"));
        assert!(request_is_idempotent(&Method::POST, &h, false));
    }

    #[test]
    fn keys_and_ports() {
        for (uri, key) in [
            ("http://API.Example/x", "http://api.example:80"),
            ("https://a.example/", "https://a.example:443"),
            ("http://a.example:8080/p?q", "http://a.example:8080"),
            ("http://[::1]/", "http://[::1]:80"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
            ("http://user:pw@h.example:81/", "http://h.example:81"),
        ] {
            assert_eq!(origin_key(&uri.parse().expect("uri")), key, "{uri}");
        }
        let relative: Uri = "/api/v1/pods".parse().expect("uri");
        assert_eq!(origin_key(&relative), "");
    }

    #[test]
    fn errors_are_read_through_their_chain() {
        #[derive(Debug)]
        struct Wrapper(h2::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Wrapper(h2::Error::from(h2::Reason::REFUSED_STREAM));
        assert_eq!(classify_error(&refused), TransportError::ConnectFailed);
        let cancelled = Wrapper(h2::Error::from(h2::Reason::CANCEL));
        assert_eq!(classify_error(&cancelled), TransportError::Other);
        let refused_tcp = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_error(&refused_tcp), TransportError::ConnectFailed);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify_error(&reset), TransportError::Other);
        assert_eq!(
            classify_error(&crate::timeout::Elapsed(std::time::Duration::from_secs(1))),
            TransportError::TimedOut
        );
    }
}
