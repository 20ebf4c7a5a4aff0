// Gravatar avatars (FLASKY_AVATARS=gravatar) name the site's own identicon in
// data-avatar-fallback; when Gravatar cannot be reached (no internet, blocked, no picture)
// the image is swapped for it. No inline handlers: the Content-Security-Policy allows none.
(function () {
  "use strict";

  function useFallback(image) {
    var local = image.getAttribute("data-avatar-fallback");
    if (local) {
      image.removeAttribute("data-avatar-fallback");
      image.src = local;
    }
  }

  // error does not bubble, but it can be caught on the way down.
  document.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.tagName === "IMG" && target.hasAttribute("data-avatar-fallback")) {
      useFallback(target);
    }
  }, true);

  // Images that failed before this script ran.
  var images = document.querySelectorAll("img[data-avatar-fallback]");
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth === 0) {
      useFallback(images[i]);
    }
  }
})();
