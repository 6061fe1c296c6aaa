// A tiny std-only HTTP/1.1 responder for the README's doc tests: it answers the
// n-th connection with the n-th status (empty body, `connection: close`), then stops.
// (The demo and the integration tests use the project's full scripted server.)

/// Serve `statuses` in order on 127.0.0.1 from a background thread; returns the URL.
pub fn serve(statuses: &[u16]) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let statuses = statuses.to_vec();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    url
}
