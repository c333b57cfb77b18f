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
  const announcer = document.getElementById("announcer");
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  const sendBtn = document.getElementById("send");
  const stopBtn = document.getElementById("stop");
  const listEl = document.getElementById("conversation-list");
  const searchEl = document.getElementById("conversation-search");
  const toggle = document.getElementById("sidebar-toggle");

  let socket = null;
  let retry = 0;
  const STORE_KEY = "chatrec.conversation";
  let conversationId = Number(sessionStorage.getItem(STORE_KEY)) || null;
  let current = null; // the assistant bubble being streamed
  let pendingUser = null; // the user bubble of the turn being streamed (gets its stored id at the end)
  let pendingText = null; // the text of an edit or regeneration waiting for `conversation.rewound`
  let busy = false;
  const welcomeTemplate = document.getElementById("welcome") ? document.getElementById("welcome").cloneNode(true) : null;
  let following = true; // whether the view follows new text (only while the reader is at the bottom)

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(className, label, testid, onClick) {
    const btn = el("button", className, label);
    btn.type = "button";
    if (testid) btn.setAttribute("data-testid", testid);
    if (onClick) btn.addEventListener("click", onClick);
    return btn;
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

  // ------------------------------------------------------------------ scrolling

  const BOTTOM_SLACK = 40;
  messagesEl.addEventListener("scroll", () => {
    following = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight <= BOTTOM_SLACK;
  });

  function follow(force) {
    if (force) following = true;
    if (following) messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function setBusy(value) {
    busy = value;
    sendBtn.hidden = value;
    stopBtn.hidden = !value;
    input.setAttribute("aria-busy", value ? "true" : "false");
    for (const btn of messagesEl.querySelectorAll(".regen, .edit")) btn.disabled = value;
  }

  // ------------------------------------------------------------------ bubbles

  function clearWelcome() {
    const welcome = document.getElementById("welcome");
    if (welcome) welcome.remove();
  }

  function userBubble(text, id) {
    clearWelcome();
    const bubble = el("div", "msg user");
    bubble.setAttribute("data-testid", "user-message");
    const body = el("div", "text", text);
    const tools = el("div", "tools");
    const edit = button("tool edit", T.edit, "edit", () => startEdit(bubble));
    tools.appendChild(edit);
    bubble.append(body, tools);
    setMessageId(bubble, id);
    messagesEl.appendChild(bubble);
    follow(true);
    return bubble;
  }

  function setMessageId(bubble, id) {
    if (id) bubble.dataset.messageId = String(id);
    for (const btn of bubble.querySelectorAll(".tool")) {
      if (!btn.classList.contains("copy")) btn.hidden = !id;
    }
  }

  function startEdit(bubble) {
    if (busy || !bubble.dataset.messageId || bubble.querySelector("form")) return;
    const textEl = bubble.querySelector(".text");
    const editor = el("form", "editor");
    const area = el("textarea");
    area.value = textEl.textContent;
    area.maxLength = MAX_CHARS;
    area.setAttribute("aria-label", T.edit);
    area.setAttribute("data-testid", "edit-input");
    const save = el("button", "", T.save);
    save.type = "submit";
    save.setAttribute("data-testid", "edit-send");
    const cancel = button("secondary", T.cancel, "edit-cancel", () => close());
    editor.append(area, save, cancel);
    textEl.hidden = true;
    bubble.querySelector(".tools").hidden = true;
    bubble.insertBefore(editor, textEl);
    area.focus();
    function close() {
      editor.remove();
      textEl.hidden = false;
      bubble.querySelector(".tools").hidden = false;
    }
    editor.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.stopPropagation(); close(); } });
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = area.value.trim();
      if (!text || busy) return;
      if (send({ type: "message.edit", message: Number(bubble.dataset.messageId), text: text })) {
        pendingText = text;
        close();
        setBusy(true);
      }
    });
  }

  function assistantBubble() {
    clearWelcome();
    const bubble = el("div", "msg assistant");
    bubble.setAttribute("data-testid", "assistant-message");
    const text = el("div", "text");
    text.setAttribute("data-testid", "reply-text");
    const typing = el("div", "typing");
    typing.setAttribute("data-testid", "typing");
    typing.setAttribute("role", "img");
    typing.setAttribute("aria-label", T.typing);
    for (let i = 0; i < 3; i++) typing.appendChild(el("span", "dot"));
    const cards = el("div", "cards");
    const tools = el("div", "tools");
    const copy = button("tool copy", T.copy, "copy", () => copyReply(bubble, copy));
    const up = thumb(bubble, 1, "▲", T.thumbsUp, "thumbs-up");
    const down = thumb(bubble, -1, "▼", T.thumbsDown, "thumbs-down");
    const regen = button("tool regen", T.regenerate, "regenerate", () => regenerate());
    tools.append(copy, up, down, regen);
    tools.hidden = true;
    bubble.append(text, typing, cards, tools);
    messagesEl.appendChild(bubble);
    follow(false);
    return { bubble, text, typing, cards, tools, byId: new Map() };
  }

  function thumb(bubble, value, symbol, label, testid) {
    const btn = button("tool thumb", "", testid, () => {
      const pressed = btn.getAttribute("aria-pressed") === "true";
      send({ type: "reply.rate", message: Number(bubble.dataset.messageId), value: pressed ? 0 : value });
    });
    btn.dataset.value = String(value);
    btn.setAttribute("aria-pressed", "false");
    btn.setAttribute("aria-label", label);
    btn.title = label;
    btn.appendChild(el("span", "", symbol)).setAttribute("aria-hidden", "true");
    return btn;
  }

  function showRating(bubble, value) {
    for (const btn of bubble.querySelectorAll(".thumb")) {
      btn.setAttribute("aria-pressed", Number(btn.dataset.value) === value ? "true" : "false");
    }
  }

  function finishReply(entry, messageId, rating) {
    entry.typing.remove();
    entry.tools.hidden = false;
    setMessageId(entry.bubble, messageId);
    if (rating) showRating(entry.bubble, rating);
    refreshRegenerate();
  }

  function refreshRegenerate() {
    const replies = messagesEl.querySelectorAll(".msg.assistant");
    replies.forEach((bubble, i) => {
      const regen = bubble.querySelector(".regen");
      if (regen) regen.hidden = i !== replies.length - 1 || !bubble.dataset.messageId;
    });
  }

  function replyText(bubble) {
    const parts = [bubble.querySelector(".text").textContent];
    bubble.querySelectorAll(".card .title").forEach((t, i) => parts.push(`${i + 1}. ${t.textContent}`));
    return parts.join("\n");
  }

  function copyReply(bubble, btn) {
    const text = replyText(bubble);
    const done = () => { statusEl.textContent = T.copied; btn.dataset.copied = "true"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text) && done());
    } else if (fallbackCopy(text)) {
      done();
    }
  }

  function fallbackCopy(text) {
    const area = el("textarea", "visually-hidden");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  function regenerate() {
    if (busy) return;
    if (send({ type: "message.regenerate", conversation: conversationId })) {
      pendingText = null;
      setBusy(true);
    }
  }

  function rewound(frame) {
    const from = messagesEl.querySelector(`.msg.user[data-message-id="${CSS.escape(String(frame.message))}"]`);
    let text = pendingText;
    if (from) {
      if (text === null) text = from.querySelector(".text").textContent;
      let node = from;
      while (node) { const next = node.nextElementSibling; node.remove(); node = next; }
    }
    pendingText = null;
    if (frame.conversation) remember(frame.conversation);
    pendingUser = userBubble(text || "");
    current = assistantBubble();
    setBusy(true);
  }

  // Regenerate keeps the earlier answer: the question is shown again and a new, different answer follows it.
  function regenerating(frame) {
    const from = messagesEl.querySelector(`.msg.user[data-message-id="${CSS.escape(String(frame.message))}"]`);
    const text = from ? from.querySelector(".text").textContent : "";
    pendingText = null;
    if (frame.conversation) remember(frame.conversation);
    pendingUser = userBubble(text);
    current = assistantBubble();
    setBusy(true);
  }

  // ------------------------------------------------------------------ item cards

  function hue(text) {
    let h = 0;
    for (const ch of text) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  const COVER_WIDTH = 240;
  const COVER_HEIGHT = 96;

  function cover(item) {
    const box = el("div", "cover");
    const url = String(item.image_url || "");
    if (/^https?:\/\//i.test(url)) {
      const img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      img.width = COVER_WIDTH;
      img.height = COVER_HEIGHT;
      img.setAttribute("data-testid", "item-image");
      img.addEventListener("error", () => {
        img.remove();
        const failed = el("div", "image-failed", T.imageFailed);
        failed.setAttribute("data-testid", "image-failed");
        box.appendChild(failed);
      });
      img.src = url;
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
    art.style.background = `linear-gradient(135deg, hsl(${h} 60% 40%), hsl(${(h + 50) % 360} 65% 28%))`;
    art.setAttribute("aria-hidden", "true");
    return art;
  }

  function formatPrice(value, currency) {
    const amount = Number(value);
    if (!Number.isFinite(amount)) return String(value);
    try {
      if (typeof currency === "string" && /^[A-Za-z]{3}$/.test(currency)) {
        return new Intl.NumberFormat(LANG, { style: "currency", currency: currency.toUpperCase() }).format(amount);
      }
      return new Intl.NumberFormat(LANG, { maximumFractionDigits: 2 }).format(amount);
    } catch (e) {
      return String(value);
    }
  }

  function keyAttributes(attrs) {
    const out = [];
    if (!attrs || typeof attrs !== "object") return out;
    const order = ["year", "genres", "category", "color", "price", "brand", "season"];
    for (const key of order) {
      let value = attrs[key];
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value = value.slice(0, 3).join(" · ");
      if (key === "price") value = formatPrice(value, attrs.currency);
      out.push(String(value));
    }
    return out.slice(0, 4);
  }

  // A second press on a pressed button takes it back; like and dislike exclude each other.
  const UNDO = { like: "unlike", dislike: "undislike", favourite: "unfavourite" };
  const OPPOSITE = { like: "dislike", dislike: "like" };

  function feedbackButton(item, kind, label, symbol) {
    const btn = el("button", "fb " + kind);
    btn.type = "button";
    btn.title = label;
    btn.setAttribute("aria-label", label);
    btn.setAttribute("aria-pressed", "false");
    btn.setAttribute("data-testid", kind);
    btn.append(el("span", "sym", symbol), el("span", "lbl", label));
    btn.getElementsByClassName("sym")[0].setAttribute("aria-hidden", "true");
    btn.addEventListener("click", () => {
      const pressed = btn.getAttribute("aria-pressed") === "true";
      const sent = pressed ? UNDO[kind] : kind;
      if (send({ type: "feedback", item: item.id, kind: sent, key: clientKey() })) btn.classList.add("pending");
    });
    return btn;
  }

  function showFeedback(itemId, kind) {
    const cards = messagesEl.querySelectorAll(`.card[data-item-id="${CSS.escape(String(itemId))}"]`);
    const undone = Object.keys(UNDO).find((k) => UNDO[k] === kind);
    for (const card of cards) {
      const press = (name, on) => {
        const btn = card.querySelector(`.fb.${name}`);
        if (!btn) return;
        btn.classList.remove("pending");
        btn.classList.toggle("pressed", on);
        btn.setAttribute("aria-pressed", on ? "true" : "false");
      };
      if (undone) {
        press(undone, false);
      } else if (UNDO[kind]) {
        press(kind, true);
        if (OPPOSITE[kind]) press(OPPOSITE[kind], false);
      }
    }
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
    attrs.setAttribute("data-testid", "attrs");
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
    reason.id = "reason-" + clientKey();
    why.setAttribute("aria-controls", reason.id);
    reason.setAttribute("data-testid", "reason");
    const reasonText = el("p", "reason-text", item.explanation || "");
    const evidenceList = el("ul", "evidence");
    const chainBox = el("div", "chain-box");
    reason.append(reasonText, chainBox, evidenceList);
    why.addEventListener("click", () => {
      const open = reason.hidden;
      reason.hidden = !open;
      why.textContent = open ? T.hideWhy : T.why;
      why.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && !reasonText.textContent) reasonText.textContent = T.noReason;
    });
    body.append(actions, why, reason);
    card.appendChild(body);
    for (const kind of item.pressed || []) {
      const btn = actions.querySelector(`.fb.${kind}`);
      if (btn) { btn.classList.add("pressed"); btn.setAttribute("aria-pressed", "true"); }
    }
    registry.set(String(item.id), { card, reasonText, evidenceList, chainBox });
    if (item.evidence) showEvidence(registry.get(String(item.id)), item.explanation, item.evidence, item.chain);
    return card;
  }

  function evidenceLine(ev) {
    // The server writes each shown fact for people, in the reply's language (explain.shown_evidence).
    if (typeof ev.text === "string" && ev.text) return ev.text;
    const pct = typeof ev.weight === "number" && ev.weight > 0 ? ` (${Math.round(ev.weight * 100)}%)` : "";
    const subject = ev.title || (ev.attribute ? `${ev.attribute}: ${ev.value}` : "") || ev.detail || "";
    const label = (T.kinds && T.kinds[ev.kind]) || ev.kind;
    return `${label}${subject ? " — " + subject : ""}${pct}`;
  }

  function showEvidence(entry, text, evidence, chain) {
    if (!entry) return;
    if (text) entry.reasonText.textContent = text;
    entry.evidenceList.replaceChildren();
    for (const ev of (evidence || []).slice(0, 6)) entry.evidenceList.appendChild(el("li", "", evidenceLine(ev)));
    entry.chainBox.replaceChildren();
    if (chain && Array.isArray(chain.paths) && chain.paths.length) entry.chainBox.appendChild(chainFigure(chain));
  }

  // The explanation's chain (explain.chain_view): each path a row of nodes joined by labelled links, from what
  // the person liked (or a friend) to the recommended item. Plain elements, so it reads in order without sight.
  function chainFigure(chain) {
    const figure = el("figure", "chain");
    figure.setAttribute("data-testid", "chain");
    figure.appendChild(el("figcaption", "chain-heading", chain.heading || ""));
    const nodes = new Map((chain.nodes || []).map((node) => [node.id, node]));
    const paths = el("ol", "chain-paths");
    for (const path of chain.paths) {
      const row = el("li", "chain-path");
      path.forEach((part, k) => {
        if (k % 2 === 1) {
          const link = el("span", "chain-link", part);
          link.setAttribute("data-testid", "chain-link");
          row.appendChild(link);
          return;
        }
        const node = nodes.get(part) || { label: part, kind: "entity", role: "via" };
        const box = el("span", `chain-node ${node.kind} ${node.role}`);
        box.setAttribute("data-testid", "chain-node");
        if (k === 0 && node.role === "start" && chain.start_label) box.appendChild(el("small", "chain-start", chain.start_label));
        box.appendChild(el("span", "chain-label", node.label));
        row.appendChild(box);
      });
      paths.appendChild(row);
    }
    figure.appendChild(paths);
    return figure;
  }

  // ------------------------------------------------------------------ chips and history

  function showChips(list) {
    chipsEl.replaceChildren();
    for (const text of list || []) {
      const chip = button("chip", text, "chip", () => submit(text));
      chipsEl.appendChild(chip);
    }
  }

  function showConversations(rows) {
    listEl.replaceChildren();
    const searched = searchEl ? searchEl.value.trim() : "";
    if (searched && !(rows || []).length) {  // say so, rather than show an empty list
      const none = el("li", "conv-empty");
      none.setAttribute("data-testid", "conversation-none");
      none.textContent = T.noMatch;
      listEl.appendChild(none);
      return;
    }
    for (const row of rows || []) {
      const li = el("li", "conv-row");
      li.setAttribute("data-testid", "conversation");
      const open = button("conv" + (row.id === conversationId ? " active" : ""), row.title || T.untitled, "conversation-open", () => {
        send({ type: "conversation.open", conversation: row.id });
        closeSidebar();
      });
      if (row.id === conversationId) open.setAttribute("aria-current", "true");
      const rename = button("conv-tool", "✎", "conversation-rename", () => {
        const title = window.prompt(T.renamePrompt, row.title || "");
        if (title && title.trim()) send({ type: "conversation.rename", conversation: row.id, title: title.trim() });
      });
      rename.setAttribute("aria-label", `${T.rename}: ${row.title || T.untitled}`);
      rename.title = T.rename;
      const del = button("conv-tool", "✕", "conversation-delete", () => {
        if (window.confirm(T.deleteConfirm)) send({ type: "conversation.delete", conversation: row.id });
      });
      del.setAttribute("aria-label", `${T.delete}: ${row.title || T.untitled}`);
      del.title = T.delete;
      li.append(open, rename, del);
      listEl.appendChild(li);
    }
  }

  function listConversations() {
    send({ type: "conversation.list", query: searchEl ? searchEl.value.trim().slice(0, 200) : "" });
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
      if (m.role === "user") { userBubble(m.text, m.id); continue; }
      const b = assistantBubble();
      b.text.textContent = m.text;
      for (const item of m.items || []) b.cards.appendChild(itemCard(item, b.byId));
      finishReply(b, m.id, m.rating);
    }
    follow(true);
    listConversations();
  }

  function announce(entry) {
    // One announcement per finished reply (the stream itself is not a live region).
    const titles = Array.from(entry.cards.querySelectorAll(".title"), (t) => t.textContent);
    announcer.textContent = [T.replied, entry.text.textContent, titles.join(", ")].filter(Boolean).join(" ");
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
        follow(false);
        break;
      case "chat.replace":
        // An LLM-written reply failed its check: the text built from facts takes its place.
        if (!current) current = assistantBubble();
        current.typing.hidden = true;
        current.text.textContent = frame.text;
        follow(false);
        break;
      case "chat.items":
        if (!current) current = assistantBubble();
        for (const item of frame.items || []) current.cards.appendChild(itemCard(item, current.byId));
        follow(false);
        break;
      case "chat.explanation":
        if (current) showEvidence(current.byId.get(String(frame.item_id)), frame.text, frame.evidence, frame.chain);
        break;
      case "chat.done":
        if (current) {
          finishReply(current, frame.message_id, null);
          if (frame.stopped) current.bubble.insertBefore(el("div", "note", T.stopped), current.tools);
          announce(current);
        }
        if (pendingUser) setMessageId(pendingUser, frame.user_message_id);
        current = null;
        pendingUser = null;
        setBusy(false);
        showChips(frame.suggestions);
        follow(false);
        break;
      case "chat.error":
        if (current) {
          current.typing.remove();
          current.bubble.appendChild(el("div", "note error", `${T.error} ${frame.message}`));
        } else {
          statusEl.textContent = `${T.error} ${frame.message}`;
        }
        if (frame.code === "not_found" && !current) remember(null);
        if (frame.code !== "busy") { current = null; pendingUser = null; pendingText = null; setBusy(false); }
        break;
      case "feedback.saved":
        showFeedback(frame.item, frame.kind);
        statusEl.textContent = UNDO[frame.kind] || frame.kind === "rating" ? T.saved : T.undone;
        break;
      case "reply.rated": {
        const bubble = messagesEl.querySelector(`.msg.assistant[data-message-id="${CSS.escape(String(frame.message))}"]`);
        if (bubble) showRating(bubble, frame.value);
        statusEl.textContent = frame.value ? T.saved : T.undone;
        break;
      }
      case "conversation.rewound":
        rewound(frame);
        break;
      case "conversation.regenerating":
        regenerating(frame);
        break;
      case "conversation.history":
        showHistory(frame);
        break;
      case "conversation.list":
        showConversations(frame.conversations);
        break;
      case "conversation.deleted":
        if (frame.conversation === conversationId) startOver();
        listConversations();
        break;
      case "conversation.renamed":
      case "conversation.changed":
        listConversations();
        break;
      case "conversation.created":
        break; // the view was cleared when the new conversation was asked for
      default:
        break;
    }
  }

  function startOver() {
    remember(null);
    messagesEl.replaceChildren();
    chipsEl.replaceChildren();
    if (welcomeTemplate) {
      messagesEl.appendChild(welcomeTemplate.cloneNode(true));
      bindStarters();
    }
  }

  function bindStarters() {
    for (const starter of messagesEl.querySelectorAll("[data-starter]")) {
      starter.addEventListener("click", () => submit(starter.dataset.starter));
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
        listConversations();
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
    pendingUser = userBubble(text);
    current = assistantBubble();
    setBusy(true);
    input.value = "";
  }

  function stop() {
    if (busy) send({ type: "stop" });
  }

  function closeSidebar() {
    document.body.classList.remove("show-sidebar");
    toggle.setAttribute("aria-expanded", "false");
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submit(input.value); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(input.value); }
  });
  stopBtn.addEventListener("click", stop);
  // Esc stops a reply being written (the editor's own Esc cancels the edit instead).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    if (busy) { event.preventDefault(); stop(); return; }
    if (document.body.classList.contains("show-sidebar")) { closeSidebar(); toggle.focus(); }
  });
  bindStarters();
  document.getElementById("new-conversation").addEventListener("click", () => {
    // Cleared here, not when the server confirms: a message typed before the confirmation belongs to the new
    // conversation and its reply must not be wiped by it.
    startOver();
    send({ type: "conversation.new" });
    closeSidebar();
  });
  toggle.addEventListener("click", () => {
    const open = document.body.classList.toggle("show-sidebar");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  if (searchEl) {
    let timer = null;
    searchEl.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(listConversations, 200); });
  }
  const deleteData = document.getElementById("delete-data");
  if (deleteData) {
    deleteData.addEventListener("submit", (event) => {
      if (!window.confirm(deleteData.dataset.confirm)) event.preventDefault();
      else sessionStorage.removeItem(STORE_KEY);
    });
  }

  connect();
})();
