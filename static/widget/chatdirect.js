/*! ChatDirect widget. Paste:
 *  <script src="https://YOUR-CHATDIRECT/static/widget/chatdirect.js" data-widget-id="wgt_…" async></script>
 * Vanilla JS, no dependencies, no build step. Everything lives in a shadow root so the host page's
 * CSS cannot reach it and its CSS cannot reach the page. Text from the server is only ever set with
 * textContent. Budget: 12 KB gzipped (tests/widget/test_widget_size.py).
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-widget-id]");
  if (!script || window.__chatdirectLoaded) return;
  window.__chatdirectLoaded = true;

  var WIDGET_ID = script.getAttribute("data-widget-id") || "";
  var ORIGIN = new URL(script.src, location.href).origin;
  var API = ORIGIN + "/api/widget/v1/";
  var STORE_KEY = "chatdirect:" + WIDGET_ID;
  var TYPING_TIMEOUT_MS = 20000;
  var POLL_MS = 4000;
  var PING_MS = 25000;

  var STRINGS = {
    en: {
      open: "Open chat", close: "Close chat", input: "Message", placeholder: "Type your message…",
      send: "Send", human: "Talk to a person", waiting: "Waiting for a person to join…",
      withAgent: "You're chatting with {name}", online: "We reply in a few moments",
      away: "We're away right now. Leave us a message.", typing: "{name} is typing…",
      typingBot: "Typing…", you: "You", tooFast: "You're sending messages too quickly. Please wait {s} seconds.",
      tooLong: "Messages can be at most {n} characters.", reconnecting: "Reconnecting…",
      refused: "This chat isn't available on this website.", error: "Something went wrong. Please try again.",
      contactTitle: "Leave your details and we'll get back to you.", name: "Name",
      email: "Email", phone: "Phone (optional)", message: "Message (optional)", submit: "Send details",
      thanks: "Thanks! We'll get back to you soon.", needContact: "Please enter an email address or a phone number.",
      unread: "{n} new", powered: "Powered by ChatDirect", sending: "Sending…", notSent: "Not sent"
    },
    fr: {
      open: "Ouvrir le clavardage", close: "Fermer le clavardage", input: "Message",
      placeholder: "Écrivez votre message…", send: "Envoyer", human: "Parler à une personne",
      waiting: "En attente d'une personne…", withAgent: "Vous discutez avec {name}",
      online: "Nous répondons en quelques instants", away: "Nous sommes absents. Laissez-nous un message.",
      typing: "{name} écrit…", typingBot: "Écrit…", you: "Vous",
      tooFast: "Vous envoyez des messages trop vite. Patientez {s} secondes.",
      tooLong: "Les messages sont limités à {n} caractères.", reconnecting: "Reconnexion…",
      refused: "Ce clavardage n'est pas disponible sur ce site.", error: "Une erreur est survenue. Veuillez réessayer.",
      contactTitle: "Laissez vos coordonnées et nous vous recontacterons.", name: "Nom",
      email: "Courriel", phone: "Téléphone (facultatif)", message: "Message (facultatif)",
      submit: "Envoyer mes coordonnées", thanks: "Merci ! Nous vous recontacterons bientôt.",
      needContact: "Indiquez un courriel ou un numéro de téléphone.", unread: "{n} nouveau(x)",
      powered: "Propulsé par ChatDirect", sending: "Envoi…", notSent: "Non envoyé"
    }
  };
  var pageLanguage = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
  var strings = STRINGS[pageLanguage] || STRINGS.en;
  function tr(key, values) {
    return strings[key].replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  // --- state ----------------------------------------------------------------------------------
  var saved = load();
  var session = null;        // the sessions response: bot, mode, locale, agents_online, max_chars
  var conversation = null;   // {id, status, handled_by, agent_name}
  var lastId = 0;            // newest message id shown; `messages?after=` catches up from it
  var shown = {};            // message id -> element, so nothing is shown twice
  var pending = {};          // client_message_id -> element of a message not yet stored
  var outbox = saved.outbox || []; // [{cid, text}] sent but not acknowledged, kept across reloads
  var stream = null;         // the bot reply being streamed in
  var socket = null, socketReady = false, socketFailures = 0, reconnectDelay = 1000;
  var transport = "ws";      // then "sse", then "poll" when the previous one is blocked
  var liveAbort = null, pollTimer = null, typingTimer = null, pingTimer = null;
  var unread = 0, refused = false, greeting = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY)) || {}; } catch (e) { return {}; }
  }
  function save() {
    saved.outbox = outbox;
    try { localStorage.setItem(STORE_KEY, JSON.stringify(saved)); } catch (e) { /* private mode */ }
  }

  // --- DOM ------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "text") node.textContent = attrs[name];
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), attrs[name]);
      else node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  var ICON_SEND = "M3 20l18-8L3 4v6l12 2-12 2z";

  var CSS = [
    ":host{all:initial!important;display:block!important;position:fixed!important;right:0!important;bottom:0!important;width:0!important;height:0!important;z-index:2147483000!important;visibility:visible!important;opacity:1!important;transform:none!important}",
    "*{box-sizing:border-box;margin:0;padding:0;border:0;font:inherit;color:inherit;background:none;letter-spacing:normal;text-transform:none;text-align:left}",
    ".root{--a:#2563eb;--ai:#fff;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#111827;-webkit-font-smoothing:antialiased}",
    "button{cursor:pointer}",
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".launch{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:30px;background:var(--a);color:var(--ai);display:flex;align-items:center;justify-content:center;box-shadow:0 6px 24px rgba(15,23,42,.28);transition:transform .15s}",
    ".launch:hover{transform:scale(1.06)}",
    ".launch svg{width:28px;height:28px;fill:currentColor;stroke:currentColor;stroke-width:0}",
    ".launch[aria-expanded=true] svg{fill:none;stroke-width:2.4;stroke-linecap:round}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}",
    ".panel{position:fixed;right:20px;bottom:92px;width:370px;height:min(600px,calc(100vh - 112px));background:#fff;border-radius:16px;box-shadow:0 12px 48px rgba(15,23,42,.28);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden]{display:none}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100vh;border-radius:0}}",
    "header{background:var(--a);color:var(--ai);padding:14px 16px;display:flex;align-items:center;gap:12px}",
    ".av{width:40px;height:40px;border-radius:20px;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:700;font-size:17px;flex:none;object-fit:cover}",
    "h2{font-size:16px;font-weight:700;line-height:1.2}",
    ".st{font-size:12.5px;opacity:.9}",
    ".x{margin-left:auto;width:34px;height:34px;border-radius:17px;display:flex;align-items:center;justify-content:center;color:var(--ai)}",
    ".x:hover{background:rgba(255,255,255,.18)}",
    ".x svg{width:18px;height:18px;stroke:currentColor;stroke-width:2.4;stroke-linecap:round;fill:none}",
    ".log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:8px;background:#f8fafc}",
    ".m{max-width:82%;padding:9px 13px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #e5e7eb;align-self:flex-start;border-bottom-left-radius:4px}",
    ".m-visitor{align-self:flex-end;background:var(--a);color:var(--ai);border-color:transparent;border-radius:16px;border-bottom-right-radius:4px}",
    ".m-visitor.wait{opacity:.65}",
    ".m-visitor.fail{background:#fee2e2;color:#7f1d1d}",
    ".m-agent{border-color:#c7d2fe;background:#eef2ff}",
    ".m-system{align-self:center;max-width:92%;background:none;border:0;color:#4b5563;font-size:12.5px;text-align:center;padding:2px 8px}",
    ".who{display:block;font-size:11.5px;font-weight:700;color:#4338ca;margin-bottom:2px}",
    ".dots{align-self:flex-start;display:flex;gap:4px;padding:12px 14px;background:#fff;border:1px solid #e5e7eb;border-radius:16px;border-bottom-left-radius:4px}",
    ".dots i{width:7px;height:7px;border-radius:4px;background:#9ca3af;animation:b 1.2s infinite}",
    ".dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}",
    "@keyframes b{0%,60%,100%{transform:none;opacity:.5}30%{transform:translateY(-4px);opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.dots i{animation:none}.launch{transition:none}}",
    ".tl{font-size:12px;color:#4b5563;padding:0 16px 4px;background:#f8fafc}",
    ".note{margin:0 12px 8px;padding:8px 12px;border-radius:10px;background:#fef3c7;color:#78350f;font-size:13px}",
    ".note:empty{display:none}",
    ".bar{padding:8px 12px 0;display:flex;justify-content:center;background:#fff;border-top:1px solid #e5e7eb}",
    ".bar[hidden],form[hidden],.tl[hidden],.dots[hidden],.badge[hidden]{display:none}",
    ".hb{padding:7px 14px;border-radius:18px;border:1px solid #d1d5db;font-size:13px;font-weight:600;color:#1f2937}",
    ".hb:hover{border-color:var(--a);color:var(--a)}",
    ".cmp{display:flex;gap:8px;padding:10px 12px;background:#fff;align-items:flex-end}",
    "textarea,input{flex:1;width:100%;resize:none;border:1px solid #d1d5db;border-radius:12px;padding:9px 12px;max-height:120px;background:#fff;color:#111827;font-size:14px;line-height:1.4}",
    "textarea:focus,input:focus{border-color:var(--a);outline:2px solid transparent}",
    ".go{width:40px;height:40px;border-radius:20px;background:var(--a);color:var(--ai);display:flex;align-items:center;justify-content:center;flex:none}",
    ".go:disabled{opacity:.5;cursor:default}",
    ".go svg{width:19px;height:19px;fill:currentColor}",
    ".ct{padding:12px 14px;background:#fff;border:1px solid #e5e7eb;border-radius:14px;display:flex;flex-direction:column;gap:5px;flex:none}",
    ".ct p{font-weight:600;font-size:13.5px}",
    ".ct label{font-size:12px;font-weight:600;color:#374151}",
    ".ct button{margin-top:4px;padding:9px;border-radius:10px;background:var(--a);color:var(--ai);font-weight:600;text-align:center}",
    ".pw{font-size:11px;color:#6b7280;text-align:center;padding:0 0 8px;background:#fff}"
  ].join("");

  var host = document.createElement("chatdirect-widget");
  var shadow = host.attachShadow({ mode: "open" });
  var launcherBadge = el("span", { "class": "badge", hidden: "", "aria-hidden": "true" });
  var launcher = el("button", {
    "class": "launch", type: "button", "aria-expanded": "false", "aria-controls": "cd-panel",
    "aria-label": strings.open, onclick: function () { setOpen(panel.hidden); }
  }, [icon(ICON_CHAT), launcherBadge]);
  var avatar = el("span", { "class": "av", "aria-hidden": "true", text: "?" });
  var title = el("h2", { id: "cd-title", text: "…" });
  var status = el("p", { "class": "st" });
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-labelledby": "cd-title" });
  var dots = el("div", { "class": "dots", hidden: "", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]);
  var typingLine = el("p", { "class": "tl", hidden: "", role: "status" });
  var note = el("div", { "class": "note", role: "alert" });
  var humanButton = el("button", { "class": "hb", type: "button", text: strings.human, onclick: askForPerson });
  var humanBar = el("div", { "class": "bar", hidden: "" }, [humanButton]);
  var input = el("textarea", { id: "cd-input", rows: "1", placeholder: strings.placeholder, onkeydown: onInputKey, oninput: autosize });
  var sendButton = el("button", { "class": "go", type: "submit", "aria-label": strings.send }, [icon(ICON_SEND)]);
  var composer = el("form", { "class": "cmp", onsubmit: onSend }, [
    el("label", { "for": "cd-input", "class": "sr", text: strings.input }), input, sendButton
  ]);
  var contactForm = buildContactForm();
  var panel = el("div", {
    id: "cd-panel", "class": "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "cd-title",
    hidden: "", onkeydown: function (e) { if (e.key === "Escape") { e.preventDefault(); setOpen(false); } }
  }, [
    el("header", {}, [avatar, el("div", {}, [title, status]), el("button", {
      "class": "x", type: "button", "aria-label": strings.close, onclick: function () { setOpen(false); }
    }, [icon(ICON_CLOSE)])]),
    log, typingLine, note, humanBar, composer,
    el("p", { "class": "pw", text: strings.powered })
  ]);
  log.appendChild(dots);
  var root = el("div", { "class": "root" }, [panel, launcher]);
  shadow.appendChild(el("style", { text: CSS }));
  shadow.appendChild(root);
  (document.body || document.documentElement).appendChild(host);

  function buildContactForm() {
    function field(name, type, label) {
      var id = "cd-c-" + name;
      var attrs = { id: id, name: name, autocomplete: { name: "name", email: "email", phone: "tel" }[name] || "off" };
      if (type === "area") attrs.rows = "2"; else attrs.type = type;
      return [el("label", { "for": id, text: label }), el(type === "area" ? "textarea" : "input", attrs)];
    }
    var children = [el("p", { text: strings.contactTitle })]
      .concat(field("name", "text", strings.name), field("email", "email", strings.email),
        field("phone", "tel", strings.phone), field("message", "area", strings.message),
        [el("button", { type: "submit", text: strings.submit })]);
    return el("form", { "class": "ct", hidden: "", onsubmit: onContact }, children);
  }

  // --- panel ----------------------------------------------------------------------------------
  function setOpen(open, quietly) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? strings.close : strings.open);
    launcher.replaceChild(icon(open ? ICON_CLOSE : ICON_CHAT), launcher.firstChild);
    saved.open = open;
    save();
    if (open) {
      unread = 0;
      showUnread();
      connect();
      scrollDown();
      if (!quietly) (contactForm.hidden ? input : contactForm.querySelector("input")).focus();
    } else if (!quietly) {
      launcher.focus();
    }
  }
  function showUnread() {
    launcherBadge.hidden = !unread;
    launcherBadge.textContent = unread ? String(unread) : "";
    launcher.setAttribute("aria-label", (panel.hidden ? strings.open : strings.close) + (unread ? " (" + tr("unread", { n: unread }) + ")" : ""));
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function autosize() { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; }
  function onInputKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); onSend(e); }
  }
  function setNote(text) { note.textContent = text || ""; }

  function applySession(data) {
    session = data;
    strings = STRINGS[pageLanguage] || STRINGS[data.locale] || STRINGS.en;
    var bot = data.bot || {};
    title.textContent = bot.name || "Chat";
    if (/^#[0-9a-f]{6}$/i.test(bot.accent_color || "")) {
      root.style.setProperty("--a", bot.accent_color);
      root.style.setProperty("--ai", contrastInk(bot.accent_color));
    }
    if (/^https?:\/\//i.test(bot.avatar_url || "")) {
      var img = el("img", { "class": "av", alt: "", src: bot.avatar_url });
      avatar.replaceWith(img);
      avatar = img;
    } else {
      avatar.textContent = (bot.name || "?").charAt(0).toUpperCase();
    }
    if (data.max_chars) input.setAttribute("maxlength", String(data.max_chars));
    if (data.greeting && !greeting) {
      greeting = bubble({ author: "bot", text: data.greeting });
      log.insertBefore(greeting, log.firstChild);
    }
    renderState();
  }
  function contrastInk(hex) {
    var n = parseInt(hex.slice(1), 16), r = n >> 16, g = (n >> 8) & 255, b = n & 255;
    return (0.299 * r + 0.587 * g + 0.114 * b) > 170 ? "#111827" : "#ffffff";
  }

  function renderState() {
    if (!session) return;
    var handledBy = conversation ? conversation.handled_by : (session.mode === "human" ? "queue" : "bot");
    var online = session.agents_online;
    if (handledBy === "agent") status.textContent = tr("withAgent", { name: conversation.agent_name || "" });
    else if (handledBy === "queue") status.textContent = online ? strings.waiting : strings.away;
    else status.textContent = strings.online;
    humanBar.hidden = !(session.mode === "hybrid" && handledBy === "bot");
    if (session.mode === "human" && !online && handledBy !== "agent" && !saved.contactSent) showContact(true);
  }
  function showContact(show) {
    // A card at the end of the conversation, so the visitor can still read and type meanwhile.
    contactForm.hidden = !show;
    if (show) append(contactForm);
    if (show && !panel.hidden) contactForm.querySelector("input").focus();
  }

  // --- messages -------------------------------------------------------------------------------
  function bubble(message) {
    var node = el("div", { "class": "m m-" + message.author });
    if (message.author === "agent" && message.agent_name) node.appendChild(el("span", { "class": "who", text: message.agent_name }));
    node.appendChild(document.createTextNode(message.text));
    if (message.id) node.setAttribute("data-id", String(message.id));
    return node;
  }
  function append(node) {
    log.insertBefore(node, dots);
    scrollDown();
  }
  function showMessage(message) {
    if (!message || !message.id) return;
    lastId = Math.max(lastId, message.id);
    var cid = message.client_message_id;
    if (cid && pending[cid]) {
      var mine = pending[cid];
      delete pending[cid];
      mine.classList.remove("wait", "fail");
      mine.setAttribute("data-id", String(message.id));
      shown[message.id] = mine;
      dropFromOutbox(cid);
      return;
    }
    if (shown[message.id]) return;
    var node = bubble(message);
    shown[message.id] = node;
    if (cid) dropFromOutbox(cid);
    if (message.author !== "visitor") typing(false);
    if (message.author === "bot" && stream) {
      stream.replaceWith(node); // the finished reply replaces its stream, announced once
      stream = null;
      scrollDown();
    } else {
      append(node);
    }
    if (message.author !== "visitor" && panel.hidden) { unread++; showUnread(); }
  }
  function streamDelta(text) {
    typing(false);
    if (!stream) {
      // Hidden from screen readers while it grows token by token; the final message is announced.
      stream = el("div", { "class": "m m-bot", "aria-hidden": "true" });
      append(stream);
    }
    stream.appendChild(document.createTextNode(text));
    scrollDown();
  }
  function finished(data) {
    if (data.message) showMessage(data.message);
    if (data.reply) showMessage(data.reply);
    if (stream) { stream.remove(); stream = null; }
    typing(false);
    // "queued" in AI mode only means a resent message whose reply is still on its way.
    var waitsForPeople = data.status === "queued" && session && session.mode !== "ai" && !session.agents_online;
    if ((data.status === "capped" || waitsForPeople) && !saved.contactSent) showContact(true);
  }
  function typing(on, name) {
    clearTimeout(typingTimer);
    dots.hidden = !on;
    typingLine.hidden = !(on && name);
    typingLine.textContent = on && name ? tr("typing", { name: name }) : "";
    if (on) {
      scrollDown();
      // A reply that never comes must not leave the dots forever.
      typingTimer = setTimeout(function () { typing(false); }, TYPING_TIMEOUT_MS);
    }
  }
  function handle(event) {
    switch (event.type) {
      case "ready":
        socketReady = true;
        reconnectDelay = 1000;
        setNote("");
        session.agents_online = event.agents_online;
        setConversation(event.conversation);
        catchUp().then(flushOutbox);
        break;
      case "message": showMessage(event.message); break;
      case "delta": streamDelta(event.text); break;
      case "done": finished(event); break;
      case "conversation": setConversation(event.conversation); break;
      case "typing": typing(true, event.agent_name); break;
      case "error": showError(event); break;
    }
  }
  function setConversation(value) {
    conversation = value && value.status !== "resolved" ? value : null;
    renderState();
  }
  function showError(error) {
    if (error.code === "rate_limited") setNote(tr("tooFast", { s: error.retry_after || 30 }));
    else if (error.code === "message_too_long") setNote(tr("tooLong", { n: error.max_chars }));
    else if (error.code === "origin_not_allowed") return refuse();
    else setNote(error.message || strings.error);
    var cid = error.client_message_id;
    if (cid && pending[cid]) {
      // Refused before it was stored: give the text back so nothing typed is lost.
      var mine = pending[cid];
      delete pending[cid];
      dropFromOutbox(cid);
      mine.remove();
      if (!input.value) input.value = mine.textContent;
    }
    typing(false);
  }
  function refuse() {
    refused = true;
    setNote(strings.refused);
    input.disabled = sendButton.disabled = true;
    humanBar.hidden = true;
  }

  // --- sending --------------------------------------------------------------------------------
  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  }
  function onSend(e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || refused) return;
    if (session && session.max_chars && text.length > session.max_chars) return setNote(tr("tooLong", { n: session.max_chars }));
    input.value = "";
    autosize();
    setNote("");
    var item = { cid: newId(), text: text };
    outbox.push(item);
    save();
    showPending(item);
    deliver(item);
  }
  function showPending(item) {
    var node = bubble({ author: "visitor", text: item.text });
    node.classList.add("wait");
    pending[item.cid] = node;
    append(node);
  }
  function dropFromOutbox(cid) {
    outbox = outbox.filter(function (item) { return item.cid !== cid; });
    save();
  }
  function expectsReply() {
    return session && session.mode !== "human" && (!conversation || conversation.handled_by === "bot");
  }
  function deliver(item) {
    if (!session) return; // sent once the session starts
    if (expectsReply()) typing(true);
    if (transport === "ws") {
      if (socketReady) socket.send(JSON.stringify({ type: "message", text: item.text, client_message_id: item.cid }));
      else connect();
      return;
    }
    api("messages", { text: item.text, client_message_id: item.cid }, true).catch(function (error) {
      if (error && error.error) showError(Object.assign({ client_message_id: item.cid }, error.error));
      else pendingFailed(item.cid);
    });
  }
  function pendingFailed(cid) {
    if (pending[cid]) pending[cid].classList.add("fail");
    typing(false);
  }
  function flushOutbox() {
    outbox.forEach(function (item) {
      if (!pending[item.cid]) showPending(item);
      deliver(item);
    });
  }

  // --- HTTP -----------------------------------------------------------------------------------
  function api(path, body, streamed) {
    var headers = { "Content-Type": "application/json" };
    if (saved.token) headers.Authorization = "Bearer " + saved.token;
    if (streamed) headers.Accept = "text/event-stream";
    return fetch(API + path, {
      method: body ? "POST" : "GET", headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", mode: "cors"
    }).then(function (response) {
      if (streamed && response.ok && response.body) return readEvents(response.body);
      return response.json().then(function (data) {
        if (response.ok) return data;
        throw data;
      });
    });
  }
  function readEvents(body) {
    // Server-sent events over fetch: EventSource cannot send the Authorization header.
    var reader = body.getReader(), decoder = new TextDecoder(), buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var frames = buffer.split("\n\n");
        buffer = frames.pop();
        frames.forEach(function (frame) {
          var kind = "message", data = "";
          frame.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) kind = line.slice(7);
            else if (line.indexOf("data: ") === 0) data += line.slice(6);
          });
          if (!data) return;
          var event = JSON.parse(data);
          if (!event.type) event.type = kind;
          handle(event);
        });
        return pump();
      });
    }
    return pump();
  }
  function catchUp() {
    return api("messages?after=" + lastId).then(function (data) {
      (data.messages || []).forEach(showMessage);
    }, function () {});
  }
  function startSession() {
    return api("sessions", { widget_id: WIDGET_ID, visitor_token: saved.token || undefined, locale: pageLanguage })
      .then(function (data) {
        saved.token = data.visitor_token;
        save();
        applySession(data);
        if (data.resumed) return catchUp();
      }, function (error) {
        if (error && error.error && error.error.code === "origin_not_allowed") refuse();
        else setNote(strings.error);
        throw error;
      });
  }

  // --- live transport -------------------------------------------------------------------------
  function connect() {
    if (!session || refused) return;
    if (transport === "ws") return connectSocket();
    if (transport === "sse") return listen();
    if (!pollTimer) pollTimer = setInterval(catchUp, POLL_MS);
  }
  function connectSocket() {
    if (socket) return;
    var opened = false;
    socketReady = false;
    socket = new WebSocket(ORIGIN.replace(/^http/, "ws") + "/ws/widget/?widget_id=" + encodeURIComponent(WIDGET_ID));
    socket.onopen = function () {
      opened = true;
      socketFailures = 0;
      socket.send(JSON.stringify({ type: "hello", visitor_token: saved.token }));
      pingTimer = setInterval(function () { if (socketReady) socket.send('{"type":"ping"}'); }, PING_MS);
    };
    socket.onmessage = function (e) { handle(JSON.parse(e.data)); };
    socket.onclose = function (e) {
      socket = null;
      socketReady = false;
      clearInterval(pingTimer);
      if (e.code === 4403) return refuse();
      if (e.code === 4401) { saved.token = ""; return startSession().then(connect); }
      if (!opened && ++socketFailures >= 2) {
        // Websockets never opened (a proxy or firewall blocks them): stream over HTTP instead.
        transport = "sse";
        connect();
        flushOutbox();
        return;
      }
      setNote(outbox.length ? strings.reconnecting : "");
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 15000);
    };
  }
  function listen() {
    if (liveAbort) return;
    liveAbort = new AbortController();
    var headers = { Authorization: "Bearer " + saved.token };
    fetch(API + "live", { headers: headers, signal: liveAbort.signal, credentials: "omit" })
      .then(function (response) {
        if (!response.ok || !response.body) throw response;
        catchUp();
        return readEvents(response.body);
      })
      .then(function () { liveAbort = null; connect(); }, function () {
        // The event stream is blocked too: poll.
        liveAbort = null;
        transport = "poll";
        connect();
      });
  }
  function askForPerson() {
    humanBar.hidden = true;
    api("handoff", {}).then(function (data) {
      session.agents_online = data.agents_online;
      if (data.notice) showMessage(data.notice);
      setConversation(data.conversation);
      if (!data.agents_online) showContact(true);
    }, function (error) {
      humanBar.hidden = false;
      if (error && error.error) showError(error.error);
    });
  }
  function onContact(e) {
    e.preventDefault();
    var values = {};
    ["name", "email", "phone", "message"].forEach(function (name) {
      values[name] = contactForm.querySelector("[name=" + name + "]").value.trim();
    });
    if (!values.email && !values.phone) return setNote(strings.needContact);
    api("contact", values).then(function (data) {
      saved.contactSent = true;
      save();
      showContact(false);
      setNote("");
      append(el("div", { "class": "m m-system", text: strings.thanks }));
      setConversation(data.conversation);
      catchUp();
      input.focus();
    }, function (error) { setNote(error && error.error ? error.error.message : strings.error); });
  }

  window.addEventListener("online", function () { if (!socket) connect(); });
  startSession().then(function () {
    // Restored open across page loads, but without taking the page's focus.
    if (saved.open) setOpen(true, true);
    else if (saved.token && outbox.length) connect();
    flushOutbox();
  }, function () {});
})();
