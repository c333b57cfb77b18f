// ChatRec chat page: one websocket, streamed replies, item cards with feedback and "why this?".
// Every piece of model or user text is written with textContent, never parsed as HTML.
(function () {
  "use strict";

  const T = JSON.parse(document.getElementById("ui-strings").textContent);
  const MAX_CHARS = JSON.parse(document.getElementById("max-chars").textContent);
  const LANG = document.documentElement.lang || "en";

  const messagesEl = document.getElementById("messages");
  const chipsEl = document.getElementById("chips");
  const statusEl = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  const sendBtn = document.getElementById("send");
  const stopBtn = document.getElementById("stop");
  const listEl = document.getElementById("conversation-list");

  let socket = null;
  let retry = 0;
  const STORE_KEY = "chatrec.conversation";
  let conversationId = Number(sessionStorage.getItem(STORE_KEY)) || null;
  let current = null; // the assistant bubble being streamed
  let busy = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function clientKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function scrollDown() {
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function setBusy(value) {
    busy = value;
    sendBtn.hidden = value;
    stopBtn.hidden = !value;
    input.setAttribute("aria-busy", value ? "true" : "false");
  }

  // ------------------------------------------------------------------ bubbles

  function userBubble(text) {
    const welcome = document.getElementById("welcome");
    if (welcome) welcome.remove();
    const bubble = el("div", "msg user");
    bubble.appendChild(el("div", "text", text));
    messagesEl.appendChild(bubble);
    scrollDown();
  }

  function assistantBubble() {
    const bubble = el("div", "msg assistant");
    bubble.setAttribute("data-testid", "assistant-message");
    const text = el("div", "text");
    text.setAttribute("data-testid", "reply-text");
    const typing = el("div", "typing");
    typing.setAttribute("data-testid", "typing");
    typing.setAttribute("aria-label", "…");
    for (let i = 0; i < 3; i++) typing.appendChild(el("span", "dot"));
    const cards = el("div", "cards");
    bubble.append(text, typing, cards);
    messagesEl.appendChild(bubble);
    scrollDown();
    return { bubble, text, typing, cards, byId: new Map() };
  }

  // ------------------------------------------------------------------ item cards

  function hue(text) {
    let h = 0;
    for (const ch of text) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function cover(item) {
    const box = el("div", "cover");
    const url = String(item.image_url || "");
    if (/^https?:\/\//i.test(url)) {
      const img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.src = url;
      img.addEventListener("error", () => { img.remove(); box.appendChild(generatedCover(item)); });
      box.appendChild(img);
    } else {
      box.appendChild(generatedCover(item));
    }
    return box;
  }

  function generatedCover(item) {
    const title = String(item.display_title || item.title || "?");
    const h = hue(title);
    const art = el("div", "generated", Array.from(title.replace(/^(the|a|an)\s+/i, ""))[0] || "?");
    art.style.background = `linear-gradient(135deg, hsl(${h} 60% 45%), hsl(${(h + 50) % 360} 65% 30%))`;
    art.setAttribute("aria-hidden", "true");
    return art;
  }

  function keyAttributes(attrs) {
    const out = [];
    if (!attrs || typeof attrs !== "object") return out;
    const order = ["year", "genres", "category", "color", "price", "brand", "season"];
    for (const key of order) {
      let value = attrs[key];
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value = value.slice(0, 3).join(" · ");
      if (key === "price") value = "$" + value;
      out.push(String(value));
    }
    return out.slice(0, 4);
  }

  function feedbackButton(item, kind, label, symbol) {
    const btn = el("button", "fb " + kind);
    btn.type = "button";
    btn.title = label;
    btn.setAttribute("aria-label", label);
    btn.setAttribute("aria-pressed", "false");
    btn.setAttribute("data-testid", kind);
    btn.append(el("span", "sym", symbol), el("span", "lbl", label));
    btn.addEventListener("click", () => {
      if (send({ type: "feedback", item: item.id, kind: kind, key: clientKey() })) btn.classList.add("pending");
    });
    return btn;
  }

  function itemCard(item, registry) {
    const card = el("article", "card");
    card.setAttribute("data-testid", "item-card");
    card.dataset.itemId = String(item.id);
    card.appendChild(cover(item));
    const body = el("div", "card-body");
    const title = el("h3", "title", item.display_title || item.title);
    if (item.display_title && item.display_title !== item.title) title.title = item.title;
    body.appendChild(title);
    const attrs = el("div", "attrs");
    for (const text of keyAttributes(item.attributes)) attrs.appendChild(el("span", "attr", text));
    body.appendChild(attrs);

    const actions = el("div", "actions");
    actions.append(
      feedbackButton(item, "like", T.like, "♥"),
      feedbackButton(item, "dislike", T.dislike, "✕"),
      feedbackButton(item, "favourite", T.favourite, "★"),
    );
    const rate = el("select", "rate");
    rate.setAttribute("aria-label", T.rate);
    rate.setAttribute("data-testid", "rate");
    rate.appendChild(el("option", "", T.rate)).value = "";
    for (let v = 1; v <= 5; v++) rate.appendChild(el("option", "", "★".repeat(v))).value = String(v);
    rate.addEventListener("change", () => {
      if (rate.value) send({ type: "feedback", item: item.id, kind: "rating", value: Number(rate.value), key: clientKey() });
    });
    actions.appendChild(rate);

    const why = el("button", "why", T.why);
    why.type = "button";
    why.setAttribute("aria-expanded", "false");
    why.setAttribute("data-testid", "why");
    const reason = el("div", "reason");
    reason.hidden = true;
    reason.setAttribute("data-testid", "reason");
    const reasonText = el("p", "reason-text", item.explanation || "");
    const evidenceList = el("ul", "evidence");
    reason.append(reasonText, evidenceList);
    why.addEventListener("click", () => {
      const open = reason.hidden;
      reason.hidden = !open;
      why.textContent = open ? T.hideWhy : T.why;
      why.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && !reasonText.textContent) reasonText.textContent = T.noReason;
    });
    body.append(actions, why, reason);
    card.appendChild(body);
    registry.set(String(item.id), { card, reasonText, evidenceList });
    if (item.evidence) showEvidence(registry.get(String(item.id)), item.explanation, item.evidence);
    return card;
  }

  function evidenceLine(ev) {
    const pct = typeof ev.weight === "number" && ev.weight > 0 ? ` (${Math.round(ev.weight * 100)}%)` : "";
    const subject = ev.title || (ev.attribute ? `${ev.attribute}: ${ev.value}` : "") || ev.detail || "";
    const label = (T.kinds && T.kinds[ev.kind]) || ev.kind;
    return `${label}${subject ? " — " + subject : ""}${pct}`;
  }

  function showEvidence(entry, text, evidence) {
    if (!entry) return;
    if (text) entry.reasonText.textContent = text;
    entry.evidenceList.replaceChildren();
    for (const ev of (evidence || []).slice(0, 6)) entry.evidenceList.appendChild(el("li", "", evidenceLine(ev)));
  }

  // ------------------------------------------------------------------ chips and history

  function showChips(list) {
    chipsEl.replaceChildren();
    for (const text of list || []) {
      const chip = el("button", "chip", text);
      chip.type = "button";
      chip.setAttribute("data-testid", "chip");
      chip.addEventListener("click", () => submit(text));
      chipsEl.appendChild(chip);
    }
  }

  function showConversations(rows) {
    listEl.replaceChildren();
    for (const row of rows || []) {
      const li = el("li");
      const btn = el("button", "conv" + (row.id === conversationId ? " active" : ""), row.title || T.untitled);
      btn.type = "button";
      btn.addEventListener("click", () => {
        send({ type: "conversation.open", conversation: row.id });
        document.body.classList.remove("show-sidebar");
      });
      li.appendChild(btn);
      listEl.appendChild(li);
    }
  }

  function remember(id) {
    conversationId = id;
    if (id) sessionStorage.setItem(STORE_KEY, String(id)); else sessionStorage.removeItem(STORE_KEY);
  }

  function showHistory(frame) {
    remember(frame.conversation);
    messagesEl.replaceChildren();
    chipsEl.replaceChildren();
    for (const m of frame.messages || []) {
      if (m.role === "user") { userBubble(m.text); continue; }
      const b = assistantBubble();
      b.typing.remove();
      b.text.textContent = m.text;
      for (const item of m.items || []) b.cards.appendChild(itemCard(item, b.byId));
    }
    send({ type: "conversation.list" });
  }

  // ------------------------------------------------------------------ frames in

  function onFrame(frame) {
    switch (frame.type) {
      case "chat.start":
        if (frame.conversation) remember(frame.conversation);
        break;
      case "chat.token":
        if (!current) current = assistantBubble();
        current.typing.hidden = true;
        current.text.textContent += frame.text;
        scrollDown();
        break;
      case "chat.items":
        if (!current) current = assistantBubble();
        for (const item of frame.items || []) current.cards.appendChild(itemCard(item, current.byId));
        scrollDown();
        break;
      case "chat.explanation":
        if (current) showEvidence(current.byId.get(String(frame.item_id)), frame.text, frame.evidence);
        break;
      case "chat.done":
        if (current) {
          current.typing.remove();
          if (frame.stopped) current.bubble.appendChild(el("div", "note", T.stopped));
        }
        current = null;
        setBusy(false);
        showChips(frame.suggestions);
        break;
      case "chat.error":
        if (current) {
          current.typing.remove();
          current.bubble.appendChild(el("div", "note error", `${T.error} ${frame.message}`));
        } else {
          statusEl.textContent = `${T.error} ${frame.message}`;
        }
        if (frame.code === "not_found" && !current) remember(null);
        if (frame.code !== "busy") { current = null; setBusy(false); }
        break;
      case "feedback.saved":
        for (const btn of messagesEl.querySelectorAll(`.card[data-item-id="${CSS.escape(String(frame.item))}"] .fb.${frame.kind}`)) {
          btn.classList.remove("pending");
          btn.classList.add("pressed");
          btn.setAttribute("aria-pressed", "true");
        }
        statusEl.textContent = T.saved;
        break;
      case "conversation.history":
        showHistory(frame);
        break;
      case "conversation.list":
        showConversations(frame.conversations);
        break;
      case "conversation.changed":
        send({ type: "conversation.list" });
        break;
      case "conversation.created":
        remember(null);
        messagesEl.replaceChildren();
        chipsEl.replaceChildren();
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ connection

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/chat/`);
    socket.addEventListener("open", () => {
      retry = 0;
      statusEl.textContent = "";
      document.body.dataset.connected = "true";
      // Reopen the conversation this tab was in (after a language switch or a reconnect).
      if (conversationId && !busy && !messagesEl.querySelector(".msg")) {
        send({ type: "conversation.open", conversation: conversationId });
      } else {
        send({ type: "conversation.list" });
      }
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.connected = "false";
      statusEl.textContent = T.offline;
      if (busy) { setBusy(false); current = null; }
      // 4401 (not recognised) and 4429 (too many open tabs) close right after opening: retrying soon would not help.
      retry = event.code === 4401 || event.code === 4429 ? 6 : Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry);
    });
  }

  function submit(text) {
    text = String(text || "").trim();
    if (!text || busy) return;
    if (text.length > MAX_CHARS) { statusEl.textContent = T.tooLong; return; }
    if (!send({ type: "message", text: text, conversation: conversationId, language: LANG })) {
      statusEl.textContent = T.offline;
      return;
    }
    statusEl.textContent = "";
    chipsEl.replaceChildren();
    userBubble(text);
    current = assistantBubble();
    setBusy(true);
    input.value = "";
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submit(input.value); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(input.value); }
  });
  stopBtn.addEventListener("click", () => send({ type: "stop" }));
  document.getElementById("new-conversation").addEventListener("click", () => {
    send({ type: "conversation.new" });
    document.body.classList.remove("show-sidebar");
  });
  document.getElementById("sidebar-toggle").addEventListener("click", () => {
    document.body.classList.toggle("show-sidebar");
  });

  connect();
})();
