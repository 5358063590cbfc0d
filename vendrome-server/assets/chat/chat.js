// The example chat client: signs in, lists conversations, and talks to the realtime gateway
// (GET /v1/ws) for new messages, deliveries, reads, typing and presence. No framework, no build.
// The access token lives in memory only: reload the page and you sign in again.

const $ = (selector) => document.querySelector(selector);
const state = {
  token: null,
  me: null,
  socket: null,
  lastEventId: null,
  open: null, // the open conversation: { id, others }
  conversations: [],
  lastTypingSent: 0,
  typingTimer: null,
  retry: 500,
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      "content-type": "application/json",
      ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(json.error?.message ?? `${method} ${path}: ${response.status}`);
  }
  return json;
}

const short = (id) => id.slice(0, 8);

// ------------------------------------------------------------------ sign-in ---
$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const { data } = await api("POST", "/v1/auth/login", {
      email: form.get("email"),
      password: form.get("password"),
    });
    state.token = data.access_token;
    state.me = data.user;
    $("#me").textContent = data.user.display_name;
    $("#login").hidden = true;
    $("#app").hidden = false;
    await loadConversations();
    connect();
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});

// ------------------------------------------------------------ conversations ---
async function loadConversations() {
  const { data } = await api("GET", "/v1/conversations?limit=50");
  state.conversations = data;
  const list = $("#conversations");
  list.replaceChildren(
    ...data.map((c) => {
      const item = document.createElement("li");
      item.dataset.conversationId = c.id;
      item.dataset.testid = "conversation";
      item.classList.toggle("open", state.open?.id === c.id);
      const name = document.createElement("span");
      name.textContent = c.title ?? (c.participant_ids.map(short).join(", ") || "just you");
      item.append(name);
      if (c.unread > 0 && state.open?.id !== c.id) {
        const badge = document.createElement("span");
        badge.className = "unread";
        badge.textContent = c.unread;
        item.append(badge);
      }
      item.addEventListener("click", () => openConversation(c));
      return item;
    }),
  );
}

async function openConversation(conversation) {
  state.open = { id: conversation.id, others: conversation.participant_ids };
  $("#conversation").hidden = false;
  $("#peer").textContent = conversation.title ?? conversation.participant_ids.map(short).join(", ");
  setPresence("offline");
  $("#typing").hidden = true;
  const { data } = await api("GET", `/v1/conversations/${conversation.id}/messages?limit=50`);
  $("#messages").replaceChildren();
  data.reverse().forEach(showMessage);
  markRead();
  send({ type: "presence.query", user_ids: conversation.participant_ids });
  await loadConversations();
}

function showMessage(message) {
  if (document.querySelector(`[data-message-id="${message.id}"]`)) return;
  const item = document.createElement("li");
  item.className = "message";
  item.dataset.messageId = message.id;
  item.dataset.testid = "message";
  const mine = message.sender_id === state.me.id;
  item.classList.toggle("mine", mine);
  const text = document.createElement("span");
  text.className = "body";
  text.textContent = message.body;
  item.append(text);
  if (mine) {
    const status = document.createElement("span");
    status.className = "status";
    status.dataset.testid = "status";
    status.textContent = "sent";
    item.append(status);
  }
  $("#messages").append(item);
  item.scrollIntoView({ block: "end" });
}

function setStatus(messageId, status, onlyUpTo) {
  for (const item of document.querySelectorAll(".message.mine")) {
    const id = item.dataset.messageId;
    if (onlyUpTo ? id <= messageId : id === messageId) {
      const label = item.querySelector(".status");
      if (label && !(label.textContent === "read" && status === "delivered")) {
        label.textContent = status;
      }
    }
  }
}

function setPresence(status) {
  const label = $("#presence");
  label.dataset.status = status;
  label.textContent = status;
}

function markRead() {
  const items = document.querySelectorAll(".message:not(.mine)");
  const newest = items[items.length - 1];
  if (newest && document.visibilityState === "visible" && state.open) {
    send({ type: "message.read", conversation_id: state.open.id, message_id: newest.dataset.messageId });
  }
}
document.addEventListener("visibilitychange", markRead);

// ----------------------------------------------------------------- composer ---
$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#body");
  const body = input.value.trim();
  if (!body || !state.open) return;
  input.value = "";
  state.lastTypingSent = 0;
  const { data } = await api("POST", `/v1/conversations/${state.open.id}/messages`, {
    body,
    client_message_id: crypto.randomUUID(),
  });
  showMessage(data);
});

$("#body").addEventListener("input", () => {
  if (!state.open) return;
  const now = Date.now();
  if (now - state.lastTypingSent > 2000) {
    state.lastTypingSent = now;
    send({ type: "typing.start", conversation_id: state.open.id });
  }
});

// ------------------------------------------------------------------ gateway ---
function send(frame) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    // Browsers cannot set headers on a WebSocket: the token goes in the first frame.
    socket.send(JSON.stringify({ type: "auth", token: state.token, last_event_id: state.lastEventId }));
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    $("#connection").textContent = `offline (${event.code})`;
    if (event.code === 4401 || event.code === 4403) return; // signed out: do not retry
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10000);
  });
}

function onFrame(frame) {
  if (frame.id) state.lastEventId = frame.id;
  const data = frame.data ?? {};
  const here = state.open && data.conversation_id === state.open.id;
  switch (frame.type) {
    case "ready":
      state.retry = 500;
      $("#connection").textContent = "online";
      $("#connection").dataset.ready = "true";
      if (state.open) send({ type: "presence.query", user_ids: state.open.others });
      break;
    case "message.created":
      if (here) {
        showMessage(data);
        if (data.sender_id !== state.me.id) {
          send({ type: "message.delivered", message_id: data.id });
          $("#typing").hidden = true;
          markRead();
        }
      }
      loadConversations();
      break;
    case "message.updated":
      if (here) {
        const item = document.querySelector(`[data-message-id="${data.id}"] .body`);
        if (item) item.textContent = data.body;
      }
      break;
    case "message.deleted":
      document.querySelector(`[data-message-id="${data.message_id}"]`)?.remove();
      break;
    case "message.delivered":
      setStatus(data.message_id, "delivered", false);
      break;
    case "message.read":
      if (here && data.user_id !== state.me.id) setStatus(data.message_id, "read", true);
      if (data.user_id === state.me.id) loadConversations();
      break;
    case "typing.started":
      if (here) $("#typing").hidden = false;
      break;
    case "typing.stopped":
      if (here) $("#typing").hidden = true;
      break;
    case "presence.updated":
      if (state.open?.others.includes(data.user_id)) setPresence(data.status);
      break;
    case "presence.state":
      for (const member of data.members) {
        if (state.open?.others.includes(member.user_id)) setPresence(member.status);
      }
      break;
    case "resync.required":
      if (state.open) openConversation(state.conversations.find((c) => c.id === state.open.id));
      break;
    case "error":
      console.warn("gateway:", data.code, data.message);
      break;
  }
}
