/* The agents' live inbox: conversations and messages arrive over /ws/inbox/; actions are POSTs.
 * Every text from visitors is set with textContent, never as HTML. */
(function () {
  "use strict";
  var box = document.querySelector("[data-inbox]");
  if (!box) return;
  var data = JSON.parse(document.getElementById("inbox-data").textContent);
  var base = box.getAttribute("data-api");
  var csrf = box.querySelector("[name=csrfmiddlewaretoken]").value;
  var $ = function (selector) { return document.querySelector(selector); };
  var list = $("[data-threads]"), thread = $("[data-thread]"), placeholder = $("[data-placeholder]");
  var messagesEl = $("[data-messages]"), note = $("[data-note]"), form = $("[data-reply-form]");
  var textarea = form.querySelector("textarea");
  var conversations = {}, unread = {}, selected = null, shown = {};
  var socket = null, retryDelay = 1000, pingTimer = null, lastTyping = 0;
  var baseTitle = document.title;

  data.conversations.forEach(function (c) { conversations[c.id] = c; });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }
  function time(iso) {
    var date = new Date(iso);
    var node = el("time", "", date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    node.dateTime = iso;
    return node;
  }
  function isQueued(c) { return c.handled_by === "queue"; }
  function label(c) {
    if (c.handled_by === "queue") return ["tag-queue", "Waiting for a person"];
    if (c.handled_by === "agent") return ["tag-agent", c.agent_name ? "With " + c.agent_name : "With an agent"];
    return ["tag-bot", "Bot"];
  }

  // --- the list ---------------------------------------------------------------------------------
  function renderList() {
    var rows = Object.keys(conversations).map(function (id) { return conversations[id]; })
      .filter(function (c) { return c.status !== "resolved"; });
    // Queued hand-offs first (oldest request first: they have waited longest), then by activity.
    rows.sort(function (a, b) {
      if (isQueued(a) !== isQueued(b)) return isQueued(a) ? -1 : 1;
      if (isQueued(a)) return (a.handoff_requested_at || "").localeCompare(b.handoff_requested_at || "");
      return (b.last_activity || "").localeCompare(a.last_activity || "");
    });
    list.textContent = "";
    rows.forEach(function (c) {
      var button = el("button", "thread-link" + (isQueued(c) ? " queued" : ""));
      button.type = "button";
      button.setAttribute("data-conversation", c.id);
      if (c.id === selected) button.setAttribute("aria-current", "true");
      var top = el("span", "thread-top");
      top.appendChild(el("span", "thread-name", c.visitor));
      if (c.last_activity) top.appendChild(el("span", "thread-time")).appendChild(time(c.last_activity));
      button.appendChild(top);
      var prefix = { bot: "Bot: ", agent: "Agent: " }[c.preview_author] || "";
      button.appendChild(el("span", "thread-preview" + (c.preview_author === "system" ? " note" : ""), c.preview ? prefix + c.preview : "—"));
      var tags = el("span", "thread-tags"), tag = label(c);
      tags.appendChild(el("span", "tag " + tag[0], tag[1]));
      if (unread[c.id]) tags.appendChild(el("span", "tag tag-unread", unread[c.id] + " new"));
      button.appendChild(tags);
      button.addEventListener("click", function () { select(c.id); });
      var item = el("li");
      item.appendChild(button);
      list.appendChild(item);
    });
    $("[data-empty]").hidden = rows.length > 0;
    $("[data-count]").textContent = rows.length ? String(rows.length) : "";
    var waiting = rows.filter(isQueued).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
  }

  // --- one conversation -------------------------------------------------------------------------
  function select(id) {
    selected = id;
    unread[id] = 0;
    history.replaceState(null, "", "#" + id);
    shown = {};
    messagesEl.textContent = "";
    note.textContent = "";
    thread.hidden = false;
    placeholder.hidden = true;
    renderList();
    renderThread();
    fetch(base + id + "/messages", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw r; return r.json(); })
      .then(function (body) {
        if (selected !== id) return;
        merge(body.conversation);
        body.messages.forEach(showMessage);
        renderThread();
      })
      .catch(function () { note.textContent = "Could not load this conversation."; });
    textarea.focus();
  }
  function renderThread() {
    var c = conversations[selected];
    if (!c) return;
    $("[data-thread-title]").textContent = c.visitor;
    $("[data-thread-meta]").textContent = [c.visitor_email, c.mode === "human" ? "Human-only chat" : c.mode === "hybrid" ? "Hybrid chat" : "AI chat"]
      .filter(Boolean).join(" · ");
    var mine = c.handled_by === "agent" && c.agent_id === data.agent.id;
    thread.querySelector("[data-action=take-over]").hidden = mine;
    thread.querySelector("[data-action=hand-back]").hidden = !(c.handled_by === "agent" && c.mode !== "human");
    var state = $("[data-thread-state]");
    state.className = "thread-state" + (isQueued(c) ? " queued" : "");
    state.textContent = isQueued(c) ? "The visitor is waiting for a person. Take over or reply to answer."
      : c.handled_by === "agent" ? (mine ? "You are handling this conversation; the bot is silent." : (c.agent_name || "An agent") + " is handling this conversation.")
        : "The bot is answering. Take over to reply yourself.";
  }
  function showMessage(m) {
    if (shown[m.id]) return;
    var item = el("li", "bubble bubble-" + m.author);
    var who = el("span", "who", m.author === "visitor" ? (conversations[selected] || {}).visitor || "Visitor"
      : m.author === "agent" ? (m.agent_name || "Agent") : m.author === "bot" ? "Bot" : "");
    if (m.author !== "system") { who.appendChild(time(m.created)); item.appendChild(who); }
    item.appendChild(document.createTextNode(m.text));
    shown[m.id] = item;
    // Keep id order even when a live event overtakes the transcript fetch.
    var after = null;
    Object.keys(shown).map(Number).sort(function (a, b) { return a - b; }).some(function (id) {
      if (id > m.id) { after = shown[id]; return true; }
      return false;
    });
    messagesEl.insertBefore(item, after);
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }
  function merge(c) {
    var known = conversations[c.id] || {};
    for (var key in c) known[key] = c[key];
    conversations[c.id] = known;
    return known;
  }

  // --- actions ----------------------------------------------------------------------------------
  function post(action, body) {
    note.textContent = "";
    return fetch(base + selected + "/" + action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (json) {
        if (!r.ok) throw json;
        if (json.conversation) merge(json.conversation);
        if (json.message) showMessage(json.message);
        renderList();
        renderThread();
        return json;
      });
    }).catch(function (error) {
      note.textContent = (error && error.error && error.error.message) || "That did not work. Please try again.";
      throw error;
    });
  }
  thread.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.getAttribute("data-action");
      post(action).then(function () {
        if (action === "resolve") {
          thread.hidden = true;
          placeholder.hidden = false;
          selected = null;
          renderList();
        }
      }, function () {});
    });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = textarea.value.trim();
    if (!text || !selected) return;
    textarea.value = "";
    post("reply", { text: text }).catch(function () { textarea.value = text; });
  });
  textarea.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  textarea.addEventListener("input", function () {
    // At most one "typing" every 3 s is enough for the visitor's indicator (it lasts 20 s).
    if (!selected || !socket || socket.readyState !== 1 || Date.now() - lastTyping < 3000) return;
    lastTyping = Date.now();
    socket.send(JSON.stringify({ type: "typing", conversation_id: selected }));
  });

  // --- live -------------------------------------------------------------------------------------
  function setLive(on, text) {
    $("[data-live-dot]").classList.toggle("on", on);
    $("[data-live-text]").textContent = text;
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + box.getAttribute("data-ws-path"));
    socket.onopen = function () {
      retryDelay = 1000;
      setLive(true, "Live");
      pingTimer = setInterval(function () { socket.send('{"type":"ping"}'); }, 25000);
      if (selected) select(selected); // catch up on what happened while disconnected
    };
    socket.onmessage = function (e) { onEvent(JSON.parse(e.data)); };
    socket.onclose = function () {
      clearInterval(pingTimer);
      socket = null;
      setLive(false, "Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    };
  }
  function onEvent(event) {
    if (event.type === "presence") {
      $("[data-presence]").textContent = event.agents_online === 1 ? "1 agent online" : event.agents_online + " agents online";
    } else if (event.type === "conversation") {
      merge(event.conversation);
      renderList();
      if (event.conversation.id === selected) renderThread();
    } else if (event.type === "message") {
      var c = conversations[event.conversation_id] || merge({ id: event.conversation_id, visitor: "Visitor", handled_by: "bot", status: "open" });
      c.preview = event.message.text;
      c.preview_author = event.message.author;
      c.last_activity = event.message.created;
      if (event.conversation_id === selected) showMessage(event.message);
      else if (event.message.author === "visitor") unread[c.id] = (unread[c.id] || 0) + 1;
      renderList();
    }
  }

  renderList();
  connect();
  var wanted = location.hash.slice(1);
  if (conversations[wanted]) select(wanted);
})();
