// Explore (popular posts of people I don't follow, with search) and tag pages.
(function () {
  "use strict";
  const { $, seg } = GS;

  document.addEventListener("DOMContentLoaded", async () => {
    const tagPage = $("tag-page");
    const search = $("search-input");
    if (search) GS.searchBox(search, $("search-results"));
    let path = "/explore";
    if (tagPage) {
      const tag = tagPage.dataset.tag;
      path = "/tags/" + seg(tag) + "/media";
      GS.api("GET", "/tags/" + seg(tag)).then(
        (info) => {
          $("tag-count").textContent = GS.plural(info.media_count, "post", "posts");
        },
        (err) => GS.toast(err.message)
      );
    }
    GS.pager({
      path: path,
      limit: 18,
      list: $("grid"),
      more: $("grid-more"),
      empty: $("grid-empty"),
      spinner: $("grid-spinner"),
      render: GS.gridTile,
    });
  });
})();
