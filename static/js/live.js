// Live updates over Server-Sent Events: the navbar's message and notification badges, the
// notifications list and the inbox (first page), and new comments under the post being
// read (last page of comments). Everything here is also right after a reload: the page
// says where its stream starts (?since=<newest event id when rendered>), and the browser
// resends the last id it received when it reconnects, so nothing is lost in between.
(function () {
  "use strict";
  var nav = document.getElementById("live-nav");
  if (!nav || typeof EventSource === "undefined") { return; }

  var url = nav.getAttribute("data-events-url");
  var comments = document.querySelector("[data-live-post]");
  if (comments) {
    url += (url.indexOf("?") < 0 ? "?" : "&") + "post=" + encodeURIComponent(comments.getAttribute("data-live-post"));
  }

  function badge(id, change) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var count = change === 0 ? 0 : (parseInt(element.textContent, 10) || 0) + change;
    element.textContent = String(count);
    element.hidden = count === 0;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function timeElement(iso) {
    var node = element("time", "flasky-time", iso);
    node.setAttribute("datetime", iso);
    node.setAttribute("data-format", "fromNow");
    node.textContent = "just now";
    return node;
  }

  function prepend(listName, id, build) {
    var list = document.querySelector('[data-live-list="' + listName + '"]');
    if (!list || document.getElementById(id)) { return; }
    var none = list.querySelector("." + listName.replace(/s$/, "") + "-none");
    if (none) { none.remove(); }
    var item = build();
    item.id = id;
    list.insertBefore(item, list.firstChild);
  }

  function notification(event, data) {
    if (!data.listed) { return; }
    badge("notifications-badge", 1);
    prepend("notifications", "notification-" + event.lastEventId, function () {
      var item = element("li", "notification mb-2 notification-unread");
      var link = element("a", null, data.text);
      link.href = data.url || "#";
      item.appendChild(link);
      return item;
    });
  }

  function message(event, data) {
    notification(event, data);
    badge("messages-badge", 1);
    prepend("messages", "message-" + data.id, function () {
      var item = element("li", "message mb-3 message-unread");
      var party = element("span", "message-party", "From " + data.actor);
      item.appendChild(party);
      item.appendChild(element("div", "message-body", data.body));
      return item;
    });
  }

  function comment(data) {
    var container = document.querySelector('[data-live-post="' + data.post_id + '"]');
    if (!container || document.getElementById("comment-" + data.id)) { return; }
    var list = container.querySelector(".comment-list");
    if (!list) { return; }
    var item = element("li", "comment");
    item.id = "comment-" + data.id;
    var thumb = element("div", "comment-thumbnail");
    var avatarLink = element("a");
    avatarLink.href = data.author_url;
    var avatar = element("img", "rounded profile-thumbnail");
    avatar.src = data.avatar; avatar.alt = ""; avatar.width = 40; avatar.height = 40;
    avatarLink.appendChild(avatar);
    thumb.appendChild(avatarLink);
    var content = element("div", "comment-content");
    var date = element("div", "comment-date");
    date.appendChild(timeElement(data.timestamp));
    var author = element("div", "comment-author");
    var authorLink = element("a", null, data.author);
    authorLink.href = data.author_url;
    author.appendChild(authorLink);
    var body = element("div", "comment-body");
    // Rendered and sanitised by the server with the comment allow-list, as on the page.
    body.innerHTML = data.body_html;
    content.appendChild(date); content.appendChild(author); content.appendChild(body);
    item.appendChild(thumb); item.appendChild(content);
    list.appendChild(item);
  }

  function on(source, kind, handler) {
    source.addEventListener(kind, function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (error) { return; }
      handler(event, data);
    });
  }

  var source = new EventSource(url);
  on(source, "message", message);
  on(source, "follower", notification);
  on(source, "comment", notification);
  on(source, "post", notification);
  on(source, "post_comment", function (event, data) { comment(data); });
  on(source, "messages_read", function () { badge("messages-badge", 0); });
  on(source, "notifications_read", function () { badge("notifications-badge", 0); });
  // More was missed than the server replays: what the page shows is stale.
  on(source, "resync", function () { window.location.reload(); });
  window.flaskyLive = source;  // for tests: the stream's state
})();
