//! A WebSocket client for the realtime tests: connect with a header or an `auth` frame, read
//! frames by type with a deadline, read the close code.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::TestApp;

/// How long a frame that should come may take.
const PATIENCE: Duration = Duration::from_secs(10);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Opens `/v1/ws{query}` with the token in the `Authorization` header.
    pub async fn with_header(app: &TestApp, token: &str, query: &str) -> Ws {
        let mut request = format!("ws://{}/v1/ws{query}", app.address)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Ws { stream }
    }

    /// Opens `/v1/ws` and sends nothing yet.
    pub async fn anonymous(app: &TestApp) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", app.address))
            .await
            .unwrap();
        Ws { stream }
    }

    /// Opens `/v1/ws`, signs in with the first frame, and waits for `ready`.
    pub async fn signed_in(app: &TestApp, token: &str) -> Ws {
        let mut ws = Ws::anonymous(app).await;
        ws.send(serde_json::json!({ "type": "auth", "token": token }))
            .await;
        ws.expect("ready").await;
        ws
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame (pings and pongs skipped); `None` at a close.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("a frame in time");
            match message {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The next frame of type `kind`, skipping others.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self
                .next()
                .await
                .unwrap_or_else(|| panic!("the socket closed before a {kind} frame"));
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Every frame of type `kind` that arrives within `wait`.
    pub async fn collect(&mut self, kind: &str, wait: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        let until = tokio::time::Instant::now() + wait;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, self.stream.next()).await {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == kind {
                    frames.push(frame);
                }
            }
        }
        frames
    }

    /// Reads until the server closes; its close code.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("the close in time");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return 0,
                Some(Ok(_)) => continue,
            }
        }
    }
}

impl Ws {
    /// Closes from the client's side and waits until the server saw it.
    pub async fn close_now(mut self) {
        let _ = self.stream.close(None).await;
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_secs(2), self.stream.next()).await
        {}
    }
}
