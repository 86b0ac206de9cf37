// Captions of sorted faces (image.hpp: caption_layout, draw_labels): with synthetic boxes, a
// caption at an edge of the image moves inside, and captions of neighbouring faces never cover
// each other's text: every caption's pixels in the final image are exactly its own bar and text.
#include <doctest/doctest.h>

#include <housenet/image.hpp>

#include <string>
#include <vector>

namespace hn = housenet;

namespace {

const hn::colour house[4] = {{174, 0, 1}, {240, 199, 94}, {34, 80, 180}, {26, 120, 60}};

bool inside(const hn::rect& r, int w, int h) {
  return r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h;
}

bool overlap(const hn::rect& a, const hn::rect& b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

// The caption alone, as draw_labels draws it, on a canvas of the same size: its bar and text.
hn::image caption_alone(int w, int h, const hn::caption_box& c, const std::string& text, hn::colour col, int scale) {
  hn::image img(w, h, 3, 77);  // a grey no caption uses
  for (int y = c.bar.y; y < c.bar.y + c.bar.height; ++y)
    for (int x = c.bar.x; x < c.bar.x + c.bar.width; ++x)
      if (x >= 0 && y >= 0 && x < w && y < h)
        for (int k = 0; k < 3; ++k) img.at(x, y, k) = k == 0 ? col.r : k == 1 ? col.g : col.b;
  const int lum = (4899 * col.r + 9617 * col.g + 1868 * col.b) >> 14;
  hn::draw_text(img, c.text_x, c.text_y, text, lum > 128 ? hn::colour{0, 0, 0} : hn::colour{255, 255, 255}, scale);
  return img;
}

// Every pixel of every caption's bar in `drawn` is the caption's own (bar or text), and all of
// its text is inside the image.
void check_captions_intact(const std::vector<hn::rect>& boxes, const std::vector<std::string>& texts, int w, int h) {
  hn::image drawn(w, h, 3, 0);
  std::vector<hn::colour> cols;
  for (std::size_t i = 0; i < boxes.size(); ++i) cols.push_back(house[i % 4]);
  hn::draw_labels(drawn, boxes, texts, cols);
  const int s = hn::drawing_scale(drawn);
  const std::vector<hn::caption_box> layout = hn::caption_layout(w, h, s, boxes, texts);
  REQUIRE(layout.size() == boxes.size());
  for (std::size_t i = 0; i < layout.size(); ++i) {
    CAPTURE(i);
    CAPTURE(texts[i]);
    const hn::rect& bar = layout[i].bar;
    CHECK(inside(bar, w, h));
    CHECK(bar.width == hn::text_width(texts[i], s) + 2 * s);
    for (std::size_t j = 0; j < i; ++j) CHECK_FALSE(overlap(bar, layout[j].bar));
    // the text's glyphs lie inside the bar
    CHECK(layout[i].text_x >= bar.x);
    CHECK(layout[i].text_x + hn::text_width(texts[i], s) <= bar.x + bar.width);
    const hn::image alone = caption_alone(w, h, layout[i], texts[i], cols[i], s);
    std::size_t differ = 0;
    for (int y = bar.y; y < bar.y + bar.height; ++y)
      for (int x = bar.x; x < bar.x + bar.width; ++x)
        for (int k = 0; k < 3; ++k) differ += drawn.at(x, y, k) != alone.at(x, y, k);
    CHECK(differ == 0);
    std::size_t outside = 0;  // nothing of the caption (descenders included) leaves its bar
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (!(x >= bar.x && x < bar.x + bar.width && y >= bar.y && y < bar.y + bar.height))
          outside += alone.at(x, y, 0) != 77 || alone.at(x, y, 1) != 77 || alone.at(x, y, 2) != 77;
    CHECK(outside == 0);
  }
}

}  // namespace

TEST_CASE("captions: a caption that would cross an edge of the image moves inside") {
  const int w = 300, h = 200;
  // right edge: the box's left side is 20 px from the edge, the caption is wider than that
  std::vector<hn::caption_box> c = hn::caption_layout(w, h, 1, {{280, 80, 20, 20}}, {"Hufflepuff 87%"});
  REQUIRE(c.size() == 1);
  CHECK(c[0].bar.x + c[0].bar.width == w);
  CHECK(c[0].bar.y + c[0].bar.height == 80);  // still above the box
  // left and top edges (a box partly outside the image)
  c = hn::caption_layout(w, h, 1, {{-15, -10, 40, 40}}, {"Gryffindor 51%"});
  CHECK(c[0].bar.x == 0);
  CHECK(c[0].bar.y == 0);
  // bottom edge: a box touching the bottom, no room above either (a short image)
  c = hn::caption_layout(w, 12, 1, {{100, 5, 7, 7}}, {"Slytherin 40%"});
  CHECK(inside(c[0].bar, w, 12));
  // a 4000 px photo: scale 8, same rules
  c = hn::caption_layout(4000, 3000, 8, {{3900, 2950, 100, 50}}, {"Ravenclaw 99%"});
  CHECK(inside(c[0].bar, 4000, 3000));
  check_captions_intact({{280, 80, 20, 20}, {-15, -10, 40, 40}, {0, 170, 30, 30}, {270, 180, 30, 20}},
                        {"Hufflepuff 87%", "Gryffindor 51%", "Slytherin 40%", "Ravenclaw 99%"}, w, h);
  // the full text reaches the image: the same ink as the caption drawn in the middle of a canvas
  hn::image edge(w, h, 3, 0), middle(w, h, 3, 0);
  hn::draw_label(edge, {285, 80, 15, 15}, "Hufflepuff 87%", house[2]);
  hn::draw_label(middle, {100, 80, 15, 15}, "Hufflepuff 87%", house[2]);
  const auto ink = [](const hn::image& img) {
    std::size_t n = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x) n += img.at(x, y, 0) == 255 && img.at(x, y, 1) == 255 && img.at(x, y, 2) == 255;
    return n;
  };
  CHECK(ink(edge) == ink(middle));
  CHECK(ink(edge) > 50);
}

TEST_CASE("captions: neighbouring faces' captions do not overwrite each other") {
  // a row of faces closer together than a caption is wide (a group photo)
  std::vector<hn::rect> row;
  std::vector<std::string> texts;
  const char* names[4] = {"Gryffindor", "Hufflepuff", "Ravenclaw", "Slytherin"};
  for (int i = 0; i < 6; ++i) {
    row.push_back({20 + 45 * i, 60, 40, 40});
    texts.push_back(std::string(names[i % 4]) + " " + std::to_string(40 + 7 * i) + "%");
  }
  check_captions_intact(row, texts, 320, 240);
  // two rows, the second right under the first (the captions of the second row would sit on the
  // faces of the first): still no overlap
  std::vector<hn::rect> grid;
  std::vector<std::string> gt;
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c) {
      grid.push_back({10 + 95 * c, 30 + 80 * r, 50, 50});
      gt.push_back(std::string(names[(r + c) % 4]) + " " + std::to_string(30 + r * 10 + c) + "%");
    }
  check_captions_intact(grid, gt, 500, 440);
  // the same box twice (a duplicate detection): the second caption goes elsewhere
  check_captions_intact({{100, 100, 60, 60}, {100, 100, 60, 60}}, {"Ravenclaw 50%", "Slytherin 50%"}, 320, 240);
  // deterministic
  const auto a = hn::caption_layout(500, 440, 1, grid, gt), b = hn::caption_layout(500, 440, 1, grid, gt);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].bar == b[i].bar);
}

TEST_CASE("captions: more captions than room still stay inside; mismatched lists are an error") {
  std::vector<hn::rect> many(40, hn::rect{50, 50, 20, 20});
  std::vector<std::string> texts(40, "Hufflepuff 25%");
  const auto c = hn::caption_layout(120, 80, 1, many, texts);
  for (const auto& b : c) CHECK(inside(b.bar, 120, 80));
  hn::image img(120, 80, 3);
  CHECK_THROWS_AS(hn::draw_labels(img, many, texts, {}), hn::error);
  CHECK_THROWS_AS(hn::caption_layout(120, 80, 1, many, {}), hn::error);
  // a caption wider than the image starts at its left edge
  const auto wide = hn::caption_layout(30, 30, 1, {{5, 5, 10, 10}}, {"Gryffindor 100%"});
  CHECK(wide[0].bar.x == 0);
}
